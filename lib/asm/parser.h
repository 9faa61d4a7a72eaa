// SPDX-License-Identifier: MIT
// One parsed instruction and the per-syntax statement parsers (internal to lib/asm).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "asm/lexer.h"
#include "isa/isa.h"

namespace sockfilter::assembler::detail {

/// A branch target written as a label, resolved once every label is known.
struct LabelRef {
    std::string name;
    std::uint32_t col = 0;
};

/// One instruction as parsed: the row and the fields the text gave. The opcode byte and the
/// discriminator come from the row when the statement is encoded.
struct Stmt {
    isa::Op op = isa::Op::Exit;
    isa::Insn insn{};
    std::int32_t hi = 0;            ///< lddw: immediate of the second slot
    std::optional<LabelRef> label;  ///< target to patch: into `off`, or `imm` (see target_in_imm)
};

/// Whether the operation keeps its relative target in `imm` (ja32, local call, lddw func) rather than `off`.
[[nodiscard]] constexpr bool target_in_imm(isa::Op op) {
    return op == isa::Op::Ja32 || op == isa::Op::CallLocal || op == isa::Op::LddwFunc;
}

/// Whether the operation has a relative target at all.
[[nodiscard]] constexpr bool has_target(isa::Op op) {
    return isa::is_jump(op) || op == isa::Op::CallLocal || op == isa::Op::LddwFunc;
}

/// Spelling of the lddw pseudo sources in the function form shared by both syntaxes: `map_fd(3)`,
/// `map_value(3, 8)`; `value` forms always print their second-slot immediate.
struct PseudoName {
    std::uint8_t src;
    std::string_view name;
    bool value;
};
inline constexpr std::array<PseudoName, 6> kPseudoNames = {{
    {isa::kPseudoMapFd, "map_fd", false},
    {isa::kPseudoMapValue, "map_value", true},
    {isa::kPseudoBtfId, "btf_id", false},
    {isa::kPseudoFunc, "func", false},
    {isa::kPseudoMapIdx, "map_idx", false},
    {isa::kPseudoMapIdxValue, "map_idx_value", true},
}};

/// Reads a relative target: `+N`, `-N`, `pc+N`, `pc-N` or a label, into `s.insn.off` (16-bit) or, when
/// `wide`, `s.insn.imm` (32-bit). A kernel-syntax `<name>` annotation after it is skipped.
void parse_target(Cursor& c, Stmt& s, bool wide);

/// Reads the source of an lddw whose destination is already in `s`: a 64-bit immediate, a pseudo-source
/// function form, or (when `kernel`) the bracket forms `map[fd:N]`, `map[idx:N]`, optionally `+OFF`.
void parse_lddw_source(Cursor& c, Stmt& s, bool kernel);

/// Parses one bpf_conformance-syntax instruction (the whole rest of the line).
[[nodiscard]] Stmt parse_conformance(Cursor& c);

/// Parses one kernel/LLVM-syntax instruction (the whole rest of the line).
[[nodiscard]] Stmt parse_kernel(Cursor& c);

}  // namespace sockfilter::assembler::detail
