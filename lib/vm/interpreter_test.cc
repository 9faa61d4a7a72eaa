// SPDX-License-Identifier: MIT
// Interpreter semantics per operation (ALU, byte order, jumps, lddw, memory, atomics), the
// pre-decoded form, and the run limits (budget, trace, checked mode).
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "vm/vm_test_util.h"

namespace sockfilter::vm::testing {
namespace {

constexpr std::uint64_t kIntMin64 = 0x8000000000000000ULL;

/// r0 of `mov r0, a; <op> r0, b (imm); exit`.
std::uint64_t alu_imm(Op op, std::uint64_t a, std::int32_t b) {
    Code c;
    c.lddw(0, a) << I(op, 0, 0, 0, b) << I(Op::Exit);
    return r0_of(c);
}

/// r0 of `r0 = a; r1 = b; <op> r0, r1; exit`.
std::uint64_t alu_reg(Op op, std::uint64_t a, std::uint64_t b) {
    Code c;
    c.lddw(0, a).lddw(1, b) << I(op, 0, 1) << I(Op::Exit);
    return r0_of(c);
}

TEST(Alu, Add64AndAdd32ZeroExtends) {
    EXPECT_EQ(alu_imm(Op::Add64Imm, 0xffffffff, 1), 0x100000000ULL);
    EXPECT_EQ(alu_imm(Op::Add32Imm, 0xffffffff, 1), 0u);
    EXPECT_EQ(alu_imm(Op::Add32Imm, 0xdeadbeef00000001ULL, 1), 2u);
    EXPECT_EQ(alu_imm(Op::Add64Imm, 0, -1), 0xffffffffffffffffULL);  // imm sign-extends
    EXPECT_EQ(alu_reg(Op::Sub32Reg, 0, 1), 0xffffffffULL);
    EXPECT_EQ(alu_reg(Op::Sub64Reg, 0, 1), 0xffffffffffffffffULL);
    EXPECT_EQ(alu_reg(Op::Mul32Reg, 0x100000002ULL, 0x80000001ULL), 0x2u);
    EXPECT_EQ(alu_imm(Op::Mul64Imm, 3, -2), static_cast<std::uint64_t>(-6));
    EXPECT_EQ(alu_imm(Op::Mov32Imm, 0xffffffffffffffffULL, -1), 0xffffffffULL);
    EXPECT_EQ(alu_imm(Op::Mov64Imm, 0, -1), 0xffffffffffffffffULL);
    EXPECT_EQ(alu_reg(Op::Mov32Reg, 0, 0x123456789ULL), 0x23456789ULL);
    EXPECT_EQ(alu_reg(Op::Or32Reg, 0xffffffff00000000ULL, 1), 1u);
    EXPECT_EQ(alu_reg(Op::And32Reg, 0xffffffffffffffffULL, 0xffffffff0000ffffULL), 0xffffu);
    EXPECT_EQ(alu_reg(Op::Xor32Reg, 0xffffffff00000000ULL, 0), 0u);
    EXPECT_EQ(alu_imm(Op::Neg32, 0x100000001ULL, 0), 0xffffffffULL);
    EXPECT_EQ(alu_imm(Op::Neg64, 1, 0), 0xffffffffffffffffULL);
    EXPECT_EQ(alu_imm(Op::Neg64, kIntMin64, 0), kIntMin64);
}

TEST(Alu, DivModByZero) {
    EXPECT_EQ(alu_reg(Op::Div64Reg, 7, 0), 0u);
    EXPECT_EQ(alu_reg(Op::Mod64Reg, 0xffffffff00000007ULL, 0), 0xffffffff00000007ULL);
    EXPECT_EQ(alu_reg(Op::Div32Reg, 7, 0), 0u);
    EXPECT_EQ(alu_reg(Op::Mod32Reg, 0xffffffff00000007ULL, 0), 7u);  // (u32)x
    EXPECT_EQ(alu_reg(Op::Div32Reg, 7, 0x100000000ULL), 0u);           // divisor's low half is 0
    EXPECT_EQ(alu_imm(Op::Div64Imm, 0xffffffffffffffffULL, -1), 1u);  // imm is sign-extended, unsigned divide
    EXPECT_EQ(alu_imm(Op::Div32Imm, 0xffffffff, -1), 1u);
    EXPECT_EQ(alu_imm(Op::Mod64Imm, 10, 3), 1u);
    EXPECT_EQ(alu_imm(Op::Mod32Imm, 0x10000000aULL, 3), 1u);
}

TEST(Alu, SignedDivMod) {
    EXPECT_EQ(alu_imm(Op::Sdiv64Imm, kIntMin64, -1), kIntMin64);
    EXPECT_EQ(alu_reg(Op::Sdiv64Reg, kIntMin64, static_cast<std::uint64_t>(-1)), kIntMin64);
    EXPECT_EQ(alu_imm(Op::Smod64Imm, kIntMin64, -1), 0u);
    EXPECT_EQ(alu_reg(Op::Smod64Reg, kIntMin64, static_cast<std::uint64_t>(-1)), 0u);
    EXPECT_EQ(alu_reg(Op::Sdiv32Reg, 0x80000000u, 0xffffffffu), 0x80000000u);
    EXPECT_EQ(alu_imm(Op::Sdiv32Imm, 0x80000000u, -1), 0x80000000u);
    EXPECT_EQ(alu_reg(Op::Smod32Reg, 0x80000000u, 0xffffffffu), 0u);
    EXPECT_EQ(alu_imm(Op::Smod32Imm, 0x80000000u, -1), 0u);
    EXPECT_EQ(alu_reg(Op::Sdiv64Reg, static_cast<std::uint64_t>(-10), 0), 0u);
    EXPECT_EQ(alu_reg(Op::Smod64Reg, static_cast<std::uint64_t>(-10), 0), static_cast<std::uint64_t>(-10));
    EXPECT_EQ(alu_reg(Op::Smod32Reg, static_cast<std::uint64_t>(-10), 0), 0xfffffff6u);
    EXPECT_EQ(alu_imm(Op::Sdiv64Imm, static_cast<std::uint64_t>(-10), 3), static_cast<std::uint64_t>(-3));
    EXPECT_EQ(alu_imm(Op::Smod64Imm, static_cast<std::uint64_t>(-10), 3), static_cast<std::uint64_t>(-1));
    EXPECT_EQ(alu_imm(Op::Smod64Imm, 10, -3), 1u);
    EXPECT_EQ(alu_imm(Op::Sdiv32Imm, static_cast<std::uint32_t>(-10), 3), static_cast<std::uint32_t>(-3));
    EXPECT_EQ(alu_imm(Op::Smod32Imm, static_cast<std::uint32_t>(-10), -3), static_cast<std::uint32_t>(-1));
}

TEST(Alu, ShiftCountsAreMasked) {
    EXPECT_EQ(alu_imm(Op::Lsh64Imm, 1, 65), 2u);
    EXPECT_EQ(alu_reg(Op::Lsh64Reg, 1, 64 + 63), 0x8000000000000000ULL);
    EXPECT_EQ(alu_reg(Op::Lsh32Reg, 1, 33), 2u);
    EXPECT_EQ(alu_reg(Op::Lsh32Reg, 0xffffffffffffffffULL, 4), 0xfffffff0u);
    EXPECT_EQ(alu_reg(Op::Rsh32Reg, 0xffffffffffffffffULL, 32 + 4), 0x0fffffffu);
    EXPECT_EQ(alu_imm(Op::Rsh64Imm, 0x8000000000000000ULL, 63), 1u);
    EXPECT_EQ(alu_reg(Op::Rsh64Reg, 0x10, 64 + 4), 1u);
    EXPECT_EQ(alu_imm(Op::Arsh64Imm, 0x8000000000000000ULL, 63), 0xffffffffffffffffULL);
    EXPECT_EQ(alu_reg(Op::Arsh64Reg, 0x8000000000000000ULL, 64 + 60), 0xfffffffffffffff8ULL);
    EXPECT_EQ(alu_imm(Op::Arsh32Imm, 0x80000000u, 31), 0xffffffffu);  // zero-extended
    EXPECT_EQ(alu_reg(Op::Arsh32Reg, 0xffffffff80000000ULL, 32 + 4), 0xf8000000u);
}

TEST(Alu, MovSignExtend) {
    EXPECT_EQ(alu_reg(Op::Movsx64_8, 0, 0x180), 0xffffffffffffff80ULL);
    EXPECT_EQ(alu_reg(Op::Movsx64_16, 0, 0x18000), 0xffffffffffff8000ULL);
    EXPECT_EQ(alu_reg(Op::Movsx64_32, 0, 0x180000000ULL), 0xffffffff80000000ULL);
    EXPECT_EQ(alu_reg(Op::Movsx64_32, 0, 0x7fffffff), 0x7fffffffu);
    EXPECT_EQ(alu_reg(Op::Movsx32_8, 0, 0x80), 0xffffff80u);
    EXPECT_EQ(alu_reg(Op::Movsx32_16, 0, 0xffff8000ULL), 0xffff8000u);
    EXPECT_EQ(alu_reg(Op::Movsx32_16, 0, 0x7fff), 0x7fffu);
}

TEST(Alu, ByteOrder) {
    const std::uint64_t v = 0x0123456789abcdefULL;
    EXPECT_EQ(alu_imm(Op::Le16, v, 0), 0xcdefu);
    EXPECT_EQ(alu_imm(Op::Le32, v, 0), 0x89abcdefu);
    EXPECT_EQ(alu_imm(Op::Le64, v, 0), v);
    EXPECT_EQ(alu_imm(Op::Be16, v, 0), 0xefcdu);
    EXPECT_EQ(alu_imm(Op::Be32, v, 0), 0xefcdab89u);
    EXPECT_EQ(alu_imm(Op::Be64, v, 0), 0xefcdab8967452301ULL);
    EXPECT_EQ(alu_imm(Op::Bswap16, v, 0), 0xefcdu);
    EXPECT_EQ(alu_imm(Op::Bswap32, v, 0), 0xefcdab89u);
    EXPECT_EQ(alu_imm(Op::Bswap64, v, 0), 0xefcdab8967452301ULL);
}

/// 1 if `<op> r1, (imm or r2)` jumps with r1 = a and r2 / imm = b, else 0.
std::uint64_t jumps(Op op, std::uint64_t a, std::uint64_t b) {
    const bool reg = isa::info(op).src_reg();
    Code c;
    c.lddw(1, a).lddw(2, b) << I(Op::Mov64Imm, 0, 0, 0, 1)
                            << I(op, 1, reg ? 2 : 0, 1, reg ? 0 : static_cast<std::int32_t>(b))
                            << I(Op::Mov64Imm, 0, 0, 0, 0) << I(Op::Exit);
    return r0_of(c);
}

TEST(Jump, Compares64) {
    EXPECT_EQ(jumps(Op::Jeq64Imm, 5, 5), 1u);
    EXPECT_EQ(jumps(Op::Jeq64Imm, 0xffffffffffffffffULL, static_cast<std::uint32_t>(-1)), 1u);  // imm sign-extends
    EXPECT_EQ(jumps(Op::Jeq64Reg, 0x100000005ULL, 5), 0u);
    EXPECT_EQ(jumps(Op::Jgt64Reg, 0xffffffffffffffffULL, 1), 1u);
    EXPECT_EQ(jumps(Op::Jsgt64Reg, 0xffffffffffffffffULL, 1), 0u);
    EXPECT_EQ(jumps(Op::Jsge64Reg, 1, 1), 1u);
    EXPECT_EQ(jumps(Op::Jge64Imm, 0, 1), 0u);
    EXPECT_EQ(jumps(Op::Jlt64Reg, 1, 0xffffffffffffffffULL), 1u);
    EXPECT_EQ(jumps(Op::Jslt64Reg, 1, 0xffffffffffffffffULL), 0u);
    EXPECT_EQ(jumps(Op::Jle64Reg, 2, 2), 1u);
    EXPECT_EQ(jumps(Op::Jsle64Imm, 0xfffffffffffffffeULL, 0xffffffff), 1u);  // -2 <= -1
    EXPECT_EQ(jumps(Op::Jslt64Imm, 0xfffffffffffffffeULL, 0xffffffff), 1u);
    EXPECT_EQ(jumps(Op::Jset64Reg, 0x100000000ULL, 0x100000000ULL), 1u);
    EXPECT_EQ(jumps(Op::Jset64Imm, 2, 1), 0u);
    EXPECT_EQ(jumps(Op::Jne64Reg, 0x100000000ULL, 0), 1u);
    EXPECT_EQ(jumps(Op::Jne64Imm, 3, 3), 0u);
}

TEST(Jump, Jmp32ComparesLowHalves) {
    EXPECT_EQ(jumps(Op::Jeq32Reg, 0xdead000000000005ULL, 5), 1u);
    EXPECT_EQ(jumps(Op::Jeq32Imm, 0x1ffffffffULL, 0xffffffff), 1u);
    EXPECT_EQ(jumps(Op::Jne32Imm, 0x100000000ULL, 0), 0u);
    EXPECT_EQ(jumps(Op::Jgt32Reg, 0x100000000ULL, 0x0ffffffffULL), 0u);
    EXPECT_EQ(jumps(Op::Jge32Reg, 0x80000000ULL, 1), 1u);
    EXPECT_EQ(jumps(Op::Jsgt32Reg, 0x80000000ULL, 1), 0u);
    EXPECT_EQ(jumps(Op::Jsge32Imm, 0xffffffff00000000ULL, 0), 1u);
    EXPECT_EQ(jumps(Op::Jlt32Reg, 0x1ULL, 0x100000002ULL), 1u);
    EXPECT_EQ(jumps(Op::Jle32Imm, 0x500000000ULL, 0), 1u);
    EXPECT_EQ(jumps(Op::Jslt32Reg, 0xffffffffULL, 0), 1u);
    EXPECT_EQ(jumps(Op::Jsle32Imm, 0x1fffffffeULL, 0xfffffffe), 1u);
    EXPECT_EQ(jumps(Op::Jset32Reg, 0x100000000ULL, 0x100000000ULL), 0u);
    EXPECT_EQ(jumps(Op::Jset32Imm, 0x1000000f0ULL, 0x10), 1u);
    EXPECT_EQ(jumps(Op::Jne32Reg, 0x100000001ULL, 1), 0u);
}

TEST(Jump, JaAndJa32) {
    Code c{I(Op::Mov64Imm, 0, 0, 0, 1), I(Op::Ja, 0, 0, 1), I(Op::Mov64Imm, 0, 0, 0, 2),
           I(Op::Ja32, 0, 0, 0, 1), I(Op::Mov64Imm, 0, 0, 0, 3), I(Op::Exit)};
    EXPECT_EQ(r0_of(c), 1u);
}

TEST(Lddw, LoadsAll64Bits) {
    Code c;
    c.lddw(0, 0x8000000180000002ULL) << I(Op::Exit);
    EXPECT_EQ(r0_of(c), 0x8000000180000002ULL);
}

TEST(Lddw, MapPseudoSourcesFaultWithTheirName) {
    Code c;
    c.lddw(1, 3, Op::LddwMapFd) << I(Op::Mov64Imm) << I(Op::Exit);
    const Outcome o = run_raw(c);
    EXPECT_EQ(o.result.status, ExecStatus::BadCall);
    EXPECT_EQ(o.result.pc, 0u);
    EXPECT_EQ(o.message, "pc 0: lddw with src=1 (BPF_PSEUDO_MAP_FD) names a map this run was not given");
    Code b;
    b.lddw(1, 3, Op::LddwBtfId) << I(Op::Mov64Imm) << I(Op::Exit);
    EXPECT_EQ(run_raw(b).message, "pc 0: lddw with src=3 (BPF_PSEUDO_BTF_ID) needs kernel BTF, which is not available");
}

TEST(Memory, LoadsStoresAndSignExtendingLoads) {
    std::vector<std::uint8_t> mem = {0x80, 0xff, 0x01, 0x80, 0xaa, 0xbb, 0xcc, 0xdd};
    auto load = [&](Op op, std::int16_t off) {
        Code c{I(op, 0, 1, off), I(Op::Exit)};
        return r0_of(c, mem);
    };
    EXPECT_EQ(load(Op::Ldx8, 0), 0x80u);
    EXPECT_EQ(load(Op::Ldx16, 0), 0xff80u);
    EXPECT_EQ(load(Op::Ldx32, 0), 0x8001ff80u);
    EXPECT_EQ(load(Op::Ldx64, 0), 0xddccbbaa8001ff80ULL);
    EXPECT_EQ(load(Op::Ldsx8, 0), 0xffffffffffffff80ULL);
    EXPECT_EQ(load(Op::Ldsx8, 2), 1u);
    EXPECT_EQ(load(Op::Ldsx16, 0), 0xffffffffffffff80ULL);
    EXPECT_EQ(load(Op::Ldsx16, 2), 0xffffffffffff8001ULL);
    EXPECT_EQ(load(Op::Ldsx32, 0), 0xffffffff8001ff80ULL);
    EXPECT_EQ(load(Op::Ldsx32, 4), 0xffffffffddccbbaaULL);
    EXPECT_EQ(load(Op::Ldx32, 3), 0xccbbaa80u);  // unaligned is fine in raw memory

    // Stores: immediate (sign-extended for 64 bits) and register, via the stack and r1.
    Code st{I(Op::St64, 10, 0, -8, -2), I(Op::Ldx64, 0, 10, -8), I(Op::Exit)};
    EXPECT_EQ(r0_of(st), 0xfffffffffffffffeULL);
    Code st8{I(Op::St64, 10, 0, -8, 0), I(Op::St8, 10, 0, -7, 0x1ab), I(Op::Ldx64, 0, 10, -8), I(Op::Exit)};
    EXPECT_EQ(r0_of(st8), 0xab00u);
    Code stx;
    stx.lddw(2, 0x1122334455667788ULL) << I(Op::Stx16, 1, 2, 6) << I(Op::Stx32, 1, 2, 0) << I(Op::Ldx64, 0, 1, 0)
                                       << I(Op::Exit);
    EXPECT_EQ(r0_of(stx, std::vector<std::uint8_t>(8, 0)), 0x7788000055667788ULL);
    Code stx64;
    stx64.lddw(2, 0x1122334455667788ULL) << I(Op::Stx64, 10, 2, -16) << I(Op::Stx8, 10, 2, -17)
                                         << I(Op::Ldx64, 0, 10, -16) << I(Op::Ldx8, 3, 10, -17) << I(Op::Add64Reg, 0, 3)
                                         << I(Op::Exit);
    EXPECT_EQ(r0_of(stx64), 0x1122334455667788ULL + 0x88);
}

TEST(Memory, RawModeRegisters) {
    Code c{I(Op::Mov64Reg, 0, 2), I(Op::Exit)};
    EXPECT_EQ(r0_of(c, std::vector<std::uint8_t>(37, 0)), 37u);
    Code w{I(Op::St8, 1, 0, 36, 9), I(Op::Ldx8, 0, 1, 36), I(Op::Exit)};
    EXPECT_EQ(r0_of(w, std::vector<std::uint8_t>(37, 0)), 9u);
}

struct AtomicCase {
    Op op;
    std::uint64_t mem_before;
    std::uint64_t src;
    std::uint64_t r0_before;
    std::uint64_t mem_after;
    std::uint64_t src_after;
    std::uint64_t r0_after;
};

TEST(Atomic, EveryOperation) {
    const std::uint64_t m = 0xf0f0f0f0'0000000fULL;
    const std::uint64_t v = 0x0ff00000'00000011ULL;
    const std::uint64_t r0 = 0x77;
    const AtomicCase cases[] = {
        {Op::AtomicAdd64, m, v, r0, m + v, v, r0},
        {Op::AtomicOr64, m, v, r0, m | v, v, r0},
        {Op::AtomicAnd64, m, v, r0, m & v, v, r0},
        {Op::AtomicXor64, m, v, r0, m ^ v, v, r0},
        {Op::AtomicFetchAdd64, m, v, r0, m + v, m, r0},
        {Op::AtomicFetchOr64, m, v, r0, m | v, m, r0},
        {Op::AtomicFetchAnd64, m, v, r0, m & v, m, r0},
        {Op::AtomicFetchXor64, m, v, r0, m ^ v, m, r0},
        {Op::AtomicXchg64, m, v, r0, v, m, r0},
        {Op::AtomicCmpxchg64, m, v, m, v, v, m},    // equal: store src, r0 = old
        {Op::AtomicCmpxchg64, m, v, r0, m, v, m},   // different: memory unchanged, r0 = old
        // 32-bit forms touch the low 4 bytes; fetched values are zero-extended.
        {Op::AtomicAdd32, m, v, r0, 0xf0f0f0f0'00000020ULL, v, r0},
        {Op::AtomicOr32, m, v, r0, 0xf0f0f0f0'0000001fULL, v, r0},
        {Op::AtomicAnd32, m, v, r0, 0xf0f0f0f0'00000001ULL, v, r0},
        {Op::AtomicXor32, m, v, r0, 0xf0f0f0f0'0000001eULL, v, r0},
        {Op::AtomicFetchAdd32, m, v, r0, 0xf0f0f0f0'00000020ULL, 0xf, r0},
        {Op::AtomicFetchOr32, m, v, r0, 0xf0f0f0f0'0000001fULL, 0xf, r0},
        {Op::AtomicFetchAnd32, m, v, r0, 0xf0f0f0f0'00000001ULL, 0xf, r0},
        {Op::AtomicFetchXor32, m, v, r0, 0xf0f0f0f0'0000001eULL, 0xf, r0},
        {Op::AtomicXchg32, m, v, r0, 0xf0f0f0f0'00000011ULL, 0xf, r0},
        {Op::AtomicCmpxchg32, m, v, 0xabcdef00'0000000fULL, 0xf0f0f0f0'00000011ULL, v, 0xf},  // low halves equal
        {Op::AtomicCmpxchg32, m, v, r0, m, v, 0xf},
    };
    for (const AtomicCase& t : cases) {
        SCOPED_TRACE(isa::info(t.op).name);
        // r1 = mem, [r1] = mem_before, r2 = src, r0 = r0_before; atomic; return mem, r2 and r0 in mem[8..31].
        Code c;
        c.lddw(3, t.mem_before).lddw(2, t.src).lddw(0, t.r0_before)
            << I(Op::Stx64, 1, 3, 0) << I(t.op, 1, 2, 0) << I(Op::Ldx64, 4, 1, 0) << I(Op::Stx64, 1, 4, 8)
            << I(Op::Stx64, 1, 2, 16) << I(Op::Stx64, 1, 0, 24) << I(Op::Mov64Imm, 0, 0, 0, 0) << I(Op::Exit);
        std::vector<std::uint8_t> mem(32, 0);
        const program::Program prog = make_program(c);
        Interpreter vm(runtime::LoadedProgram{&prog, raw_environment()});
        RunInput in;
        in.mem = mem;
        ASSERT_EQ(vm.run(in).status, ExecStatus::Ok) << vm.fault_message();
        std::uint64_t got[3];
        std::memcpy(got, mem.data() + 8, sizeof got);
        EXPECT_EQ(got[0], t.mem_after);
        EXPECT_EQ(got[1], t.src_after);
        EXPECT_EQ(got[2], t.r0_after);
    }
}

TEST(Checked, StackBoundsFault) {
    Code above{I(Op::Mov64Imm, 0, 0, 0, 0), I(Op::Ldx32, 0, 10, 0), I(Op::Exit)};
    const Outcome o = run_raw(above);
    EXPECT_EQ(o.result.status, ExecStatus::MemoryFault);
    EXPECT_EQ(o.result.pc, 1u);
    EXPECT_TRUE(o.message.starts_with("pc 1: read of 4 bytes at r10+0 (0x")) << o.message;
    EXPECT_TRUE(o.message.ends_with(") is outside every region the program was given")) << o.message;

    Code below{I(Op::St64, 10, 0, -520, 1), I(Op::Exit)};
    const Outcome b = run_raw(below);
    EXPECT_EQ(b.result.status, ExecStatus::MemoryFault);
    EXPECT_TRUE(b.message.starts_with("pc 0: write of 8 bytes at r10-520 (0x")) << b.message;

    Code straddle{I(Op::Ldx64, 0, 10, -4), I(Op::Exit)};
    EXPECT_EQ(run_raw(straddle).result.status, ExecStatus::MemoryFault);

    Code bottom{I(Op::St64, 10, 0, -512, 7), I(Op::Ldx64, 0, 10, -512), I(Op::Exit)};
    EXPECT_EQ(r0_of(bottom), 7u);

    Code atomic{I(Op::Mov64Imm, 2, 0, 0, 1), I(Op::AtomicAdd64, 10, 2, 8), I(Op::Exit)};
    const Outcome a = run_raw(atomic);
    EXPECT_EQ(a.result.status, ExecStatus::MemoryFault);
    EXPECT_TRUE(a.message.starts_with("pc 1: atomic update of 8 bytes at r10+8 (0x")) << a.message;
}

TEST(Checked, RawMemoryBoundsAndNullPointers) {
    Code past{I(Op::Ldx8, 0, 1, 4), I(Op::Exit)};
    EXPECT_EQ(run_raw(past, std::vector<std::uint8_t>(4, 0)).result.status, ExecStatus::MemoryFault);
    EXPECT_EQ(run_raw(past, std::vector<std::uint8_t>(5, 0)).result.status, ExecStatus::Ok);
    Code straddle{I(Op::Ldx32, 0, 1, 2), I(Op::Exit)};
    EXPECT_EQ(run_raw(straddle, std::vector<std::uint8_t>(5, 0)).result.status, ExecStatus::MemoryFault);
    Code null{I(Op::Mov64Imm, 1, 0, 0, 0), I(Op::Ldx8, 0, 1, 0), I(Op::Exit)};
    const Outcome o = run_raw(null, std::vector<std::uint8_t>(5, 0));
    EXPECT_EQ(o.result.status, ExecStatus::MemoryFault);
    EXPECT_EQ(o.message, "pc 1: read of 1 bytes at r1+0 (0x0) is outside every region the program was given");
}

TEST(Checked, StackIsZeroedAtEntry) {
    Code c{I(Op::Ldx64, 0, 10, -8), I(Op::St64, 10, 0, -8, 5), I(Op::Exit)};
    const program::Program prog = make_program(c);
    Interpreter vm(runtime::LoadedProgram{&prog, raw_environment()});
    RunInput in;
    EXPECT_EQ(vm.run(in).r0, 0u);
    EXPECT_EQ(vm.run(in).r0, 0u);  // the previous run's store is not visible
}

TEST(Unchecked, SameResultsWithoutChecks) {
    Code c{I(Op::St64, 10, 0, -8, 40), I(Op::Ldx64, 0, 10, -8), I(Op::Ldx8, 2, 1, 1), I(Op::Add64Reg, 0, 2),
           I(Op::Exit)};
    const Outcome o = run_raw(c, {0, 2}, Options{1000, false});
    EXPECT_EQ(o.result.status, ExecStatus::Ok);
    EXPECT_EQ(o.result.r0, 42u);
}

TEST(Budget, CountsExecutedInstructions) {
    Code loop{I(Op::Ja, 0, 0, -1)};
    const Outcome o = run_raw(loop, {}, Options{100, true});
    EXPECT_EQ(o.result.status, ExecStatus::BudgetExceeded);
    EXPECT_EQ(o.result.pc, 0u);
    EXPECT_EQ(o.message, "pc 0: instruction budget of 100 exceeded");

    Code three{I(Op::Mov64Imm, 0, 0, 0, 1), I(Op::Add64Imm, 0, 0, 0, 1), I(Op::Exit)};
    EXPECT_EQ(run_raw(three, {}, Options{3, true}).result.status, ExecStatus::Ok);
    const Outcome two = run_raw(three, {}, Options{2, true});
    EXPECT_EQ(two.result.status, ExecStatus::BudgetExceeded);
    EXPECT_EQ(two.result.pc, 2u);
}

class Recorder final : public TraceSink {
public:
    void step(const TraceStep& s) override { steps.push_back(s); }
    std::vector<TraceStep> steps;
};

TEST(Trace, ReportsEveryExecutedInstruction) {
    Code c{I(Op::Mov64Imm, 0, 0, 0, 1), I(Op::Jeq64Imm, 0, 0, 1, 1), I(Op::Mov64Imm, 0, 0, 0, 9),
           I(Op::Add64Imm, 0, 0, 0, 2), I(Op::Exit)};
    const program::Program prog = make_program(c);
    Interpreter vm(runtime::LoadedProgram{&prog, raw_environment()});
    Recorder rec;
    vm.set_trace(&rec);
    RunInput in;
    EXPECT_EQ(vm.run(in).r0, 3u);
    ASSERT_EQ(rec.steps.size(), 4u);
    EXPECT_EQ(rec.steps[0].pc, 0u);
    EXPECT_EQ(rec.steps[0].before[0], 0u);
    EXPECT_EQ(rec.steps[0].after[0], 1u);
    EXPECT_EQ(rec.steps[1].pc, 1u);
    EXPECT_EQ(rec.steps[2].pc, 3u);
    EXPECT_EQ(rec.steps[2].after[0], 3u);
    EXPECT_EQ(rec.steps[3].pc, 4u);
    vm.set_trace(nullptr);
    EXPECT_EQ(vm.run(in).r0, 3u);
    EXPECT_EQ(rec.steps.size(), 4u);
}

TEST(Decoded, ResolvesTargetsHelpersAndImmediates) {
    Code c;
    c << I(Op::Jeq64Imm, 1, 0, 3, 0) << I(Op::CallHelper, 0, 0, 0, 5) << I(Op::CallHelper, 0, 0, 0, 77)
      << I(Op::CallHelper, 0, 0, 0, 5);
    c.lddw(2, 0x1234567890ULL) << I(Op::CallLocal, 0, 0, 0, 2) << I(Op::Ja32, 0, 0, 0, -1) << I(Op::Exit)
                               << I(Op::Exit);
    const program::Program prog = make_program(c);
    const DecodedProgram d = predecode(runtime::LoadedProgram{&prog, raw_environment()});
    ASSERT_EQ(d.insns.size(), prog.size());
    EXPECT_EQ(d.insns[0].ext, 4u);
    EXPECT_EQ(d.insns[1].ext, 0u);
    EXPECT_EQ(d.insns[2].ext, 1u);
    EXPECT_EQ(d.insns[3].ext, 0u);
    ASSERT_EQ(d.helpers.size(), 2u);
    EXPECT_EQ(d.helpers[0].id, 5);
    EXPECT_EQ(d.helpers[0].name, "unwind");
    EXPECT_NE(d.helpers[0].fn, nullptr);
    EXPECT_EQ(d.helpers[1].id, 77);
    EXPECT_EQ(d.helpers[1].fn, nullptr);
    EXPECT_EQ(d.insns[4].imm64(), 0x1234567890ULL);
    EXPECT_EQ(d.insns[6].op, Op::CallLocal);
    EXPECT_EQ(d.insns[6].ext, 9u);
    EXPECT_EQ(d.insns[7].ext, 7u);
    EXPECT_EQ(d.functions, (std::vector<std::uint32_t>{0, 9}));
}

}  // namespace
}  // namespace sockfilter::vm::testing
