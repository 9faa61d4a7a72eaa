// SPDX-License-Identifier: MIT
// `sockfilter asm` (text -> raw instruction bytes) and `sockfilter disasm` (bytes or text -> listing).
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include <fmt/core.h>

#include "asm/assembler.h"
#include "support/bytes.h"
#include "tools/commands.h"

namespace sockfilter::tools {

namespace {

/// Options of both commands; owned by the subcommand callbacks.
struct AsmOptions {
    std::string input;
    std::string output;
    std::string syntax = "auto";
    bool pc = false;
    bool labels = false;
};

assembler::Syntax syntax_of(const std::string& name) {
    if (name == "conformance") {
        return assembler::Syntax::Conformance;
    }
    if (name == "kernel") {
        return assembler::Syntax::Kernel;
    }
    return assembler::Syntax::Auto;
}

std::string display_name(const std::string& path) { return path == "-" ? std::string("<stdin>") : path; }

std::string_view as_text(const std::vector<std::uint8_t>& bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

/// Printable ASCII and white space only: a candidate for assembly text.
bool looks_like_text(const std::vector<std::uint8_t>& bytes) {
    for (std::uint8_t b : bytes) {
        if (!(b == '\n' || b == '\r' || b == '\t' || (b >= 0x20 && b < 0x7f))) {
            return false;
        }
    }
    return !bytes.empty();
}

int report(const Error& e) {
    fmt::print(stderr, "sockfilter: {}\n", e.render());
    return kExitInput;
}

int run_asm(const AsmOptions& o) {
    auto input = read_file(o.input);
    if (!input) {
        return report(input.error());
    }
    auto program = assembler::assemble(as_text(*input), display_name(o.input), syntax_of(o.syntax));
    if (!program) {
        return report(program.error());
    }
    const auto bytes = program->bytes();
    if (o.output == "-") {
        if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout) != 0) {
            fmt::print(stderr, "sockfilter: cannot write the program to standard output\n");
            return kExitFailure;
        }
        return kExitOk;
    }
    if (auto w = write_file_atomic(o.output, bytes); !w) {
        fmt::print(stderr, "sockfilter: {}\n", w.error().render());
        return kExitFailure;
    }
    return kExitOk;
}

/// Text that assembles is assembly; anything else must be raw instruction bytes. When neither works, the
/// error shown is the one of the format the file resembles.
Result<program::Program> load_for_disasm(const std::string& path) {
    auto input = read_file(path);
    if (!input) {
        return tl::unexpected(std::move(input.error()));
    }
    const bool text = looks_like_text(*input);
    if (text) {
        auto p = assembler::assemble(as_text(*input), display_name(path));
        if (p) {
            return p;
        }
        if (input->size() % isa::kSlotSize != 0) {
            return p;
        }
        auto raw = program::Program::from_bytes(display_name(path), *input);
        return raw ? std::move(raw) : std::move(p);
    }
    auto raw = program::Program::from_bytes(display_name(path), *input);
    if (!raw) {
        return tl::unexpected(std::move(raw.error()).with_context(display_name(path)));
    }
    return raw;
}

int run_disasm(const AsmOptions& o) {
    auto program = load_for_disasm(o.input);
    if (!program) {
        return report(program.error());
    }
    const auto syntax = o.syntax == "conformance" ? assembler::Syntax::Conformance : assembler::Syntax::Kernel;
    fmt::print("{}", assembler::disassemble(*program, syntax, {.pc = o.pc, .labels = o.labels}));
    std::fflush(stdout);
    return kExitOk;
}

}  // namespace

void add_asm_commands(CLI::App& app, int& exit_code) {
    auto asm_opts = std::make_shared<AsmOptions>();
    CLI::App* as = app.add_subcommand("asm", "Assemble a program (either syntax) into raw eBPF instruction bytes");
    as->add_option("FILE", asm_opts->input, "Assembly text ('-' = standard input)")->required();
    as->add_option("-o,--output", asm_opts->output, "Output file of raw bytes ('-' = standard output)")->required();
    as->add_option("--syntax", asm_opts->syntax, "Input syntax (docs/ASSEMBLY.md)")
        ->check(CLI::IsMember({"auto", "conformance", "kernel"}))
        ->capture_default_str();
    as->callback([asm_opts, &exit_code] { exit_code = run_asm(*asm_opts); });

    auto dis_opts = std::make_shared<AsmOptions>();
    dis_opts->syntax = "kernel";
    CLI::App* dis = app.add_subcommand("disasm", "Print a program (raw bytes or assembly text) as assembly");
    dis->add_option("PROG", dis_opts->input, "Raw instruction bytes or assembly text ('-' = standard input)")
        ->required();
    dis->add_option("--syntax", dis_opts->syntax, "Output syntax")
        ->check(CLI::IsMember({"kernel", "conformance"}))
        ->capture_default_str();
    dis->add_flag("--pc", dis_opts->pc, "Prefix every instruction with its slot number");
    dis->add_flag("--labels", dis_opts->labels, "Print branch targets as labels L<pc> instead of +N/-N");
    dis->callback([dis_opts, &exit_code] { exit_code = run_disasm(*dis_opts); });
}

}  // namespace sockfilter::tools
