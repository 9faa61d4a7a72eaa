// SPDX-License-Identifier: MIT
// `sockfilter verify PROG`: the kernel's verifier on a program (loaded with its object's maps, BTF
// and func/line info): the verdict, the failing instruction with its C source line, the kernel's
// message, optionally the whole log and the program as the kernel rewrote it.
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include <fmt/core.h>

#include "asm/assembler.h"
#include "kernel/bpf.h"
#include "kernel/object.h"
#include "tools/commands.h"
#include "tools/program_input.h"

namespace sockfilter::tools {

namespace {

/// BPF_LOG_LEVEL1 (the instruction trace and messages) and BPF_LOG_STATS.
constexpr std::uint32_t kLogLevel1 = 1;
constexpr std::uint32_t kLogStats = 4;

struct VerifyArgs {
    std::string program;
    std::string program_name;
    std::string format = "auto";
    bool kernel = true;
    bool xlated = false;
    bool log = false;
    std::optional<std::uint32_t> log_level;
};

void print_error(const Error& e) { fmt::print(stderr, "sockfilter verify: {}\n", e.render()); }

/// The last line of the log that starts with an instruction index ("12: (61) r0 = ..."), which
/// is the instruction the verifier stopped at; nullopt when the log has none (no trace at this
/// log level, or a refusal before the walk).
std::optional<std::uint32_t> failing_insn(const std::string& log) {
    std::optional<std::uint32_t> pc;
    std::size_t start = 0;
    while (start < log.size()) {
        std::size_t end = log.find('\n', start);
        if (end == std::string::npos) {
            end = log.size();
        }
        std::size_t i = start;
        std::uint64_t v = 0;
        while (i < end && log[i] >= '0' && log[i] <= '9' && v <= UINT32_MAX) {
            v = v * 10 + static_cast<std::uint64_t>(log[i] - '0');
            ++i;
        }
        if (i > start && i + 2 < end && log[i] == ':' && log[i + 1] == ' ' && log[i + 2] == '(' && v <= UINT32_MAX) {
            pc = static_cast<std::uint32_t>(v);
        }
        start = end + 1;
    }
    return pc;
}

/// The line the statistics start with ("processed N insns ..."), or empty.
std::string stats_line(const std::string& log) {
    const std::size_t at = log.rfind("processed ");
    if (at == std::string::npos || (at > 0 && log[at - 1] != '\n')) {
        return {};
    }
    return log.substr(at, log.find('\n', at) - at);
}

/// The source line of BTF line info that covers slot `pc`: the last record at or before it.
const program::LineInfo* source_of(const program::ObjectProgram& p, std::uint32_t pc) {
    const program::LineInfo* best = nullptr;
    for (const auto& l : p.lines) {
        if (l.insn <= pc) {
            best = &l;
        }
    }
    return best;
}

/// One instruction of our program in kernel syntax, or its raw bytes.
std::string insn_text(const program::Program& prog, std::uint32_t pc) {
    if (pc >= prog.size()) {
        return "(beyond the program)";
    }
    const isa::Op op = prog.op(pc);
    return assembler::format_insn(prog.slots(), pc, op, assembler::Syntax::Kernel);
}

/// The program as the kernel rewrote it, in kernel syntax; slots our table does not know (the
/// kernel's internal encodings) are printed as raw bytes with the reason.
std::string xlated_listing(std::span<const isa::Insn> slots) {
    std::string out;
    for (std::size_t pc = 0; pc < slots.size(); ++pc) {
        auto op = isa::classify(slots, pc);
        if (op) {
            std::string text = assembler::format_insn(slots, pc, *op, assembler::Syntax::Kernel);
            // The kernel's dump puts the map's id where a load had its fd (bpftool: map[id:N]).
            if (*op == isa::Op::LddwMapFd || *op == isa::Op::LddwMapValue) {
                text.replace(text.find("map[fd:"), 7, "map[id:");
            }
            out += fmt::format("{:5}: {}\n", pc, text);
            pc += isa::width(*op) - 1;
            continue;
        }
        const auto bytes = isa::slots_to_bytes(slots.subspan(pc, 1));
        std::string hex;
        for (std::uint8_t b : bytes) {
            hex += fmt::format("{}{:02x}", hex.empty() ? "" : " ", b);
        }
        out += fmt::format("{:5}: .raw {}  ; {}\n", pc, hex, op.error().message);
    }
    return out;
}

int verify(const VerifyArgs& args) {
    auto format = parse_program_format(args.format);
    if (!format) {
        print_error(format.error());
        return kExitUsage;
    }
    if (args.log_level && (*args.log_level & ~7U) != 0) {
        fmt::print(stderr, "sockfilter verify: --log-level {}: expected bits 1 (trace), 2 (more trace), 4 "
                   "(statistics)\n", *args.log_level);
        return kExitUsage;
    }
    auto input = read_program(args.program, *format, args.program_name);
    if (!input) {
        print_error(input.error());
        return kExitInput;
    }
    auto probe = kernel::probe();
    if (!probe || !probe->permitted) {
        fmt::print(stderr, "sockfilter verify: the kernel's verifier is not available: {}\n",
                   probe ? probe->reason : probe.error().render());
        return kExitFailure;
    }
    const program::ObjectProgram& chosen = input->object.programs[input->index];
    const std::string name = fmt::format("{}: program {}", args.program, chosen.program.name());

    // Statistics only unless asked: the trace of a large program is long. A refusal is loaded
    // again with the trace, which names the instruction the verifier stopped at.
    kernel::ObjectLoadOptions opts;
    opts.only = input->index;
    opts.load.log_level = args.log_level.value_or(args.log ? kLogLevel1 | kLogStats : kLogStats);
    std::string log;
    auto loaded = kernel::load_object(input->object, opts, &log);
    const bool refused = !loaded && loaded.error().code == Errc::Kernel && !loaded.error().context.empty() &&
                         loaded.error().context.front().starts_with("program ");
    if (!loaded && !refused) {
        print_error(std::move(loaded.error()).with_context(args.program));
        return kExitFailure;
    }
    if (loaded) {
        fmt::print("{}: accepted by the kernel\n", name);
        if (const std::string s = stats_line(log); !s.empty()) {
            fmt::print("  {}\n", s);
        }
        if (!loaded->btf_error.empty()) {
            fmt::print("  (loaded without BTF: {})\n", loaded->btf_error);
        }
        if (args.log) {
            fmt::print("{}", log);
        }
        if (args.xlated) {
            auto x = kernel::xlated(loaded->programs[input->index]);
            if (!x) {
                print_error(std::move(x.error()).with_context(name));
                return kExitFailure;
            }
            fmt::print("{}", xlated_listing(*x));
        }
        return kExitOk;
    }
    const Error& e = loaded.error();
    std::optional<std::uint32_t> pc = failing_insn(log);
    if (!pc && !args.log_level && (opts.load.log_level & kLogLevel1) == 0) {
        opts.load.log_level = kLogLevel1 | kLogStats;
        std::string traced;
        auto again = kernel::load_object(input->object, opts, &traced);
        if (!again) {
            log = std::move(traced);
            pc = failing_insn(log);
        }
    }
    fmt::print("{}: rejected by the kernel ({})\n", name, e.sys_errno != 0 ? std::strerror(e.sys_errno) : "?");
    if (pc) {
        fmt::print("  instruction {}: {}\n", *pc, insn_text(chosen.program, *pc));
        if (const program::LineInfo* src = source_of(chosen, *pc)) {
            fmt::print("  source: {}:{}:{}: {}\n", src->file, src->line, src->col, src->text);
        }
    }
    fmt::print("  kernel: {}\n", e.message);
    if (const std::string s = stats_line(log); !s.empty()) {
        fmt::print("  {}\n", s);
    }
    if (args.log) {
        fmt::print("{}", log);
    }
    if (args.xlated) {
        fmt::print(stderr, "sockfilter verify: --xlated: the kernel refused the program, so there is no translation\n");
    }
    return kExitFailure;
}

}  // namespace

void add_verify_command(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<VerifyArgs>();
    CLI::App* cmd = app.add_subcommand("verify", "Check a program with the kernel's verifier: the verdict, where it "
                                                 "stopped (instruction and C source line) and why");
    cmd->add_option("PROG", args->program, "Program: ELF object, assembly, raw bytes, classic BPF, or a filter "
                                           "expression")->required();
    cmd->add_flag("--kernel", args->kernel, "Use the running kernel's verifier (the default, and for now the only "
                                            "verifier; sockfilter's own comes later)");
    cmd->add_option("--program", args->program_name, "Program of an ELF object to verify (its function name)");
    cmd->add_option("--format", args->format,
                    "Program format: auto, asm, raw, elf, expr, cbpf-listing, cbpf-c, cbpf-decimal, cbpf-bytecode, "
                    "bpf_asm, cbpf-raw")
        ->capture_default_str();
    cmd->add_flag("--xlated", args->xlated, "Print the program as the kernel rewrote it (kernel syntax)");
    cmd->add_flag("--log", args->log, "Print the verifier's whole log");
    cmd->add_option("--log-level", args->log_level, "Verifier log level bits: 1 trace, 2 more trace, 4 statistics "
                                                    "(default 4, or 5 with --log)");
    cmd->callback([args, &exit_code] { exit_code = verify(*args); });
}

}  // namespace sockfilter::tools
