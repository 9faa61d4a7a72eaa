// SPDX-License-Identifier: MIT
// Classic BPF as text: tcpdump's -d listing, -dd C array and -ddd decimal, and the kernel's
// bpf_asm source (labels) and bytecode ("N,c t f k,..."); read and write, with format detection.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "cbpf/insn.h"
#include "support/result.h"

namespace sockfilter::cbpf {

/// The text formats of classic programs.
enum class TextFormat {
    Listing,   ///< tcpdump -d: "(000) ldh      [12]", absolute jump targets
    CArray,    ///< tcpdump -dd, bpf_asm -c: "{ 0x28, 0, 0, 0x0000000c },"
    Decimal,   ///< tcpdump -ddd: a count line, then "code jt jf k" per line
    Bytecode,  ///< bpf_asm's default output and xt_bpf/tc's input: "4,40 0 0 12,21 0 1 2048,..."
    BpfAsm,    ///< bpf_asm source (tools/bpf/bpf_exp.y): mnemonics, labels, `jeq #k, lt, lf`
};

/// "listing", "c", "decimal", "bytecode", "bpf_asm".
[[nodiscard]] std::string_view text_format_name(TextFormat f);
/// Parses a name text_format_name returns.
[[nodiscard]] Result<TextFormat> parse_text_format(std::string_view name);

/// The instruction as tcpdump -d prints it, without the "(000) " prefix: "ldh      [12]",
/// "jeq      #0x800           jt 2\tjf 5" (targets absolute from `pc`).
[[nodiscard]] std::string format_insn(const Insn& insn, std::size_t pc);

/// Writes a program in `f`. BpfAsm output assembles with the kernel's bpf_asm to the same bytes.
[[nodiscard]] std::string write_text(std::span<const Insn> filter, TextFormat f);

/// Parses `text` as `f`. Errors carry SourcePos{file, line, column} and the reason.
[[nodiscard]] Result<Filter> parse_text(std::string_view text, TextFormat f, const std::string& file);

/// Which classic text format `text` is, by its first meaningful line, in this order: a
/// "(NNN)" listing, a "{" C array, "N," bytecode, a lone count followed by four-number lines
/// (decimal), else bpf_asm source. Returns nullopt when it looks like none of the four number
/// formats; bpf_asm is then only a candidate (the caller decides between it and other
/// assemblies by parsing; see tools/program_input.cc).
[[nodiscard]] std::optional<TextFormat> sniff_text_format(std::string_view text);

}  // namespace sockfilter::cbpf
