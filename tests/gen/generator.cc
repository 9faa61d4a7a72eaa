// SPDX-License-Identifier: MIT
// The random program generator: units that keep the verifier's invariants, their layout into a
// Program, and the static coverage count.
#include "generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "runtime/packet.h"
#include "runtime/prog_type.h"
#include "support/assert.h"

namespace sockfilter::gen {
namespace {

using isa::Op;

constexpr std::array<std::uint8_t, 9> kScalars{0, 1, 2, 3, 4, 5, 7, 8, 9};
constexpr std::uint8_t kCtx = 6;
constexpr std::uint8_t kFp = 10;
/// Bytes of scratch stack below r10 that every function initialises in its prologue.
constexpr std::int32_t kScratch = 96;

constexpr std::int32_t kSkfNetOff = -0x100000;
constexpr std::int32_t kSkfLlOff = -0x200000;

// Helper ids (enum bpf_func_id).
constexpr std::int32_t kMapLookup = 1;
constexpr std::int32_t kMapUpdate = 2;
constexpr std::int32_t kMapDelete = 3;
constexpr std::int32_t kSkbLoadBytes = 26;
constexpr std::int32_t kGetSocketUid = 47;
constexpr std::int32_t kSkbLoadBytesRelative = 68;
constexpr std::int32_t kStrtol = 105;
constexpr std::int32_t kStrtoul = 106;
/// __sk_buff offset of the `sk` pointer.
constexpr std::int16_t kSkPointer = 168;

GenInsn G(Op op, std::uint8_t dst = 0, std::uint8_t src = 0, std::int16_t off = 0, std::int32_t imm = 0) {
    return GenInsn{isa::encode_op(op, dst, src, off, imm), -1};
}

void push(Unit& u, Op op, std::uint8_t dst = 0, std::uint8_t src = 0, std::int16_t off = 0, std::int32_t imm = 0) {
    u.insns.push_back(G(op, dst, src, off, imm));
}

/// Both slots of an lddw with pseudo source `src`.
void push_lddw(Unit& u, Op op, std::uint8_t dst, std::int32_t lo, std::int32_t hi) {
    u.insns.push_back(G(op, dst, 0, 0, lo));
    u.insns.push_back(GenInsn{isa::Insn{0, 0, 0, 0, hi}, -1});
}

std::size_t slots(const Unit& u) { return u.insns.size(); }

bool is_class(Op op, std::uint8_t cls) { return isa::info(op).cls() == cls; }

std::vector<Op> ops_where(bool (*pred)(Op)) {
    std::vector<Op> out;
    for (std::size_t i = 0; i < isa::kNumOps; ++i) {
        if (pred(static_cast<Op>(i))) {
            out.push_back(static_cast<Op>(i));
        }
    }
    return out;
}

/// Every ALU and ALU64 operation (immediate, register, movsx, neg, byte swaps).
const std::vector<Op>& alu_ops() {
    static const std::vector<Op> ops = ops_where([](Op op) { return is_class(op, isa::kAlu) || is_class(op, isa::kAlu64); });
    return ops;
}

/// Every conditional jump, JMP and JMP32, immediate and register.
const std::vector<Op>& cond_ops() {
    static const std::vector<Op> ops = ops_where([](Op op) {
        const auto f = isa::info(op).format;
        return f == isa::Format::JmpImm || f == isa::Format::JmpReg;
    });
    return ops;
}

const std::vector<Op>& atomic_ops() {
    static const std::vector<Op> ops = ops_where([](Op op) { return isa::info(op).format == isa::Format::Atomic; });
    return ops;
}

/// One context access the socket-filter type allows.
struct CtxSlot {
    std::int16_t off;
    std::uint32_t size;
    bool sign;
};

std::vector<CtxSlot> ctx_slots(runtime::CtxAccessKind kind) {
    std::vector<CtxSlot> out;
    const runtime::ProgType& t = runtime::socket_filter();
    for (std::uint32_t size : {1U, 2U, 4U, 8U}) {
        for (std::int32_t off = 0; off < static_cast<std::int32_t>(t.ctx_size); off += static_cast<std::int32_t>(size)) {
            auto a = t.check_access(off, size, kind);
            const bool no_op = kind == runtime::CtxAccessKind::LoadSx && size == 8;  // there is no 8-byte ldsx
            if (a && !a->is_sk_pointer && !no_op) {
                out.push_back({static_cast<std::int16_t>(off), size, kind == runtime::CtxAccessKind::LoadSx});
            }
        }
    }
    return out;
}

const std::vector<CtxSlot>& ctx_reads() {
    static const std::vector<CtxSlot> slots = [] {
        auto v = ctx_slots(runtime::CtxAccessKind::Load);
        auto sx = ctx_slots(runtime::CtxAccessKind::LoadSx);
        v.insert(v.end(), sx.begin(), sx.end());
        return v;
    }();
    return slots;
}

const std::vector<CtxSlot>& ctx_writes() {
    static const std::vector<CtxSlot> slots = ctx_slots(runtime::CtxAccessKind::Store);
    return slots;
}

bool is_local_call(const isa::Insn& in) { return in.opcode == isa::info(Op::CallLocal).opcode && in.src == 1; }

/// Every load from ctx->sk (struct bpf_sock) the kernel allows.
const std::vector<CtxSlot>& sock_reads() {
    static const std::vector<CtxSlot> slots = [] {
        std::vector<CtxSlot> out;
        for (std::uint32_t size : {1U, 2U, 4U, 8U}) {
            for (std::int32_t off = 0; off < 80; ++off) {
                // A 2- or 4-byte read of rx_queue_mapping gives a 64-bit -1, outside the range the
                // verifier assumes for the load, and the kernel hard-wires branches on what it
                // assumed (docs/SEMANTICS.md): no userspace engine follows that, so leave it out.
                const bool wide_rx_queue = off == 76 && size > 1;
                if (runtime::check_sock_access(off, size) && !wide_rx_queue) {
                    out.push_back({static_cast<std::int16_t>(off), size, false});
                }
            }
        }
        return out;
    }();
    return slots;
}

Op load_op(std::uint32_t size, bool sign) {
    switch (size) {
        case 1: return sign ? Op::Ldsx8 : Op::Ldx8;
        case 2: return sign ? Op::Ldsx16 : Op::Ldx16;
        case 4: return sign ? Op::Ldsx32 : Op::Ldx32;
        default: SF_ASSERT(!sign); return Op::Ldx64;
    }
}

Op store_op(std::uint32_t size, bool imm) {
    switch (size) {
        case 1: return imm ? Op::St8 : Op::Stx8;
        case 2: return imm ? Op::St16 : Op::Stx16;
        case 4: return imm ? Op::St32 : Op::Stx32;
        default: return imm ? Op::St64 : Op::Stx64;
    }
}

}  // namespace

struct Generator::State {
    std::vector<program::MapSpec> maps;
    std::vector<std::size_t> arrays;  // indexes of single-element array maps (direct value access)
    bool ld_abs_allowed = true;
};

Generator::Generator(std::uint64_t seed, Options options) : seed_(seed), options_(options), rng_(seed) {}

std::uint8_t Generator::scalar_reg() { return kScalars[below(kScalars.size())]; }

std::int32_t Generator::imm32() {
    static constexpr std::array<std::int64_t, 12> kEdges{0, 1, -1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff,
                                                         INT32_MIN, 0x10000, -0x80, 63};
    switch (below(4)) {
        case 0: return static_cast<std::int32_t>(below(33)) - 16;
        case 1: return static_cast<std::int32_t>(kEdges[below(kEdges.size())]);
        case 2: return static_cast<std::int32_t>(static_cast<std::uint32_t>(rng_()));
        default: return static_cast<std::int32_t>(below(256));
    }
}

void Generator::reinit_args(Unit& u) {
    for (std::uint8_t r = 1; r <= 5; ++r) {
        push(u, chance(50) ? Op::Mov64Imm : Op::Mov32Imm, r, 0, 0, imm32());
    }
}

Unit Generator::alu() {
    Unit u{"alu", {}, false};
    if (chance(8)) {
        const std::uint64_t v = rng_();
        push_lddw(u, Op::Lddw, scalar_reg(), static_cast<std::int32_t>(static_cast<std::uint32_t>(v)),
                  static_cast<std::int32_t>(static_cast<std::uint32_t>(v >> 32)));
        return u;
    }
    const Op op = alu_ops()[below(alu_ops().size())];
    const isa::OpInfo& oi = isa::info(op);
    const std::uint8_t dst = scalar_reg();
    switch (oi.format) {
        case isa::Format::AluImm: {
            std::int32_t imm = imm32();
            const bool shift = oi.ktok == "<<=" || oi.ktok == ">>=" || oi.ktok == "s>>=";
            const bool div = oi.ktok == "/=" || oi.ktok == "%=" || oi.ktok == "s/=" || oi.ktok == "s%=";
            if (shift) {
                imm = static_cast<std::int32_t>(below(oi.alu32() ? 32 : 64));
            } else if (div && imm == 0) {
                imm = chance(50) ? -1 : 3;  // a constant divisor of 0 is a load error
            }
            push(u, op, dst, 0, 0, imm);
            break;
        }
        case isa::Format::AluReg:
        case isa::Format::MovSx: push(u, op, dst, scalar_reg()); break;
        default: push(u, op, dst); break;  // neg, byte swaps
    }
    return u;
}

Unit Generator::cond_jump(std::size_t pos, std::size_t count) {
    Unit u{"jump", {}, false};
    const Op op = cond_ops()[below(cond_ops().size())];
    const bool reg = isa::info(op).src_reg();
    GenInsn j = G(op, scalar_reg(), reg ? scalar_reg() : 0, 0, reg ? 0 : imm32());
    j.target = static_cast<std::int32_t>(pos + 1 + below(std::min<std::size_t>(6, count - pos)));
    u.insns.push_back(j);
    return u;
}

Unit Generator::if_else() {
    // if cond goto B; A...; goto end; B: ...; end:
    Unit u{"if_else", {}, false};
    const std::size_t a = 1 + below(3);
    const std::size_t b = 1 + below(3);
    const Op op = cond_ops()[below(cond_ops().size())];
    const bool reg = isa::info(op).src_reg();
    push(u, op, scalar_reg(), reg ? scalar_reg() : 0, static_cast<std::int16_t>(a + 1), reg ? 0 : imm32());
    for (std::size_t i = 0; i < a; ++i) {
        Unit x = alu();
        u.insns.push_back(x.insns.size() == 1 ? x.insns[0] : G(Op::Neg64, scalar_reg()));
    }
    if (chance(50)) {
        push(u, Op::Ja, 0, 0, static_cast<std::int16_t>(b));
    } else {
        push(u, Op::Ja32, 0, 0, 0, static_cast<std::int32_t>(b));
    }
    for (std::size_t i = 0; i < b; ++i) {
        Unit x = alu();
        u.insns.push_back(x.insns.size() == 1 ? x.insns[0] : G(Op::Neg32, scalar_reg()));
    }
    return u;
}

Unit Generator::loop() {
    // rX = n; L: body (not writing rX); rX -= 1; if rX != 0 goto L
    Unit u{"loop", {}, false};
    const std::uint8_t x = static_cast<std::uint8_t>(7 + below(3));
    push(u, Op::Mov64Imm, x, 0, 0, static_cast<std::int32_t>(1 + below(4)));
    const std::size_t k = 1 + below(3);
    for (std::size_t i = 0; i < k; ++i) {
        Unit a = alu();
        GenInsn in = a.insns.size() == 1 ? a.insns[0] : G(Op::Neg64, 0);
        if (in.insn.dst == x) {
            in.insn.dst = 0;
        }
        u.insns.push_back(in);
    }
    push(u, Op::Sub64Imm, x, 0, 0, 1);
    push(u, chance(50) ? Op::Jne64Imm : Op::Jne32Imm, x, 0, static_cast<std::int16_t>(-static_cast<int>(k) - 2), 0);
    return u;
}

std::int16_t Generator::stack_off(std::uint32_t size) {
    // Aligned: the verifier checks stack alignment strictly whatever the load flags.
    return static_cast<std::int16_t>(-static_cast<std::int32_t>(size * (1 + below(kScratch / size))));
}

Unit Generator::stack_store(State&) {
    Unit u{"stack_store", {}, false};
    const std::uint32_t size = 1U << below(4);
    const std::int16_t off = stack_off(size);
    const bool imm = chance(40);
    push(u, store_op(size, imm), kFp, imm ? 0 : scalar_reg(), off, imm ? imm32() : 0);
    return u;
}

Unit Generator::stack_load(State&) {
    Unit u{"stack_load", {}, false};
    const std::uint32_t size = 1U << below(4);
    const bool sign = size < 8 && chance(40);
    push(u, load_op(size, sign), scalar_reg(), kFp, stack_off(size));
    return u;
}

Unit Generator::stack_atomic(State&) {
    Unit u{"stack_atomic", {}, false};
    const Op op = atomic_ops()[below(atomic_ops().size())];
    const std::uint32_t size = isa::info(op).size;
    const auto off = static_cast<std::int16_t>(-static_cast<std::int32_t>(size * (1 + below(kScratch / size))));
    push(u, op, kFp, scalar_reg(), off);
    return u;
}

Unit Generator::ctx_read() {
    Unit u{"ctx_read", {}, false};
    const CtxSlot& s = ctx_reads()[below(ctx_reads().size())];
    push(u, load_op(s.size, s.sign), scalar_reg(), kCtx, s.off);
    return u;
}

Unit Generator::ctx_write() {
    Unit u{"ctx_write", {}, false};
    const CtxSlot& s = ctx_writes()[below(ctx_writes().size())];
    const bool imm = chance(40);
    push(u, store_op(s.size, imm), kCtx, imm ? 0 : scalar_reg(), s.off, imm ? imm32() : 0);
    return u;
}

Unit Generator::ld_abs() {
    Unit u{"ld_abs", {}, false};
    static constexpr std::array<Op, 3> kOpsAbs{Op::LdAbs8, Op::LdAbs16, Op::LdAbs32};
    std::int32_t off = 0;
    switch (below(10)) {
        case 0: off = kSkfNetOff + static_cast<std::int32_t>(below(60)); break;
        case 1: off = kSkfLlOff + static_cast<std::int32_t>(below(74)); break;
        case 2: off = chance(50) ? static_cast<std::int32_t>(below(1600)) : imm32(); break;
        default: off = static_cast<std::int32_t>(below(60)); break;
    }
    push(u, kOpsAbs[below(3)], 0, 0, 0, off);
    reinit_args(u);
    return u;
}

Unit Generator::ld_ind() {
    Unit u{"ld_ind", {}, false};
    static constexpr std::array<Op, 3> kOpsInd{Op::LdInd8, Op::LdInd16, Op::LdInd32};
    const std::uint8_t x = kScalars[1 + below(kScalars.size() - 1)];
    if (!chance(10)) {
        std::int32_t base = static_cast<std::int32_t>(below(48));
        if (chance(15)) {
            base += chance(50) ? kSkfNetOff : kSkfLlOff;
        }
        push(u, chance(50) ? Op::Mov64Imm : Op::Mov32Imm, x, 0, 0, base);
    }
    push(u, kOpsInd[below(3)], 0, x, 0, static_cast<std::int32_t>(below(40)) - 8);
    reinit_args(u);
    return u;
}

Unit Generator::skb_load_bytes(State&) {
    const bool relative = chance(40);
    Unit u{relative ? "skb_load_bytes_relative" : "skb_load_bytes", {}, false};
    const auto len = static_cast<std::int32_t>(1 + below(16));
    const auto dst = static_cast<std::int32_t>(len + static_cast<std::int32_t>(below(static_cast<std::uint64_t>(kScratch - len + 1))));
    push(u, Op::Mov64Reg, 1, kCtx);
    if (chance(80)) {
        push(u, Op::Mov64Imm, 2, 0, 0, static_cast<std::int32_t>(below(90)));
    } else {
        push(u, Op::Mov64Reg, 2, chance(50) ? 7 : 8);
    }
    push(u, Op::Mov64Reg, 3, kFp);
    push(u, Op::Add64Imm, 3, 0, 0, -dst);
    push(u, Op::Mov64Imm, 4, 0, 0, len);
    if (relative) {
        push(u, Op::Mov64Imm, 5, 0, 0, chance(90) ? static_cast<std::int32_t>(below(2)) : 2);
    }
    push(u, Op::CallHelper, 0, 0, 0, relative ? kSkbLoadBytesRelative : kSkbLoadBytes);
    reinit_args(u);
    return u;
}

Unit Generator::sk_read() {
    // rY = ctx->sk; if rY == 0 goto end; loads through rY; end: rY = imm
    Unit u{"sk_read", {}, false};
    const auto y = static_cast<std::uint8_t>(1 + below(5));
    push(u, Op::Ldx64, y, kCtx, kSkPointer);
    const std::size_t n = 1 + below(3);
    push(u, Op::Jeq64Imm, y, 0, static_cast<std::int16_t>(n), 0);
    for (std::size_t i = 0; i < n; ++i) {
        const CtxSlot& s = sock_reads()[below(sock_reads().size())];
        std::uint8_t reg = scalar_reg();
        if (reg == y) {
            reg = 0;
        }
        push(u, load_op(s.size, false), reg, y, s.off);
    }
    push(u, Op::Mov64Imm, y, 0, 0, imm32());
    return u;
}

Unit Generator::strtol() {
    // A few characters on the stack, then strtol/strtoul(buf, len, flags, &res).
    const bool is_unsigned = chance(50);
    Unit u{is_unsigned ? "strtoul" : "strtol", {}, false};
    static constexpr std::string_view kChars = "0123456789abcdefxX-+ \t\n";
    const auto len = static_cast<std::int32_t>(1 + below(12));
    const auto buf = static_cast<std::int32_t>(len + static_cast<std::int32_t>(below(static_cast<std::uint64_t>(kScratch - len + 1))));
    for (std::int32_t i = 0; i < len; ++i) {
        if (chance(80)) {
            push(u, Op::St8, kFp, 0, static_cast<std::int16_t>(-buf + i),
                 i + 1 == len && chance(30) ? 0 : kChars[below(kChars.size())]);
        }
    }
    static constexpr std::array<std::int32_t, 6> kFlags{0, 8, 10, 16, 0, 3};
    const auto res = static_cast<std::int32_t>(8 * (1 + below(kScratch / 8)));
    push(u, Op::Mov64Reg, 1, kFp);
    push(u, Op::Add64Imm, 1, 0, 0, -buf);
    push(u, Op::Mov64Imm, 2, 0, 0, len);
    push(u, Op::Mov64Imm, 3, 0, 0, kFlags[below(kFlags.size())]);
    push(u, Op::Mov64Reg, 4, kFp);
    push(u, Op::Add64Imm, 4, 0, 0, -res);
    push(u, Op::CallHelper, 0, 0, 0, is_unsigned ? kStrtoul : kStrtol);
    reinit_args(u);
    return u;
}

Unit Generator::socket_uid() {
    Unit u{"get_socket_uid", {}, false};
    push(u, Op::Mov64Reg, 1, kCtx);
    push(u, Op::CallHelper, 0, 0, 0, kGetSocketUid);
    reinit_args(u);
    return u;
}

namespace {

/// r2 = fp - off, with a key of `size` bytes stored there first (sometimes left as it is).
void key_on_stack(Unit& u, std::uint8_t reg, std::int32_t off, std::uint32_t size, std::int32_t key, bool store) {
    if (store) {
        push(u, store_op(size == 8 ? 8 : 4, true), kFp, 0, static_cast<std::int16_t>(-off), key);
        if (size == 8) {
            push(u, Op::St32, kFp, 0, static_cast<std::int16_t>(-off + 4), 0);
        }
    }
    push(u, Op::Mov64Reg, reg, kFp);
    push(u, Op::Add64Imm, reg, 0, 0, -off);
}

}  // namespace

Unit Generator::map_lookup(State& st) {
    Unit u{"map_lookup", {}, false};
    const std::size_t m = below(st.maps.size());
    const program::MapSpec& spec = st.maps[m];
    const auto koff = static_cast<std::int32_t>(8 * (1 + below(kScratch / 8)));
    key_on_stack(u, 2, koff, spec.key_size, static_cast<std::int32_t>(below(spec.max_entries + 2)), chance(85));
    push_lddw(u, Op::LddwMapIdx, 1, static_cast<std::int32_t>(m), 0);
    push(u, Op::CallHelper, 0, 0, 0, kMapLookup);
    // if r0 == 0 goto end; value accesses through r0; end: r0 = imm
    Unit body{"", {}, false};
    const std::size_t n = 1 + below(4);
    for (std::size_t i = 0; i < n; ++i) {
        const auto reg = static_cast<std::uint8_t>(7 + below(3));  // r1-r5 are clobbered by the call
        switch (below(4)) {
            case 0: {
                const std::uint32_t size = 1U << below(4);
                const bool sign = size < 8 && chance(30);
                const auto off = static_cast<std::int16_t>(size * below(spec.value_size / size));
                push(body, load_op(size, sign), reg, 0, off);
                break;
            }
            case 1:
            case 2: {
                const std::uint32_t size = 1U << below(4);
                const auto off = static_cast<std::int16_t>(size * below(spec.value_size / size));
                const bool imm = chance(40);
                push(body, store_op(size, imm), 0, imm ? 0 : reg, off, imm ? imm32() : 0);
                break;
            }
            default: {
                Op op = atomic_ops()[below(atomic_ops().size())];
                if (op == Op::AtomicCmpxchg64) {
                    op = Op::AtomicXchg64;  // cmpxchg compares with r0, the value pointer here
                } else if (op == Op::AtomicCmpxchg32) {
                    op = Op::AtomicXchg32;
                }
                const std::uint32_t size = isa::info(op).size;
                push(body, op, 0, reg, static_cast<std::int16_t>(size * below(spec.value_size / size)));
                break;
            }
        }
    }
    if (chance(30)) {
        // A variable offset: r0 += rZ & mask, then a load the bounds keep inside the value.
        const std::uint32_t size = 1U << below(4);
        std::uint32_t room = 1;
        while (room * 2 + size - 1 <= spec.value_size) {
            room *= 2;
        }
        const auto z = static_cast<std::uint8_t>(7 + below(3));
        push(body, Op::And64Imm, z, 0, 0, static_cast<std::int32_t>(room - 1));
        push(body, Op::Add64Reg, 0, z);
        push(body, load_op(size, size < 8 && chance(30)), z, 0, 0);
    }
    push(u, Op::Jeq64Imm, 0, 0, static_cast<std::int16_t>(body.insns.size()), 0);
    u.insns.insert(u.insns.end(), body.insns.begin(), body.insns.end());
    push(u, Op::Mov64Imm, 0, 0, 0, imm32());
    reinit_args(u);
    return u;
}

Unit Generator::map_update(State& st) {
    Unit u{"map_update", {}, false};
    const std::size_t m = below(st.maps.size());
    const program::MapSpec& spec = st.maps[m];
    const auto koff = static_cast<std::int32_t>(8 * (1 + below(kScratch / 8)));
    key_on_stack(u, 2, koff, spec.key_size, static_cast<std::int32_t>(below(spec.max_entries + 2)), chance(85));
    const auto voff = static_cast<std::int32_t>(spec.value_size + 8 * below((kScratch - spec.value_size) / 8 + 1));
    push(u, Op::Mov64Reg, 3, kFp);
    push(u, Op::Add64Imm, 3, 0, 0, -voff);
    static constexpr std::array<std::int32_t, 6> kFlags{0, 0, 0, 1, 2, 4};
    push(u, Op::Mov64Imm, 4, 0, 0, kFlags[below(kFlags.size())]);
    push_lddw(u, Op::LddwMapIdx, 1, static_cast<std::int32_t>(m), 0);
    push(u, Op::CallHelper, 0, 0, 0, kMapUpdate);
    reinit_args(u);
    return u;
}

Unit Generator::map_delete(State& st) {
    Unit u{"map_delete", {}, false};
    const std::size_t m = below(st.maps.size());
    const program::MapSpec& spec = st.maps[m];
    const auto koff = static_cast<std::int32_t>(8 * (1 + below(kScratch / 8)));
    key_on_stack(u, 2, koff, spec.key_size, static_cast<std::int32_t>(below(spec.max_entries + 2)), chance(85));
    push_lddw(u, Op::LddwMapIdx, 1, static_cast<std::int32_t>(m), 0);
    push(u, Op::CallHelper, 0, 0, 0, kMapDelete);
    reinit_args(u);
    return u;
}

Unit Generator::map_value(State& st) {
    // rY = &value[0] + base of an array map; accesses through rY; rY = imm
    Unit u{"map_value", {}, false};
    const std::size_t m = st.arrays[below(st.arrays.size())];
    const program::MapSpec& spec = st.maps[m];
    const std::uint8_t y = static_cast<std::uint8_t>(1 + below(5));
    const auto base = static_cast<std::int32_t>(8 * below(spec.value_size / 8));
    push_lddw(u, Op::LddwMapIdxValue, y, static_cast<std::int32_t>(m), base);
    const auto room = static_cast<std::uint32_t>(spec.value_size - static_cast<std::uint32_t>(base));
    const std::size_t n = 1 + below(3);
    for (std::size_t i = 0; i < n; ++i) {
        std::uint8_t reg = scalar_reg();
        if (reg == y) {
            reg = 0;
        }
        switch (below(3)) {
            case 0: {
                const std::uint32_t size = 1U << below(4);
                const bool sign = size < 8 && chance(30);
                push(u, load_op(size, sign), reg, y, static_cast<std::int16_t>(size * below(room / size)));
                break;
            }
            case 1: {
                const std::uint32_t size = 1U << below(4);
                const bool imm = chance(40);
                push(u, store_op(size, imm), y, imm ? 0 : reg, static_cast<std::int16_t>(size * below(room / size)),
                     imm ? imm32() : 0);
                break;
            }
            default: {
                const Op op = atomic_ops()[below(atomic_ops().size())];
                const std::uint32_t size = isa::info(op).size;
                push(u, op, y, reg, static_cast<std::int16_t>(size * below(room / size)));
                break;
            }
        }
    }
    push(u, Op::Mov64Imm, y, 0, 0, imm32());
    return u;
}

Unit Generator::call(std::size_t callee) {
    Unit u{"call", {}, false};
    push(u, Op::Mov64Reg, 1, kCtx);
    GenInsn c = G(Op::CallLocal);
    c.target = static_cast<std::int32_t>(callee);
    u.insns.push_back(c);
    reinit_args(u);
    return u;
}

Unit Generator::prologue(bool entry) {
    Unit u{"prologue", {}, true};
    push(u, Op::Mov64Reg, kCtx, 1);
    for (std::uint8_t r : kScalars) {
        if (!entry && r >= 2 && r <= 5 && chance(50)) {
            continue;  // the caller's argument stays
        }
        if (chance(10)) {
            const std::uint64_t v = rng_();
            push_lddw(u, Op::Lddw, r, static_cast<std::int32_t>(static_cast<std::uint32_t>(v)),
                      static_cast<std::int32_t>(static_cast<std::uint32_t>(v >> 32)));
        } else {
            push(u, chance(50) ? Op::Mov64Imm : Op::Mov32Imm, r, 0, 0, imm32());
        }
    }
    for (std::int32_t off = 8; off <= kScratch; off += 8) {
        if (chance(50)) {
            push(u, Op::St64, kFp, 0, static_cast<std::int16_t>(-off), imm32());
        } else {
            push(u, Op::Stx64, kFp, kScalars[below(kScalars.size())], static_cast<std::int16_t>(-off));
        }
    }
    return u;
}

Unit Generator::epilogue() {
    Unit u{"epilogue", {}, true};
    const std::size_t n = below(4);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t r = kScalars[1 + below(kScalars.size() - 1)];
        push(u, chance(50) ? Op::Xor64Reg : Op::Add64Reg, 0, r);
    }
    // Fold the high half into the 32 bits test-run returns.
    push(u, Op::Mov64Reg, 1, 0);
    push(u, Op::Rsh64Imm, 1, 0, 0, 32);
    push(u, Op::Xor64Reg, 0, 1);
    push(u, Op::Exit);
    return u;
}

Unit Generator::unit(State& st, std::size_t fn, std::size_t nfunctions, std::size_t pos, std::size_t count) {
    for (;;) {
        switch (below(24)) {
            case 0:
            case 1:
            case 2:
            case 3:
            case 4: return alu();
            case 5:
            case 6: return cond_jump(pos, count);
            case 7: return if_else();
            case 8:
                if (chance(40)) {
                    return loop();
                }
                break;
            case 9: return stack_store(st);
            case 10: return stack_load(st);
            case 11: return stack_atomic(st);
            case 12:
            case 13: return ctx_read();
            case 14: return ctx_write();
            case 15:
                if (st.ld_abs_allowed) {
                    return ld_abs();
                }
                break;
            case 16:
                if (st.ld_abs_allowed) {
                    return ld_ind();
                }
                break;
            case 17: return skb_load_bytes(st);
            case 18:
                switch (below(6)) {
                    case 0: return socket_uid();
                    case 1:
                    case 2: return sk_read();
                    case 3: return strtol();
                    default: break;
                }
                break;
            case 19:
                if (!st.maps.empty()) {
                    return map_lookup(st);
                }
                break;
            case 20:
                if (!st.maps.empty()) {
                    return map_update(st);
                }
                break;
            case 21:
                if (!st.maps.empty() && chance(50)) {
                    return map_delete(st);
                }
                break;
            case 22:
                if (!st.arrays.empty()) {
                    return map_value(st);
                }
                break;
            default:
                if (fn + 1 < nfunctions) {
                    return call(fn + 1 + below(nfunctions - fn - 1));
                }
                break;
        }
    }
}

Function Generator::function(State& st, std::size_t fn, std::size_t nfunctions) {
    Function f;
    const std::size_t body = fn == 0 ? 4 + below(options_.max_units - 3) : 2 + below(10);
    // The entry calls every other function at least once, so none is unreachable.
    std::vector<std::size_t> callee_at(body, 0);
    if (fn == 0) {
        for (std::size_t callee = 1; callee < nfunctions; ++callee) {
            std::size_t pos = below(body);
            while (callee_at[pos] != 0) {
                pos = (pos + 1) % body;
            }
            callee_at[pos] = callee;
        }
    }
    f.units.push_back(prologue(fn == 0));
    for (std::size_t i = 0; i < body; ++i) {
        f.units.push_back(callee_at[i] != 0 ? call(callee_at[i]) : unit(st, fn, nfunctions, i + 1, body + 1));
    }
    f.units.push_back(epilogue());
    return f;
}

Packet Generator::packet() {
    Packet p;
    auto& f = p.frame;
    static constexpr std::array<std::array<std::uint8_t, 6>, 4> kDst{{{0, 0, 0, 0, 0, 0},
                                                                      {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                                                                      {0x33, 0x33, 0, 0, 0, 1},
                                                                      {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}}};
    const auto& dst = kDst[below(kDst.size())];
    f.assign(dst.begin(), dst.end());
    for (int b : {0x02, 0x11, 0x22, 0x33, 0x44, 0x55}) {
        f.push_back(static_cast<std::uint8_t>(b));
    }
    std::size_t size = 0;
    switch (below(5)) {
        case 0:
        case 1: {  // IPv4
            f.insert(f.end(), {0x08, 0x00});
            size = 34 + below(chance(10) ? 1500 : 90);
            const std::uint8_t proto = std::array<std::uint8_t, 4>{6, 17, 1, 47}[below(4)];
            const auto total = static_cast<std::uint16_t>(size - 14);
            f.insert(f.end(), {static_cast<std::uint8_t>(chance(90) ? 0x45 : 0x46), 0, static_cast<std::uint8_t>(total >> 8),
                               static_cast<std::uint8_t>(total), 0x12, 0x34, 0x40, 0, 64, proto, 0xab, 0xcd, 198, 18, 0, 1,
                               198, 18, 0, 2});
            break;
        }
        case 2: {  // IPv6
            f.insert(f.end(), {0x86, 0xdd});
            size = 54 + below(chance(10) ? 1400 : 80);
            const auto payload = static_cast<std::uint16_t>(size - 54);
            f.insert(f.end(), {0x60, 0x01, 0x23, 0x45, static_cast<std::uint8_t>(payload >> 8),
                               static_cast<std::uint8_t>(payload), static_cast<std::uint8_t>(chance(50) ? 17 : 6), 64});
            for (int i = 0; i < 32; ++i) {
                f.push_back(static_cast<std::uint8_t>(i % 16 == 0 ? 0x20 : i % 16 == 1 ? 0x01 : i % 16 == 2 ? 0 : i % 16 == 3 ? 2 : below(256)));
            }
            break;
        }
        case 3:  // ARP
            f.insert(f.end(), {0x08, 0x06});
            size = 14 + below(48);
            break;
        default:  // the local experimental ethertype, any length
            f.insert(f.end(), {0x88, 0xb5});
            size = 14 + below(40);
            break;
    }
    while (f.size() < size) {
        f.push_back(static_cast<std::uint8_t>(rng_()));
    }
    f.resize(size);
    if (chance(30)) {
        auto& c = p.ctx;
        if (chance(50)) {
            c.mark = static_cast<std::uint32_t>(rng_());
        }
        if (chance(50)) {
            c.priority = static_cast<std::uint32_t>(rng_());
        }
        if (chance(30)) {
            c.ingress_ifindex = static_cast<std::uint32_t>(below(16));
        }
        if (chance(30)) {
            c.gso_segs = static_cast<std::uint32_t>(below(0x10000));
        }
        if (chance(30)) {
            c.gso_size = static_cast<std::uint32_t>(below(0x10000));
        }
        for (auto& cb : c.cb) {
            if (chance(40)) {
                cb = static_cast<std::uint32_t>(rng_());
            }
        }
    }
    return p;
}

Case Generator::next() {
    Case c;
    c.seed = seed_;
    c.index = index_++;
    State st;
    const std::size_t nmaps = below(3);
    for (std::size_t i = 0; i < nmaps; ++i) {
        program::MapSpec m;
        const bool array = chance(50);
        m.name = fmt::format("m{}", i);
        m.type = array ? program::MapType::Array : program::MapType::Hash;
        m.key_size = array || chance(50) ? 4 : 8;
        m.value_size = static_cast<std::uint32_t>(8 * (1 + below(4)));
        m.max_entries = array && chance(40) ? 1 : static_cast<std::uint32_t>(1 + below(8));
        if (array && m.max_entries == 1) {  // direct value access needs a single-element array
            st.arrays.push_back(st.maps.size());
        }
        st.maps.push_back(m);
    }
    const std::size_t nfunctions = chance(25) ? 2 + below(2) : 1;
    st.ld_abs_allowed = nfunctions == 1;  // "LD_ABS is not allowed in subprogs without BTF"
    for (std::size_t fn = 0; fn < nfunctions; ++fn) {
        c.functions.push_back(function(st, fn, nfunctions));
    }
    c.maps = st.maps;
    for (std::size_t i = 0; i < options_.packets; ++i) {
        c.packets.push_back(packet());
    }
    return c;
}

program::Program layout(const Case& c) {
    std::vector<std::vector<std::size_t>> unit_pc(c.functions.size());
    std::vector<std::size_t> fn_pc;
    std::size_t pc = 0;
    for (std::size_t f = 0; f < c.functions.size(); ++f) {
        fn_pc.push_back(pc);
        for (const Unit& u : c.functions[f].units) {
            unit_pc[f].push_back(pc);
            pc += slots(u);
        }
        unit_pc[f].push_back(pc);  // the end of the function
    }
    std::vector<isa::Insn> out;
    out.reserve(pc);
    for (std::size_t f = 0; f < c.functions.size(); ++f) {
        for (const Unit& u : c.functions[f].units) {
            for (const GenInsn& in : u.insns) {
                isa::Insn s = in.insn;
                if (in.target >= 0) {
                    const auto here = static_cast<std::int64_t>(out.size()) + 1;
                    const bool local_call = is_local_call(s);
                    const auto target = static_cast<std::int64_t>(
                        local_call ? fn_pc[static_cast<std::size_t>(in.target)]
                                   : unit_pc[f][static_cast<std::size_t>(in.target)]);
                    if (local_call || s.opcode == isa::info(Op::Ja32).opcode) {
                        s.imm = static_cast<std::int32_t>(target - here);
                    } else {
                        s.off = static_cast<std::int16_t>(target - here);
                    }
                }
                out.push_back(s);
            }
        }
    }
    auto p = program::Program::from_slots(fmt::format("gen_{}_{}", c.seed, c.index), std::move(out));
    if (!p) {
        fmt::print(stderr, "generator produced an invalid program: {}\n", p.error().render());
    }
    SF_ASSERT(p.has_value());
    return std::move(*p);
}

program::Object to_object(const Case& c) {
    program::Object obj;
    obj.path = fmt::format("gen/{}-{}", c.seed, c.index);
    obj.license = "GPL";
    obj.programs.push_back(program::ObjectProgram{layout(c), "socket", {}, {}});
    obj.maps = c.maps;
    return obj;
}

namespace {

/// Drops functions no remaining call names (they would be unreachable code) and renumbers calls.
void drop_uncalled(Case& c) {
    for (std::size_t f = c.functions.size(); f-- > 1;) {  // restarts after each drop
        bool called = false;
        for (const Function& fn : c.functions) {
            for (const Unit& u : fn.units) {
                for (const GenInsn& in : u.insns) {
                    called = called || (is_local_call(in.insn) && in.target == static_cast<std::int32_t>(f));
                }
            }
        }
        if (called) {
            continue;
        }
        c.functions.erase(c.functions.begin() + static_cast<std::ptrdiff_t>(f));
        for (Function& fn : c.functions) {
            for (Unit& u : fn.units) {
                for (GenInsn& in : u.insns) {
                    if (is_local_call(in.insn) && in.target > static_cast<std::int32_t>(f)) {
                        --in.target;
                    }
                }
            }
        }
        f = c.functions.size();
    }
}

}  // namespace

Case without_unit(const Case& c, std::size_t fn, std::size_t unit) {
    Case out = c;
    auto& units = out.functions[fn].units;
    SF_ASSERT(unit < units.size() && !units[unit].fixed);
    units.erase(units.begin() + static_cast<std::ptrdiff_t>(unit));
    for (Unit& u : units) {
        for (GenInsn& in : u.insns) {
            if (in.target > static_cast<std::int32_t>(unit) && !is_local_call(in.insn)) {
                --in.target;
            }
        }
    }
    drop_uncalled(out);
    return out;
}

std::string op_class(isa::Op op) {
    const isa::OpInfo& oi = isa::info(op);
    switch (oi.format) {
        case isa::Format::Atomic: return "ATOMIC";
        case isa::Format::LdAbs:
        case isa::Format::LdInd: return "LD (abs/ind)";
        case isa::Format::Lddw: return "LD (imm64)";
        default: break;
    }
    switch (oi.cls()) {
        case isa::kAlu: return "ALU";
        case isa::kAlu64: return "ALU64";
        case isa::kJmp: return "JMP";
        case isa::kJmp32: return "JMP32";
        case isa::kLdx: return "LDX";
        case isa::kSt: return "ST";
        case isa::kStx: return "STX";
        default: return "LD";
    }
}

namespace {

const std::array<std::string, 10> kClasses{"ALU", "ALU64", "JMP", "JMP32", "LD (imm64)", "LD (abs/ind)",
                                           "LDX", "ST", "STX", "ATOMIC"};

/// Operations a generated socket filter can contain (not kfunc calls, callx, fd-based map
/// references, BTF ids and callbacks, which the generator does not make).
bool generated_op(Op op) {
    switch (op) {
        case Op::CallKfunc:
        case Op::Callx:
        case Op::LddwMapFd:
        case Op::LddwMapValue:
        case Op::LddwBtfId:
        case Op::LddwFunc: return false;
        default: return true;
    }
}

}  // namespace

void Coverage::add(const program::Program& prog) {
    const runtime::ProgType& t = runtime::socket_filter();
    for (std::size_t pc = 0; pc < prog.size(); ++pc) {
        if (prog.is_lddw_tail(pc)) {
            continue;
        }
        const Op op = prog.op(pc);
        const isa::Insn& in = prog.slots()[pc];
        ++ops_[op];
        if (op == Op::CallHelper) {
            ++helpers_[in.imm];
        }
        const auto f = isa::info(op).format;
        if ((f == isa::Format::Ldx || f == isa::Format::Ldsx) && in.src == kCtx) {
            if (const runtime::CtxField* field = t.field_at(in.off)) {
                ++ctx_fields_[std::string(field->name)];
            }
        }
        if ((f == isa::Format::St || f == isa::Format::Stx) && in.dst == kCtx) {
            if (const runtime::CtxField* field = t.field_at(in.off)) {
                ++ctx_fields_[std::string(field->name) + " (write)"];
            }
        }
    }
}

std::vector<std::string> Coverage::missing_classes() const {
    std::vector<std::string> out;
    for (const std::string& cls : kClasses) {
        const bool seen = std::any_of(ops_.begin(), ops_.end(), [&](const auto& kv) { return op_class(kv.first) == cls; });
        if (!seen) {
            out.push_back(cls);
        }
    }
    return out;
}

std::vector<std::string> Coverage::missing_ops() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < isa::kNumOps; ++i) {
        const auto op = static_cast<Op>(i);
        if (generated_op(op) && ops_.count(op) == 0) {
            out.emplace_back(isa::info(op).name);
        }
    }
    return out;
}

std::string Coverage::report() const {
    std::map<std::string, std::pair<std::size_t, std::uint64_t>> per_class;  // distinct ops, instructions
    for (const auto& [op, n] : ops_) {
        auto& e = per_class[op_class(op)];
        ++e.first;
        e.second += n;
    }
    std::string out = "instruction classes (distinct operations, instructions):\n";
    for (const std::string& cls : kClasses) {
        const auto it = per_class.find(cls);
        out += fmt::format("  {:<13} {:>3} {:>9}\n", cls, it == per_class.end() ? 0 : it->second.first,
                           it == per_class.end() ? 0 : it->second.second);
    }
    std::size_t generated = 0;
    for (std::size_t i = 0; i < isa::kNumOps; ++i) {
        generated += generated_op(static_cast<Op>(i)) ? 1 : 0;
    }
    out += fmt::format("operations: {} of {} seen\n", generated - missing_ops().size(), generated);
    out += "helpers:";
    for (const auto& [id, n] : helpers_) {
        out += fmt::format(" #{} x{}", id, n);
    }
    out += fmt::format("\ncontext fields ({}):", ctx_fields_.size());
    for (const auto& [name, n] : ctx_fields_) {
        out += fmt::format(" {} x{}", name, n);
    }
    out += "\n";
    return out;
}

std::string format_ctx(const runtime::CtxOverrides& ctx) {
    std::vector<std::string> parts;
    auto add = [&](const char* key, const std::optional<std::uint32_t>& v) {
        if (v) {
            parts.push_back(fmt::format("{}={:#x}", key, *v));
        }
    };
    add("mark", ctx.mark);
    add("priority", ctx.priority);
    add("ingress_ifindex", ctx.ingress_ifindex);
    add("ifindex", ctx.ifindex);
    add("gso_segs", ctx.gso_segs);
    add("gso_size", ctx.gso_size);
    for (std::size_t i = 0; i < ctx.cb.size(); ++i) {
        add(fmt::format("cb{}", i).c_str(), ctx.cb[i]);
    }
    return fmt::format("{}", fmt::join(parts, ","));
}

}  // namespace sockfilter::gen
