// SPDX-License-Identifier: MIT
// Runs one bpf_conformance `.data` file: `conformance_runner FILE interp|roundtrip [-v]`.
// interp: assemble (or take `-- raw`), run in raw mode on a copy of `-- mem`, compare r0 with
// `-- result` (all 64 bits; upstream compares the low 32). roundtrip: asm -> bytes -> text in
// each syntax -> bytes must be stable.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "asm/assembler.h"
#include "runner/sections.h"
#include "runtime/load.h"
#include "support/bytes.h"
#include "vm/interpreter.h"

namespace sockfilter::testing {
namespace {

struct Case {
    program::Program prog;
    std::vector<std::uint8_t> mem;
    std::uint64_t result = 0;
};

/// Text of a section preceded by blank lines, so assembler errors carry the file's line numbers.
std::string at_file_lines(const Section& s) { return std::string(s.line, '\n') + s.body; }

Result<std::uint64_t> parse_result(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    try {
        std::size_t used = 0;
        const bool hex = text.find("0x") != std::string::npos || text.find("0X") != std::string::npos;
        std::uint64_t v = std::stoull(text, &used, hex ? 16 : 10);
        if (used != text.size()) {
            return fail(Errc::Parse, "bad -- result '{}'", text);
        }
        return v;
    } catch (const std::exception&) {
        return fail(Errc::Parse, "bad -- result '{}'", text);
    }
}

Result<program::Program> raw_program(const SectionedFile& f, const Section& raw) {
    std::vector<std::uint8_t> bytes;
    std::size_t pos = 0;
    const std::string& body = raw.body;
    while (pos < body.size()) {
        std::size_t nl = body.find('\n', pos);
        std::string line = body.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? body.size() : nl + 1;
        if (line.find_first_not_of(" \t\r") == std::string::npos) {
            continue;
        }
        std::uint64_t word = std::stoull(line, nullptr, 16);
        std::uint8_t b[8];
        store_le<std::uint64_t>(b, word);
        bytes.insert(bytes.end(), b, b + 8);
    }
    return program::Program::from_bytes(f.path, bytes);
}

Result<Case> read_case(const std::string& path) {
    auto f = read_sections(path);
    if (!f) {
        return tl::unexpected(std::move(f.error()));
    }
    Case c{};
    const Section* raw = f->find("raw");
    const Section* text = f->find("asm");
    if (raw == nullptr && text == nullptr) {
        return fail(Errc::Format, "{}: no -- asm or -- raw section", path);
    }
    auto prog = raw != nullptr ? raw_program(*f, *raw)
                               : assembler::assemble(at_file_lines(*text), path, assembler::Syntax::Conformance);
    if (!prog) {
        return tl::unexpected(std::move(prog.error()));
    }
    if (const Section* mem = f->find("mem")) {
        auto bytes = parse_hex(mem->body);
        if (!bytes) {
            return tl::unexpected(std::move(bytes.error()).with_context(path + ": -- mem"));
        }
        c.mem = std::move(*bytes);
    }
    const Section* result = f->find("result");
    if (result == nullptr) {
        return fail(Errc::Format, "{}: no -- result section", path);
    }
    auto r = parse_result(result->body);
    if (!r) {
        return tl::unexpected(std::move(r.error()));
    }
    return Case{std::move(*prog), std::move(c.mem), *r};
}

int run_interp(const Case& c, bool verbose) {
    auto loaded = runtime::load(c.prog, runtime::raw_env());
    if (!loaded) {
        fmt::print("FAIL: load: {}\n", loaded.error().render());
        return 1;
    }
    vm::Interpreter interp(*loaded, vm::Options{});
    std::vector<std::uint8_t> mem = c.mem;
    vm::RunInput in;
    in.mem = mem;
    vm::ExecResult r = interp.run(in);
    if (r.status != vm::ExecStatus::Ok) {
        fmt::print("FAIL: {}\n", interp.fault_message());
        return 1;
    }
    if (verbose || r.r0 != c.result) {
        fmt::print("r0 = {:#x}, expected {:#x}\n", r.r0, c.result);
    }
    return r.r0 == c.result ? 0 : 1;
}

int run_roundtrip(const Case& c, bool verbose) {
    const std::vector<std::uint8_t> bytes = c.prog.bytes();
    for (auto syntax : {assembler::Syntax::Conformance, assembler::Syntax::Kernel}) {
        const std::string text = assembler::disassemble(c.prog, syntax, assembler::DisasmOptions{});
        if (verbose) {
            fmt::print("{}\n", text);
        }
        auto again = assembler::assemble(text, "<disassembly>", syntax);
        if (!again) {
            fmt::print("FAIL: reassembling the disassembly: {}\n{}", again.error().render(), text);
            return 1;
        }
        if (again->bytes() != bytes) {
            fmt::print("FAIL: bytes changed after disassembly and reassembly\n{}", text);
            return 1;
        }
    }
    return 0;
}

}  // namespace
}  // namespace sockfilter::testing

int main(int argc, char** argv) {
    using namespace sockfilter::testing;
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s FILE interp|roundtrip [-v]\n", argv[0]);
        return 2;
    }
    const bool verbose = argc > 3 && std::strcmp(argv[3], "-v") == 0;
    auto c = read_case(argv[1]);
    if (!c) {
        fmt::print("FAIL: {}\n", c.error().render());
        return 1;
    }
    const std::string mode = argv[2];
    if (mode == "interp") {
        return run_interp(*c, verbose);
    }
    if (mode == "roundtrip") {
        return run_roundtrip(*c, verbose);
    }
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
}
