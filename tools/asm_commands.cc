// SPDX-License-Identifier: MIT
// `sockfilter asm` (text -> raw instruction bytes) and `sockfilter disasm` (bytes or text -> listing).
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <fmt/core.h>

#include "asm/assembler.h"
#include "support/bytes.h"
#include "tools/commands.h"
#include "tools/program_input.h"

namespace sockfilter::tools {

namespace {

/// Options of both commands; owned by the subcommand callbacks.
struct AsmOptions {
    std::string input;
    std::string output;
    std::string syntax = "auto";
    bool pc = false;
    bool labels = false;
    bool source = false;       ///< disasm -S: source lines from BTF line info
    std::string program_name;  ///< disasm --program: which program of an ELF object
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

bool is_elf(const std::vector<std::uint8_t>& bytes) {
    return bytes.size() >= 4 && bytes[0] == 0x7f && bytes[1] == 'E' && bytes[2] == 'L' && bytes[3] == 'F';
}

/// Text that assembles is assembly; anything else must be raw instruction bytes. When neither works, the
/// error shown is the one of the format the file resembles.
Result<program::Program> load_text_or_raw(const std::string& path, const std::vector<std::uint8_t>& input) {
    if (looks_like_text(input)) {
        auto p = assembler::assemble(as_text(input), display_name(path));
        if (p) {
            return p;
        }
        if (input.size() % isa::kSlotSize != 0) {
            return p;
        }
        auto raw = program::Program::from_bytes(display_name(path), input);
        return raw ? std::move(raw) : std::move(p);
    }
    auto raw = program::Program::from_bytes(display_name(path), input);
    if (!raw) {
        return tl::unexpected(std::move(raw.error()).with_context(display_name(path)));
    }
    return raw;
}

/// A program to list and the source lines it came from (ELF objects with BTF line info only).
struct Listing {
    program::Program program;
    std::vector<program::LineInfo> lines;
};

/// An ELF object is read as `run` reads it (one program, chosen by name when there are several);
/// an argument that names no file is a filter expression (EN10MB, packet socket); anything else
/// is assembly or raw bytes.
Result<Listing> load_for_disasm(const std::string& path, const std::string& program_name) {
    std::error_code ec;
    if (path != "-" && !std::filesystem::exists(path, ec)) {
        // Not a file: a filter expression for an Ethernet packet socket, or an error saying both.
        auto in = read_program(path, ProgramFormat::Auto, program_name);
        if (!in) {
            return tl::unexpected(std::move(in.error()));
        }
        return Listing{std::move(in->object.programs[in->index].program), {}};
    }
    auto input = read_file(path);
    if (!input) {
        return tl::unexpected(std::move(input.error()));
    }
    if (is_elf(*input)) {
        auto in = read_program(path, ProgramFormat::Elf, program_name);
        if (!in) {
            return tl::unexpected(std::move(in.error()));
        }
        auto& chosen = in->object.programs[in->index];
        return Listing{std::move(chosen.program), std::move(chosen.lines)};
    }
    if (!program_name.empty()) {
        return fail(Errc::InvalidArgument, "{}: --program applies to ELF objects only", display_name(path));
    }
    auto prog = load_text_or_raw(path, *input);
    if (!prog) {
        return tl::unexpected(std::move(prog.error()));
    }
    return Listing{std::move(*prog), {}};
}

/// The slot a listing line (printed with the pc prefix) starts at, or -1 for a label line.
std::int64_t line_pc(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && line[i] == ' ') {
        ++i;
    }
    std::int64_t pc = 0;
    const std::size_t digits = i;
    for (; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) {
        pc = pc * 10 + (line[i] - '0');
    }
    return i > digits && i + 1 < line.size() && line[i] == ':' && line[i + 1] == ' ' ? pc : -1;
}

/// The listing with `; <source line>` before the first instruction of each source line, as
/// `llvm-objdump -S` prints it. Lines are found by listing with slot numbers, which are removed
/// again unless asked for.
std::string with_source(const Listing& l, assembler::Syntax syntax, const AsmOptions& o) {
    std::map<std::int64_t, const program::LineInfo*> at;
    const program::LineInfo* prev = nullptr;
    for (const auto& li : l.lines) {
        if (prev == nullptr || li.file != prev->file || li.line != prev->line) {
            at[li.insn] = &li;
        }
        prev = &li;
    }
    const std::string listing = assembler::disassemble(l.program, syntax, {.pc = true, .labels = o.labels});
    std::string out;
    std::size_t start = 0;
    for (std::size_t end; (end = listing.find('\n', start)) != std::string::npos; start = end + 1) {
        std::string_view line(listing.data() + start, end - start);
        const std::int64_t pc = line_pc(line);
        if (pc >= 0) {
            if (auto it = at.find(pc); it != at.end() && !it->second->text.empty()) {
                out += fmt::format("; {}\n", it->second->text);
            }
            if (!o.pc) {
                line.remove_prefix(line.find(": ") + 2);
            }
        }
        out += line;
        out += '\n';
    }
    return out;
}

int run_disasm(const AsmOptions& o) {
    auto listing = load_for_disasm(o.input, o.program_name);
    if (!listing) {
        return report(listing.error());
    }
    const auto syntax = o.syntax == "conformance" ? assembler::Syntax::Conformance : assembler::Syntax::Kernel;
    if (o.source) {
        fmt::print("{}", with_source(*listing, syntax, o));
    } else {
        fmt::print("{}", assembler::disassemble(listing->program, syntax, {.pc = o.pc, .labels = o.labels}));
    }
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
    CLI::App* dis =
        app.add_subcommand("disasm", "Print a program (BPF ELF object, raw bytes or assembly text) as assembly");
    dis->add_option("PROG", dis_opts->input,
                    "A BPF ELF object, raw instruction bytes or assembly text ('-' = standard input)")
        ->required();
    dis->add_option("--program", dis_opts->program_name, "Program of an ELF object to list (its function name)");
    dis->add_flag("-S,--source", dis_opts->source,
                  "Interleave the C source lines (BTF line info of an ELF object) as '; <line>' comments");
    dis->add_option("--syntax", dis_opts->syntax, "Output syntax")
        ->check(CLI::IsMember({"kernel", "conformance"}))
        ->capture_default_str();
    dis->add_flag("--pc", dis_opts->pc, "Prefix every instruction with its slot number");
    dis->add_flag("--labels", dis_opts->labels, "Print branch targets as labels L<pc> instead of +N/-N");
    dis->callback([dis_opts, &exit_code] { exit_code = run_disasm(*dis_opts); });
}

}  // namespace sockfilter::tools
