// SPDX-License-Identifier: MIT
// Reading a program file in any supported format, detected by content (docs/CLI.md).
#pragma once

#include <optional>
#include <string>

#include "cbpf/insn.h"
#include "cbpf/text.h"
#include "filter/compile.h"
#include "program/object.h"
#include "support/result.h"

namespace sockfilter::tools {

/// The formats a program file may have: eBPF (assembly, raw bytes, ELF) or classic BPF (the
/// cbpf::TextFormat texts, or raw 8-byte sock_filter records).
/// `Expr` is not a file at all: the argument is a tcpdump filter expression (docs/FILTER.md).
enum class ProgramFormat { Auto, Asm, Raw, Elf, CbpfListing, CbpfC, CbpfDecimal, CbpfBytecode, BpfAsm, CbpfRaw, Expr };

/// Parses "auto", "asm", "raw", "elf", "cbpf-listing", "cbpf-c", "cbpf-decimal", "cbpf-bytecode",
/// "bpf_asm", "cbpf-raw" or "expr".
[[nodiscard]] Result<ProgramFormat> parse_program_format(const std::string& text);

/// A program file as read: an object with its maps, and the program chosen from it. Assembly and
/// raw bytes become an object of one program and no maps.
struct ProgramInput {
    program::Object object;
    std::size_t index = 0;
    /// For classic input: the classic program (validated); `object` then holds its conversion.
    std::optional<cbpf::Filter> classic;

    [[nodiscard]] const program::Program& program() const { return object.programs[index].program; }
};

/// What a filter expression given as a program compiles for: the link type and socket kind of the
/// packets it will see. A non-empty `refusal` says why no expression can be compiled here (an
/// expression is then an error with that reason; files are read as usual).
struct ExpressionTarget {
    filter::Options options;
    std::string refusal;
};

/// Reads `path` ("-" = standard input). An argument that names no existing file (and is not "-")
/// is compiled as a filter expression for `expr` (the link type and socket kind of the packets it
/// will see); a file that exists always wins, and format Expr compiles the argument whatever it
/// is. When it is neither a file nor an expression, the error says both. Auto detection, in this order (docs/CLI.md): an ELF
/// magic number is an object file; text whose first line is "(NNN)", "{", "N," or a lone count is
/// a classic listing, C array, bpf_asm bytecode or tcpdump -ddd decimal; other text is assembled
/// both as eBPF assembly and as bpf_asm source: exactly one must succeed (both is an ambiguity
/// error naming --format); anything else is raw eBPF bytes. Classic input is validated as the
/// kernel does and converted to eBPF (cbpf::convert), so every command gets a Program.
/// From an object, `program_name` picks the socket program; empty picks the only one and fails,
/// listing them, when there are several.
[[nodiscard]] Result<ProgramInput> read_program(const std::string& path, ProgramFormat format,
                                                const std::string& program_name = "",
                                                const ExpressionTarget& expr = {});

/// Reads a classic program (format Auto detects only the classic formats) and validates it,
/// without converting it.
[[nodiscard]] Result<cbpf::Filter> read_classic(const std::string& path, ProgramFormat format);

}  // namespace sockfilter::tools
