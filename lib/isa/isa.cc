// SPDX-License-Identifier: MIT
// Slot packing and the structural check of one instruction against the table.
#include "isa/isa.h"

#include "support/assert.h"
#include "support/bytes.h"

namespace sockfilter::isa {

namespace {

/// Which fields a format reads; the others must be zero. The discriminating field is checked
/// against the row separately.
struct Fields {
    bool dst, src, off, imm;
};

constexpr Fields fields_of(Format f) {
    switch (f) {
        case Format::AluImm: return {true, false, false, true};
        case Format::AluReg: return {true, true, false, false};
        case Format::Neg: return {true, false, false, false};
        case Format::Endian: return {true, false, false, false};
        case Format::MovSx: return {true, true, false, false};
        case Format::Ja: return {false, false, true, false};
        case Format::Ja32: return {false, false, false, true};
        case Format::JmpImm: return {true, false, true, true};
        case Format::JmpReg: return {true, true, true, false};
        case Format::CallHelper: return {false, false, false, true};
        case Format::CallLocal: return {false, false, false, true};
        case Format::CallKfunc: return {false, false, true, true};
        case Format::Callx: return {true, false, false, false};
        case Format::Exit: return {false, false, false, false};
        case Format::Lddw: return {true, false, false, true};
        case Format::LdAbs: return {false, false, false, true};
        case Format::LdInd: return {false, true, false, true};
        case Format::Ldx: return {true, true, true, false};
        case Format::Ldsx: return {true, true, true, false};
        case Format::St: return {true, false, true, true};
        case Format::Stx: return {true, true, true, false};
        case Format::Atomic: return {true, true, true, false};
    }
    return {false, false, false, false};
}

std::int32_t disc_field(Disc d, const Insn& insn) {
    switch (d) {
        case Disc::None: return 0;
        case Disc::Off: return insn.off;
        case Disc::Imm: return insn.imm;
        case Disc::Src: return insn.src;
    }
    return 0;
}

}  // namespace

Insn decode_slot(const std::uint8_t* p) {
    Insn i;
    i.opcode = p[0];
    i.dst = p[1] & 0x0f;
    i.src = static_cast<std::uint8_t>(p[1] >> 4);
    i.off = static_cast<std::int16_t>(load_le<std::uint16_t>(p + 2));
    i.imm = static_cast<std::int32_t>(load_le<std::uint32_t>(p + 4));
    return i;
}

void encode_slot(const Insn& insn, std::uint8_t* p) {
    p[0] = insn.opcode;
    p[1] = static_cast<std::uint8_t>((insn.dst & 0x0f) | (insn.src << 4));
    store_le<std::uint16_t>(p + 2, static_cast<std::uint16_t>(insn.off));
    store_le<std::uint32_t>(p + 4, static_cast<std::uint32_t>(insn.imm));
}

Result<std::vector<Insn>> slots_from_bytes(std::span<const std::uint8_t> bytes) {
    if (bytes.size() % kSlotSize != 0) {
        return fail(Errc::InvalidProgram, "program size {} is not a multiple of 8 bytes ({} trailing)", bytes.size(),
                    bytes.size() % kSlotSize);
    }
    std::vector<Insn> out(bytes.size() / kSlotSize);
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] = decode_slot(bytes.data() + i * kSlotSize);
    }
    return out;
}

std::vector<std::uint8_t> slots_to_bytes(std::span<const Insn> slots) {
    std::vector<std::uint8_t> out(slots.size() * kSlotSize);
    for (std::size_t i = 0; i < slots.size(); ++i) {
        encode_slot(slots[i], out.data() + i * kSlotSize);
    }
    return out;
}

Result<Op> classify(std::span<const Insn> slots, std::size_t pc) {
    const Insn& in = slots[pc];
    const Location at = InsnIndex{static_cast<std::uint32_t>(pc)};
    const OpcodeRows& rows = kOpcodeIndex[in.opcode];
    if (rows.count == 0) {
        return fail(Errc::InvalidProgram, at, "unknown opcode {:#04x}", in.opcode);
    }
    const Disc disc = info(rows.ops[0]).disc;
    const std::int32_t dv = disc_field(disc, in);
    const Op* found = nullptr;
    for (std::size_t i = 0; i < rows.count; ++i) {
        if (disc == Disc::None || info(rows.ops[i]).disc_value == dv) {
            found = &rows.ops[i];
            break;
        }
    }
    if (found == nullptr) {
        switch (disc) {
            case Disc::Off: return fail(Errc::InvalidProgram, at, "opcode {:#04x}: invalid offset {}", in.opcode, dv);
            case Disc::Imm: return fail(Errc::InvalidProgram, at, "opcode {:#04x}: invalid immediate {:#x}", in.opcode, dv);
            case Disc::Src: return fail(Errc::InvalidProgram, at, "opcode {:#04x}: invalid source {}", in.opcode, dv);
            case Disc::None: break;
        }
        SF_UNREACHABLE();
    }
    const Op op = *found;
    const OpInfo& oi = info(op);
    const Fields f = fields_of(oi.format);
    if (f.dst && in.dst > kMaxReg) {
        return fail(Errc::InvalidProgram, at, "opcode {:#04x}: invalid dst register r{}", in.opcode, in.dst);
    }
    if (f.src && in.src > kMaxReg) {
        return fail(Errc::InvalidProgram, at, "opcode {:#04x}: invalid src register r{}", in.opcode, in.src);
    }
    if (!f.dst && in.dst != 0) {
        return fail(Errc::InvalidProgram, at, "opcode {:#04x}: reserved field dst must be 0, is {}", in.opcode, in.dst);
    }
    if (!f.src && disc != Disc::Src && in.src != 0) {
        return fail(Errc::InvalidProgram, at, "opcode {:#04x}: reserved field src must be 0, is {}", in.opcode, in.src);
    }
    if (!f.off && disc != Disc::Off && in.off != 0) {
        return fail(Errc::InvalidProgram, at, "opcode {:#04x}: reserved field off must be 0, is {}", in.opcode, in.off);
    }
    if (!f.imm && disc != Disc::Imm && in.imm != 0) {
        return fail(Errc::InvalidProgram, at, "opcode {:#04x}: reserved field imm must be 0, is {}", in.opcode, in.imm);
    }
    if (oi.format == Format::Lddw) {
        if (pc + 1 >= slots.size()) {
            return fail(Errc::InvalidProgram, at, "lddw is missing its second slot");
        }
        const Insn& hi = slots[pc + 1];
        if (hi.opcode != 0 || hi.dst != 0 || hi.src != 0 || hi.off != 0) {
            return fail(Errc::InvalidProgram, at,
                        "second slot of lddw must have opcode, dst, src and off 0 (has opcode {:#04x})", hi.opcode);
        }
    }
    return op;
}

}  // namespace sockfilter::isa
