// SPDX-License-Identifier: MIT
// Assembler and disassembler for both text syntaxes (bpf_conformance and kernel/LLVM), driven by the isa table.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "isa/isa.h"
#include "program/program.h"
#include "support/result.h"

namespace sockfilter::assembler {

/// Which text syntax a file is written in (docs/ASSEMBLY.md).
enum class Syntax {
    Auto,         ///< detect per file (see detect_syntax); printing treats it as Kernel
    Conformance,  ///< bpf_conformance syntax: `add32 %r1, 2`, `ldxw %r0, [%r1+4]`
    Kernel,       ///< kernel/LLVM syntax: `w1 += 2`, `r0 = *(u32 *)(r1 + 4)`
};

/// Options of disassemble().
struct DisasmOptions {
    bool pc = false;      ///< prefix every line with its slot number, e.g. "   3: "
    bool labels = false;  ///< print branch targets as labels `L<pc>` (and emit `L<pc>:` lines) instead of +N/-N
};

/// Instruction slots built from text, before program validation, with one source position per slot
/// (the second slot of an lddw repeats the position of the first).
struct Assembly {
    std::vector<isa::Insn> slots;
    std::vector<SourcePos> source;
};

/// The syntax of `text` under the detection rule: the first line that decides wins. A `%` register or a
/// conformance-only mnemonic (`mov`, `ldxw`, `ja`, ...) means Conformance; a bare register (`r0`, `w1`), `=`,
/// `if`, `goto`, `gotol`, `pc+N` or `name#id` means Kernel. Lines that decide nothing (`exit`, `call 5`, labels) are skipped;
/// a file of only such lines is Conformance.
[[nodiscard]] Syntax detect_syntax(std::string_view text);

/// Assembles `text` into slots without validating the program (a test of the validator may need invalid
/// programs). Errors are Errc::Parse at `file_name:line:col`.
[[nodiscard]] Result<Assembly> assemble_slots(std::string_view text, std::string_view file_name,
                                              Syntax syntax = Syntax::Auto);

/// Assembles `text` into a validated program named `file_name`; validation errors also report file:line:col.
[[nodiscard]] Result<program::Program> assemble(std::string_view text, std::string_view file_name,
                                                Syntax syntax = Syntax::Auto);

/// Prints one instruction (the operation `op` of the slot at `pc`, as classified) with relative branch
/// targets (+N/-N) and no trailing newline.
[[nodiscard]] std::string format_insn(std::span<const isa::Insn> slots, std::size_t pc, isa::Op op, Syntax syntax);

/// Prints a whole program, one instruction per line; the output assembles back to the same bytes.
[[nodiscard]] std::string disassemble(const program::Program& program, Syntax syntax = Syntax::Kernel,
                                      DisasmOptions options = {});

}  // namespace sockfilter::assembler
