// SPDX-License-Identifier: MIT
// `sockfilter convert`: a classic program to another classic text format, or converted to eBPF
// (assembly text or an ELF object that libbpf loads).
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/core.h>

#include "asm/assembler.h"
#include "cbpf/convert.h"
#include "cbpf/text.h"
#include "elf/writer.h"
#include "support/bytes.h"
#include "tools/commands.h"
#include "tools/program_input.h"

namespace sockfilter::tools {

namespace {

struct ConvertOptions {
    std::string input;
    std::string output = "-";
    std::string format = "auto";
    std::string to;
};

int fail_with(const Error& e, int code) {
    fmt::print(stderr, "sockfilter: {}\n", e.render());
    return code;
}

Result<void> write_output(const std::string& path, std::span<const std::uint8_t> bytes) {
    if (path == "-") {
        if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout) != 0) {
            return fail(Errc::Io, "cannot write to standard output");
        }
        return {};
    }
    return write_file_atomic(path, bytes);
}

int run_convert(const ConvertOptions& o) {
    auto format = parse_program_format(o.format);
    if (!format) {
        return fail_with(format.error(), kExitUsage);
    }
    std::string to = o.to;
    if (to.empty()) {
        to = o.output.size() > 2 && o.output.ends_with(".o") ? "elf" : "asm";
    }
    auto filter = read_classic(o.input, *format);
    if (!filter) {
        return fail_with(filter.error(), kExitInput);
    }
    std::vector<std::uint8_t> out;
    if (auto classic = cbpf::parse_text_format(to)) {
        const std::string text = cbpf::write_text(*filter, *classic);
        out.assign(text.begin(), text.end());
    } else if (to == "asm" || to == "elf") {
        auto prog = cbpf::convert(*filter, "classic");
        if (!prog) {
            return fail_with(prog.error(), kExitInput);
        }
        if (to == "asm") {
            const std::string text = assembler::disassemble(*prog);
            out.assign(text.begin(), text.end());
        } else {
            program::Object obj;
            obj.license = "GPL";
            obj.programs.push_back(program::ObjectProgram{std::move(*prog), "socket", {}});
            auto bytes = elf::write_object(obj);
            if (!bytes) {
                return fail_with(bytes.error(), kExitFailure);
            }
            out = std::move(*bytes);
        }
    } else {
        return fail_with(Error{Errc::InvalidArgument,
                               fmt::format("--to {}: expected listing, c, decimal, bytecode, bpf_asm, asm or elf", to),
                               {}, {}, 0},
                         kExitUsage);
    }
    if (auto w = write_output(o.output, out); !w) {
        return fail_with(w.error(), kExitFailure);
    }
    return kExitOk;
}

}  // namespace

void add_convert_command(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<ConvertOptions>();
    CLI::App* cmd = app.add_subcommand(
        "convert", "Convert a classic BPF program: to another classic text format, or to an eBPF socket filter "
                   "(assembly, or an ELF object libbpf loads)");
    cmd->add_option("PROG", opts->input, "Classic program: tcpdump -d/-dd/-ddd, bpf_asm source or bytecode, raw "
                                         "sock_filter records ('-' = standard input)")
        ->required();
    cmd->add_option("-o,--output", opts->output, "Output file ('-' = standard output); a name ending in .o "
                                                 "defaults --to to elf");
    cmd->add_option("--format", opts->format, "Input format (auto detects; docs/CLI.md)");
    cmd->add_option("--to", opts->to, "listing, c, decimal, bytecode, bpf_asm (classic), asm or elf (converted)");
    cmd->callback([opts, &exit_code] { exit_code = run_convert(*opts); });
}

}  // namespace sockfilter::tools
