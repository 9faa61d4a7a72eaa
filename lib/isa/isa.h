// SPDX-License-Identifier: MIT
// The eBPF instruction set: raw slots, the operation table generated from opcodes.def, and the
// structural decoder every consumer (assembler, printer, engines, loaders) shares.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "support/result.h"

namespace sockfilter::isa {

/// One 8-byte instruction slot, fields unpacked (RFC 9669 §3):
///
///     63        32 31    16 15  12 11   8 7      0
///    +------------+--------+------+------+--------+
///    |    imm     |  off   | src  | dst  | opcode |   (little-endian in memory)
///    +------------+--------+------+------+--------+
///
/// `lddw` takes two slots; the second holds the upper 32 bits of the immediate in `imm`.
struct Insn {
    std::uint8_t opcode = 0;
    std::uint8_t dst = 0;
    std::uint8_t src = 0;
    std::int16_t off = 0;
    std::int32_t imm = 0;

    friend bool operator==(const Insn&, const Insn&) = default;
};

inline constexpr std::size_t kSlotSize = 8;
inline constexpr std::uint8_t kMaxReg = 10;  ///< r10 is the read-only frame pointer

/// Opcode fields (RFC 9669 §3, §4).
inline constexpr std::uint8_t kClassMask = 0x07;
enum Class : std::uint8_t { kLd = 0, kLdx = 1, kSt = 2, kStx = 3, kAlu = 4, kJmp = 5, kJmp32 = 6, kAlu64 = 7 };

/// Pseudo sources of `lddw` (kernel uapi BPF_PSEUDO_*), i.e. the `src` discriminator.
enum PseudoSrc : std::uint8_t {
    kPseudoNone = 0,
    kPseudoMapFd = 1,
    kPseudoMapValue = 2,
    kPseudoBtfId = 3,
    kPseudoFunc = 4,
    kPseudoMapIdx = 5,
    kPseudoMapIdxValue = 6,
};

/// Which instruction field separates rows that share an opcode byte.
enum class Disc : std::uint8_t { None, Off, Imm, Src };

/// Operand shape: what the printer and parser read and write, and which fields must be zero.
enum class Format : std::uint8_t {
    AluImm, AluReg, Neg, Endian, MovSx,
    Ja, Ja32, JmpImm, JmpReg, CallHelper, CallLocal, CallKfunc, Callx, Exit,
    Lddw, LdAbs, LdInd, Ldx, Ldsx, St, Stx, Atomic,
};

/// Row flags.
enum Flag : std::uint8_t {
    kNone = 0,
    kAlu32 = 1 << 0,   ///< 32-bit operation (ALU or JMP32): operands are w registers
    kSrcReg = 1 << 1,  ///< reads the src register
    kFetch = 1 << 2,   ///< atomic that writes the old value back into a register
};

/// Every semantic operation, one per row of opcodes.def.
enum class Op : std::uint8_t {
#define OP(name, opcode, dk, dv, fmt, conf, ktok, size, flags) name,
#include "isa/opcodes.def"
#undef OP
};

/// One row of the table.
struct OpInfo {
    std::string_view name;       ///< the enumerator's name, e.g. "Add64Imm"
    std::uint8_t opcode;         ///< the opcode byte
    Disc disc;                   ///< discriminating field
    std::int32_t disc_value;     ///< its required value
    Format format;
    std::string_view conf;       ///< bpf_conformance mnemonic ("add32", "lock fetch add")
    std::string_view ktok;       ///< kernel/LLVM syntax token ("+=", "s>", "u32", "be16")
    std::uint8_t size;           ///< access size in bytes (memory ops, byte swaps, movsx source), else 0
    std::uint8_t flags;

    [[nodiscard]] constexpr bool alu32() const { return (flags & kAlu32) != 0; }
    [[nodiscard]] constexpr bool src_reg() const { return (flags & kSrcReg) != 0; }
    [[nodiscard]] constexpr std::uint8_t cls() const { return opcode & kClassMask; }
};

inline constexpr std::array kOps = {
#define OP(name, opcode, dk, dv, fmt, conf, ktok, size, flags) \
    OpInfo{#name, opcode, Disc::dk, dv, Format::fmt, conf, ktok, size, static_cast<std::uint8_t>(flags)},
#include "isa/opcodes.def"
#undef OP
};
inline constexpr std::size_t kNumOps = kOps.size();

/// The table row of an operation.
[[nodiscard]] constexpr const OpInfo& info(Op op) { return kOps[static_cast<std::size_t>(op)]; }

/// Most rows any one opcode byte has (the atomics: 10).
inline constexpr std::size_t kMaxRowsPerOpcode = 10;

/// For each opcode byte, the rows that use it.
struct OpcodeRows {
    std::uint8_t count = 0;
    std::array<Op, kMaxRowsPerOpcode> ops{};
};

namespace detail {
constexpr std::array<OpcodeRows, 256> build_index() {
    std::array<OpcodeRows, 256> index{};
    for (std::size_t i = 0; i < kNumOps; ++i) {
        auto& slot = index[kOps[i].opcode];
        slot.ops[slot.count++] = static_cast<Op>(i);
    }
    return index;
}
constexpr bool rows_unique() {
    for (std::size_t i = 0; i < kNumOps; ++i) {
        for (std::size_t j = i + 1; j < kNumOps; ++j) {
            if (kOps[i].opcode == kOps[j].opcode &&
                (kOps[i].disc == Disc::None || kOps[j].disc == Disc::None || kOps[i].disc_value == kOps[j].disc_value)) {
                return false;
            }
            if (kOps[i].opcode == kOps[j].opcode && kOps[i].disc != kOps[j].disc) {
                return false;
            }
        }
    }
    return true;
}
}  // namespace detail

/// opcode byte -> rows; the 256-entry index of the table.
inline constexpr std::array<OpcodeRows, 256> kOpcodeIndex = detail::build_index();
static_assert(detail::rows_unique(), "an (opcode, discriminator) pair appears twice in opcodes.def");

/// Unpacks one slot from 8 little-endian bytes.
[[nodiscard]] Insn decode_slot(const std::uint8_t* p);
/// Packs one slot into 8 little-endian bytes.
void encode_slot(const Insn& insn, std::uint8_t* p);
/// Unpacks a byte string into slots; its size must be a multiple of 8.
[[nodiscard]] Result<std::vector<Insn>> slots_from_bytes(std::span<const std::uint8_t> bytes);
/// Packs slots into bytes.
[[nodiscard]] std::vector<std::uint8_t> slots_to_bytes(std::span<const Insn> slots);

/// Identifies the operation of the slot at `pc` and checks its fields: register numbers, the
/// discriminator, reserved fields that must be zero, and for lddw the second slot. Errors carry
/// InsnIndex{pc} and an exact message (see isa_test.cc).
[[nodiscard]] Result<Op> classify(std::span<const Insn> slots, std::size_t pc);

/// The slot of `op` with the given operand fields; the opcode byte and the discriminating field
/// come from the table (the discriminator overrides whatever the caller passed for that field).
[[nodiscard]] constexpr Insn encode_op(Op op, std::uint8_t dst = 0, std::uint8_t src = 0, std::int16_t off = 0,
                                       std::int32_t imm = 0) {
    const OpInfo& oi = info(op);
    Insn in{oi.opcode, dst, src, off, imm};
    switch (oi.disc) {
        case Disc::None: break;
        case Disc::Off: in.off = static_cast<std::int16_t>(oi.disc_value); break;
        case Disc::Imm: in.imm = oi.disc_value; break;
        case Disc::Src: in.src = static_cast<std::uint8_t>(oi.disc_value); break;
    }
    return in;
}

/// Number of slots the operation occupies (2 for lddw, else 1).
[[nodiscard]] constexpr std::size_t width(Op op) { return info(op).format == Format::Lddw ? 2 : 1; }

/// The 64-bit immediate of an lddw at `pc` (both halves).
[[nodiscard]] inline std::uint64_t lddw_imm(std::span<const Insn> slots, std::size_t pc) {
    return static_cast<std::uint32_t>(slots[pc].imm) |
           (static_cast<std::uint64_t>(static_cast<std::uint32_t>(slots[pc + 1].imm)) << 32);
}

/// Whether the operation transfers control to `pc + 1 + off` (or imm for ja32) in the same function.
[[nodiscard]] constexpr bool is_jump(Op op) {
    Format f = info(op).format;
    return f == Format::Ja || f == Format::Ja32 || f == Format::JmpImm || f == Format::JmpReg;
}

/// Jump displacement: `off`, or `imm` for ja32.
[[nodiscard]] constexpr std::int64_t jump_offset(Op op, const Insn& insn) {
    return info(op).format == Format::Ja32 ? insn.imm : insn.off;
}

}  // namespace sockfilter::isa
