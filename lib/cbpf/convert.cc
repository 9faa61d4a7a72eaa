// SPDX-License-Identifier: MIT
// Classic → eBPF socket filter: size every classic instruction's translation, lay out the
// addresses, emit with the jump offsets known.
#include "cbpf/convert.h"

#include <limits>

#include "cbpf/text.h"
#include "support/assert.h"

namespace sockfilter::cbpf {

namespace {

using namespace code;
using isa::Op;
using isa::encode_op;

constexpr std::uint8_t kRegA = 0;  // accumulator
constexpr std::uint8_t kTmp = 2;   // scratch, dead across LD_ABS and calls
constexpr std::uint8_t kCtx = 6;   // LD_ABS/LD_IND need the context here
constexpr std::uint8_t kXr = 7;    // index register
constexpr std::uint8_t kSaveA = 9; // A across ldxb's byte load
constexpr std::uint8_t kFp = 10;

// __sk_buff offsets (spec §1.1).
constexpr std::int16_t kCtxLen = 0, kCtxPktType = 4, kCtxMark = 8, kCtxQueue = 12, kCtxProtocol = 16,
                       kCtxVlanPresent = 20, kCtxVlanTci = 24, kCtxVlanProto = 28, kCtxIfindex = 40, kCtxHash = 68;
// Helper ids (include/uapi/linux/bpf.h).
constexpr std::int32_t kGetPrandomU32 = 7, kGetSmpProcessorId = 8;

std::int16_t mem_off(std::uint32_t k) { return static_cast<std::int16_t>(-4 * static_cast<std::int32_t>(k) - 4); }

Op alu32(std::uint16_t o, bool reg) {
    switch (o) {
        case kAdd: return reg ? Op::Add32Reg : Op::Add32Imm;
        case kSub: return reg ? Op::Sub32Reg : Op::Sub32Imm;
        case kMul: return reg ? Op::Mul32Reg : Op::Mul32Imm;
        case kDiv: return reg ? Op::Div32Reg : Op::Div32Imm;
        case kOr: return reg ? Op::Or32Reg : Op::Or32Imm;
        case kAnd: return reg ? Op::And32Reg : Op::And32Imm;
        case kLsh: return reg ? Op::Lsh32Reg : Op::Lsh32Imm;
        case kRsh: return reg ? Op::Rsh32Reg : Op::Rsh32Imm;
        case kMod: return reg ? Op::Mod32Reg : Op::Mod32Imm;
        case kXor: return reg ? Op::Xor32Reg : Op::Xor32Imm;
        default: SF_UNREACHABLE();
    }
}

Op jmp32(std::uint16_t o, bool reg) {
    switch (o) {
        case kJeq: return reg ? Op::Jeq32Reg : Op::Jeq32Imm;
        case kJgt: return reg ? Op::Jgt32Reg : Op::Jgt32Imm;
        case kJge: return reg ? Op::Jge32Reg : Op::Jge32Imm;
        case kJset: return reg ? Op::Jset32Reg : Op::Jset32Imm;
        default: SF_UNREACHABLE();
    }
}

/// The inverse comparison, when eBPF has one (JSET has none).
std::optional<Op> inverted(std::uint16_t o, bool reg) {
    switch (o) {
        case kJeq: return reg ? Op::Jne32Reg : Op::Jne32Imm;
        case kJgt: return reg ? Op::Jle32Reg : Op::Jle32Imm;
        case kJge: return reg ? Op::Jlt32Reg : Op::Jlt32Imm;
        default: return std::nullopt;
    }
}

Op ld_abs(std::uint16_t c) { return size(c) == kW ? Op::LdAbs32 : size(c) == kH ? Op::LdAbs16 : Op::LdAbs8; }
Op ld_ind(std::uint16_t c) { return size(c) == kW ? Op::LdInd32 : size(c) == kH ? Op::LdInd16 : Op::LdInd8; }

/// A jump whose offset is filled in once addresses are known: the classic target pc.
struct Fixup {
    std::size_t slot;
    std::size_t target;
};

/// Emits one classic instruction; jumps record fixups. Returns false for a refused ancillary.
class Emitter {
public:
    std::vector<isa::Insn> out;
    std::vector<Fixup> fixups;

    void emit(isa::Insn in) { out.push_back(in); }
    void jump_to(isa::Insn in, std::size_t target) {
        fixups.push_back({out.size(), target});
        out.push_back(in);
    }

    void insn(const Insn& in, std::size_t pc) {
        const std::uint16_t c = in.code;
        const auto k = static_cast<std::int32_t>(in.k);
        switch (cls(c)) {
            case kAlu:
                if (op(c) == kNeg) {
                    emit(encode_op(Op::Neg32, kRegA));
                    return;
                }
                if (src(c) == kX) {
                    if (op(c) == kDiv || op(c) == kMod) {
                        // Classic BPF ends the filter with 0; eBPF's x/0 = 0 and x%0 = x go on.
                        emit(encode_op(Op::Jne64Imm, kXr, 0, 2, 0));
                        emit(encode_op(Op::Mov32Imm, kRegA, 0, 0, 0));
                        emit(encode_op(Op::Exit));
                    }
                    emit(encode_op(alu32(op(c), true), kRegA, kXr));
                } else {
                    emit(encode_op(alu32(op(c), false), kRegA, 0, 0, k));
                }
                return;
            case kLd:
                switch (mode(c)) {
                    case kImm: emit(encode_op(Op::Mov32Imm, kRegA, 0, 0, k)); return;
                    case kLen: emit(encode_op(Op::Ldx32, kRegA, kCtx, kCtxLen)); return;
                    case kMem: emit(encode_op(Op::Ldx32, kRegA, kFp, mem_off(in.k))); return;
                    case kInd: emit(encode_op(ld_ind(c), 0, kXr, 0, k)); return;
                    case kAbs:
                        if (auto a = ancillary(in.k)) {
                            ancillary_load(*a);
                        } else {
                            emit(encode_op(ld_abs(c), 0, 0, 0, k));
                        }
                        return;
                    default: SF_UNREACHABLE();
                }
            case kLdx:
                switch (mode(c)) {
                    case kImm: emit(encode_op(Op::Mov32Imm, kXr, 0, 0, k)); return;
                    case kLen: emit(encode_op(Op::Ldx32, kXr, kCtx, kCtxLen)); return;
                    case kMem: emit(encode_op(Op::Ldx32, kXr, kFp, mem_off(in.k))); return;
                    case kMsh:
                        emit(encode_op(Op::Mov64Reg, kSaveA, kRegA));
                        emit(encode_op(Op::LdAbs8, 0, 0, 0, k));
                        emit(encode_op(Op::And32Imm, kRegA, 0, 0, 0xf));
                        emit(encode_op(Op::Lsh32Imm, kRegA, 0, 0, 2));
                        emit(encode_op(Op::Mov32Reg, kXr, kRegA));
                        emit(encode_op(Op::Mov32Reg, kRegA, kSaveA));
                        return;
                    default: SF_UNREACHABLE();
                }
            case kSt: emit(encode_op(Op::Stx32, kFp, kRegA, mem_off(in.k))); return;
            case kStx: emit(encode_op(Op::Stx32, kFp, kXr, mem_off(in.k))); return;
            case kMisc:
                emit(op(c) == kTax ? encode_op(Op::Mov32Reg, kXr, kRegA) : encode_op(Op::Mov32Reg, kRegA, kXr));
                return;
            case kRet:
                if (rval(c) == kK) {
                    emit(encode_op(Op::Mov32Imm, kRegA, 0, 0, k));
                }
                emit(encode_op(Op::Exit));
                return;
            case kJmp: {
                if (op(c) == kJa) {
                    jump_to(encode_op(Op::Ja), pc + 1 + in.k);
                    return;
                }
                const bool reg = src(c) == kX;
                const std::uint8_t s = reg ? kXr : 0;
                if (in.jf == 0) {
                    jump_to(encode_op(jmp32(op(c), reg), kRegA, s, 0, k), pc + 1 + in.jt);
                } else if (in.jt == 0 && inverted(op(c), reg)) {
                    jump_to(encode_op(*inverted(op(c), reg), kRegA, s, 0, k), pc + 1 + in.jf);
                } else {
                    jump_to(encode_op(jmp32(op(c), reg), kRegA, s, 0, k), pc + 1 + in.jt);
                    jump_to(encode_op(Op::Ja), pc + 1 + in.jf);
                }
                return;
            }
            default: SF_UNREACHABLE();
        }
    }

private:
    void field(std::int16_t off) { emit(encode_op(Op::Ldx32, kRegA, kCtx, off)); }

    void ancillary_load(Ancillary a) {
        switch (a) {
            case Ancillary::Protocol:
                field(kCtxProtocol);
                emit(encode_op(Op::Be16, kRegA));
                return;
            case Ancillary::VlanTpid:
                field(kCtxVlanProto);
                emit(encode_op(Op::Be16, kRegA));
                return;
            case Ancillary::PktType: field(kCtxPktType); return;
            case Ancillary::Mark: field(kCtxMark); return;
            case Ancillary::Queue: field(kCtxQueue); return;
            case Ancillary::Rxhash: field(kCtxHash); return;
            case Ancillary::VlanTag: field(kCtxVlanTci); return;
            case Ancillary::VlanTagPresent: field(kCtxVlanPresent); return;
            case Ancillary::Ifindex:
                // No device: ifindex reads 0, and classic BPF returns A there.
                emit(encode_op(Op::Ldx32, kTmp, kCtx, kCtxIfindex));
                emit(encode_op(Op::Jne64Imm, kTmp, 0, 1, 0));
                emit(encode_op(Op::Exit));
                emit(encode_op(Op::Mov32Reg, kRegA, kTmp));
                return;
            case Ancillary::AluXorX: emit(encode_op(Op::Xor32Reg, kRegA, kXr)); return;
            case Ancillary::Cpu: emit(encode_op(Op::CallHelper, 0, 0, 0, kGetSmpProcessorId)); return;
            case Ancillary::Random: emit(encode_op(Op::CallHelper, 0, 0, 0, kGetPrandomU32)); return;
            case Ancillary::Hatype:
            case Ancillary::Nlattr:
            case Ancillary::NlattrNest:
            case Ancillary::PayOffset: SF_UNREACHABLE();
        }
    }
};

/// Classic instructions reachable from pc 0.
std::vector<bool> reachable(std::span<const Insn> f) {
    std::vector<bool> r(f.size(), false);
    r[0] = true;
    for (std::size_t pc = 0; pc < f.size(); ++pc) {
        if (!r[pc]) continue;
        const Insn& in = f[pc];
        if (cls(in.code) == kRet) continue;
        if (in.code == (kJmp | kJa)) {
            r[pc + 1 + in.k] = true;
        } else if (cls(in.code) == kJmp) {
            r[pc + 1 + in.jt] = true;
            r[pc + 1 + in.jf] = true;
        } else {
            r[pc + 1] = true;
        }
    }
    return r;
}

}  // namespace

bool convertible(Ancillary a) {
    return a != Ancillary::Hatype && a != Ancillary::Nlattr && a != Ancillary::NlattrNest &&
           a != Ancillary::PayOffset;
}

Result<program::Program> convert(std::span<const Insn> f, const std::string& name) {
    std::string refused;
    for (std::size_t pc = 0; pc < f.size(); ++pc) {
        if (cls(f[pc].code) == kLd && mode(f[pc].code) == kAbs) {
            if (auto a = ancillary(f[pc].k); a && !convertible(*a)) {
                refused += fmt::format("{}pc {} ({})", refused.empty() ? "" : ", ", pc, format_insn(f[pc], pc));
            }
        }
    }
    if (!refused.empty()) {
        return fail(Errc::NotSupported,
                    "ancillary loads with no socket-filter equivalent (hatype, nla, nlan and poff have no __sk_buff "
                    "field or helper): {}; run it on the classic interpreter instead",
                    refused);
    }
    const std::vector<bool> live = reachable(f);
    Emitter e;
    e.emit(encode_op(Op::Mov64Reg, kCtx, 1));
    e.emit(encode_op(Op::Mov32Imm, kRegA, 0, 0, 0));
    e.emit(encode_op(Op::Mov32Imm, kXr, 0, 0, 0));
    std::vector<std::size_t> addr(f.size(), 0);
    for (std::size_t pc = 0; pc < f.size(); ++pc) {
        addr[pc] = e.out.size();
        if (live[pc]) {
            e.insn(f[pc], pc);
        }
    }
    for (const Fixup& fx : e.fixups) {
        const auto off = static_cast<std::int64_t>(addr[fx.target]) - static_cast<std::int64_t>(fx.slot) - 1;
        if (off > std::numeric_limits<std::int16_t>::max()) {
            return fail(Errc::InvalidProgram, InsnIndex{static_cast<std::uint32_t>(fx.slot)},
                        "converted jump to classic pc {} spans {} eBPF instructions, more than a 16-bit offset holds",
                        fx.target, off);
        }
        e.out[fx.slot].off = static_cast<std::int16_t>(off);
    }
    return program::Program::from_slots(name, std::move(e.out));
}

}  // namespace sockfilter::cbpf
