// SPDX-License-Identifier: MIT
// Tests of runtime::load: every load-time message on a hand-built program (spec §1.2, §2.1, §5.1).
#include "runtime/load.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sockfilter::runtime {
namespace {

using isa::Insn;

// Hand-built instructions (opcode bytes from opcodes.def).
Insn mov_imm(std::uint8_t dst, std::int32_t imm) { return {0xb7, dst, 0, 0, imm}; }
Insn mov32_imm(std::uint8_t dst, std::int32_t imm) { return {0xb4, dst, 0, 0, imm}; }
Insn mov_reg(std::uint8_t dst, std::uint8_t src) { return {0xbf, dst, src, 0, 0}; }
Insn mov32_reg(std::uint8_t dst, std::uint8_t src) { return {0xbc, dst, src, 0, 0}; }
Insn add_imm(std::uint8_t dst, std::int32_t imm) { return {0x07, dst, 0, 0, imm}; }
Insn sub_imm(std::uint8_t dst, std::int32_t imm) { return {0x17, dst, 0, 0, imm}; }
Insn add_reg(std::uint8_t dst, std::uint8_t src) { return {0x0f, dst, src, 0, 0}; }
Insn lsh_imm(std::uint8_t dst, std::int32_t imm) { return {0x67, dst, 0, 0, imm}; }
Insn ldxw(std::uint8_t dst, std::uint8_t src, std::int16_t off) { return {0x61, dst, src, off, 0}; }
Insn ldxdw(std::uint8_t dst, std::uint8_t src, std::int16_t off) { return {0x79, dst, src, off, 0}; }
Insn ldsxb(std::uint8_t dst, std::uint8_t src, std::int16_t off) { return {0x91, dst, src, off, 0}; }
Insn stxw(std::uint8_t dst, std::uint8_t src, std::int16_t off) { return {0x63, dst, src, off, 0}; }
Insn stxdw(std::uint8_t dst, std::uint8_t src, std::int16_t off) { return {0x7b, dst, src, off, 0}; }
Insn stw(std::uint8_t dst, std::int16_t off, std::int32_t imm) { return {0x62, dst, 0, off, imm}; }
Insn atomic_add_w(std::uint8_t dst, std::uint8_t src, std::int16_t off) { return {0xc3, dst, src, off, 0x00}; }
Insn jeq_imm(std::uint8_t dst, std::int32_t imm, std::int16_t off) { return {0x15, dst, 0, off, imm}; }
Insn jlt_imm(std::uint8_t dst, std::int32_t imm, std::int16_t off) { return {0xa5, dst, 0, off, imm}; }
Insn ja(std::int16_t off) { return {0x05, 0, 0, off, 0}; }
Insn call(std::int32_t id) { return {0x85, 0, 0, 0, id}; }
Insn call_local(std::int32_t rel) { return {0x85, 0, 1, 0, rel}; }
Insn call_kfunc(std::int32_t btf_id) { return {0x85, 0, 2, 0, btf_id}; }
Insn callx(std::uint8_t reg) { return {0x8d, reg, 0, 0, 0}; }
Insn ldabs_b(std::int32_t imm) { return {0x30, 0, 0, 0, imm}; }
Insn ldind_w(std::uint8_t src, std::int32_t imm) { return {0x40, 0, src, 0, imm}; }
Insn exit_insn() { return {0x95, 0, 0, 0, 0}; }

program::Program make(std::vector<Insn> slots) {
    auto p = program::Program::from_slots("t", std::move(slots));
    EXPECT_TRUE(p.has_value()) << p.error().render();
    return std::move(*p);
}

/// The rendered rejection ("pc N: message"), or "ok".
std::string outcome(const program::Program& p, Environment env = socket_filter_env()) {
    auto r = load(p, env);
    if (r) {
        return "ok";
    }
    EXPECT_EQ(r.error().code, Errc::Rejected);
    return r.error().render();
}

std::string outcome(std::vector<Insn> slots, Environment env = socket_filter_env()) {
    return outcome(make(std::move(slots)), env);
}

std::uint64_t nothing(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t) {
    return 0;
}

/// Socket filter with one helper (ktime_get_ns, 5) so that calls load.
Environment with_helper() {
    static const HelperRegistry reg = [] {
        HelperRegistry r;
        r.add({5, "ktime_get_ns", &nothing});
        return r;
    }();
    return Environment{&socket_filter(), &reg};
}

TEST(LoadCtx, AcceptedAccesses) {
    EXPECT_EQ(outcome({ldxw(0, 1, 0), exit_insn()}), "ok");
    EXPECT_EQ(outcome({ldxdw(2, 1, 168), mov_imm(0, 0), exit_insn()}), "ok");
    EXPECT_EQ(outcome({ldsxb(0, 1, 17), exit_insn()}), "ok");
    EXPECT_EQ(outcome({mov_imm(2, 1), stxw(1, 2, 48), stw(1, 64, 7), mov_imm(0, 0), exit_insn()}), "ok");
    const auto loaded = load(make({ldxw(0, 1, 0), exit_insn()}), socket_filter_env());
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->env.type, &socket_filter());
    EXPECT_NE(loaded->program, nullptr);
}

TEST(LoadCtx, InvalidAccess) {
    EXPECT_EQ(outcome({ldxw(0, 1, 76), exit_insn()}), "pc 0: invalid bpf_context access off=76 size=4");
    EXPECT_EQ(outcome({mov_imm(2, 0), stxw(1, 2, 8), mov_imm(0, 0), exit_insn()}),
              "pc 1: invalid bpf_context access off=8 size=4");
    EXPECT_EQ(outcome({stw(1, 8, 0), mov_imm(0, 0), exit_insn()}), "pc 0: invalid bpf_context access off=8 size=4");
    EXPECT_EQ(outcome({ldxdw(0, 1, 0), exit_insn()}), "pc 0: invalid bpf_context access off=0 size=8");
    EXPECT_EQ(outcome({ldxw(0, 1, -4), exit_insn()}), "pc 0: invalid bpf_context access off=-4 size=4");
}

TEST(LoadCtx, Atomic) {
    EXPECT_EQ(outcome({mov_imm(2, 1), atomic_add_w(1, 2, 48), mov_imm(0, 0), exit_insn()}),
              "pc 1: BPF_ATOMIC stores into R1 ctx is not allowed");
    // Atomics on the stack are not context accesses.
    EXPECT_EQ(outcome({mov_imm(2, 1), stxw(10, 2, -8), atomic_add_w(10, 2, -8), mov_imm(0, 0), exit_insn()}), "ok");
}

TEST(LoadCtx, ModifiedPointer) {
    EXPECT_EQ(outcome({add_imm(1, 4), ldxw(0, 1, 0), exit_insn()}),
              "pc 1: dereference of modified ctx ptr R1 off=4 disallowed");
    EXPECT_EQ(outcome({add_imm(1, -4), ldxw(0, 1, 4), exit_insn()}),
              "pc 1: negative offset ctx ptr R1 off=-4 disallowed");
    EXPECT_EQ(outcome({sub_imm(1, 8), ldxw(0, 1, 8), exit_insn()}),
              "pc 1: negative offset ctx ptr R1 off=-8 disallowed");
    // Constants in registers are followed: r2 = 1 << 3; r1 += r2.
    EXPECT_EQ(outcome({mov_imm(2, 1), lsh_imm(2, 3), add_reg(1, 2), ldxw(0, 1, 0), exit_insn()}),
              "pc 3: dereference of modified ctx ptr R1 off=8 disallowed");
    // scalar += ctx makes the scalar register a context pointer.
    EXPECT_EQ(outcome({mov_imm(2, 4), add_reg(2, 1), ldxw(0, 2, 0), exit_insn()}),
              "pc 2: dereference of modified ctx ptr R2 off=4 disallowed");
    // Adding and taking back the offset restores the pointer.
    EXPECT_EQ(outcome({add_imm(1, 4), sub_imm(1, 4), ldxw(0, 1, 0), exit_insn()}), "ok");
    // ctx plus an unknown amount.
    EXPECT_EQ(outcome({ldxw(2, 1, 0), add_reg(1, 2), ldxw(0, 1, 0), exit_insn()}),
              "pc 2: variable ctx access disallowed: R1 is the context pointer plus an amount not known at load time");
}

TEST(LoadCtx, CopiesAndSpills) {
    EXPECT_EQ(outcome({mov_reg(6, 1), ldxw(0, 6, 72), exit_insn()}), "pc 1: invalid bpf_context access off=72 size=4");
    EXPECT_EQ(outcome({stxdw(10, 1, -16), ldxdw(3, 10, -16), ldxw(0, 3, 80), exit_insn()}),
              "pc 2: invalid bpf_context access off=80 size=4");
    // The stack pointer may be moved before the spill and the fill.
    EXPECT_EQ(outcome({mov_reg(2, 10), add_imm(2, -8), stxdw(2, 1, 0), ldxdw(3, 10, -8), ldxw(0, 3, 80), exit_insn()}),
              "pc 4: invalid bpf_context access off=80 size=4");
    // A partial overwrite destroys the spill: what is filled is no longer the context.
    EXPECT_EQ(outcome({stxdw(10, 1, -8), stw(10, -4, 0), ldxdw(3, 10, -8), mov_imm(0, 0), exit_insn()}), "ok");
    // A 32-bit copy of the pointer is a scalar.
    EXPECT_EQ(outcome({mov32_reg(2, 1), mov_imm(0, 0), exit_insn()}), "ok");
    // Overwriting the register ends its life as the context.
    EXPECT_EQ(outcome({mov32_imm(1, 0), mov_imm(0, 0), exit_insn()}), "ok");
}

TEST(LoadCtx, CallsClobberArguments) {
    // r1 is dead after a call, r6 keeps the context.
    EXPECT_EQ(outcome({mov_reg(6, 1), call(5), ldxw(0, 6, 72), exit_insn()}, with_helper()),
              "pc 2: invalid bpf_context access off=72 size=4");
    // A spill survives a helper call that gets no stack pointer.
    EXPECT_EQ(outcome({stxdw(10, 1, -8), call(5), ldxdw(2, 10, -8), ldxw(0, 2, 76), exit_insn()}, with_helper()),
              "pc 3: invalid bpf_context access off=76 size=4");
    // ... but not one that may write into the frame through r1.
    EXPECT_EQ(outcome({stxdw(10, 1, -8), mov_reg(1, 10), add_imm(1, -8), call(5), ldxdw(2, 10, -8), mov_imm(0, 0),
                       exit_insn()},
                      with_helper()),
              "ok");
    // Across a local call r6-r9 survive.
    EXPECT_EQ(outcome({mov_reg(7, 1), call_local(2), ldxw(0, 7, 88), exit_insn(), mov_imm(0, 1), exit_insn()}),
              "pc 2: invalid bpf_context access off=88 size=4");
    // In a called function r1 is an argument the analysis does not follow.
    EXPECT_EQ(outcome({call_local(1), exit_insn(), ldxw(0, 1, 88), exit_insn()}), "ok");
}

TEST(LoadCtx, Merges) {
    // ctx on one path, the stack on the other.
    EXPECT_EQ(outcome({ldxw(2, 1, 0), jeq_imm(2, 0, 1), mov_reg(1, 10), ldxw(0, 1, -8), exit_insn()}),
              "pc 3: same insn cannot be used with different pointers");
    // ctx on both paths with different offsets.
    EXPECT_EQ(outcome({ldxw(2, 1, 0), jeq_imm(2, 0, 1), add_imm(1, 4), ldxw(0, 1, 0), exit_insn()}),
              "pc 3: variable ctx access disallowed: R1 is the context pointer plus an amount not known at load time");
    // Equal facts on both paths merge to themselves.
    EXPECT_EQ(outcome({ldxw(2, 1, 0), jeq_imm(2, 0, 1), mov_reg(6, 1), mov_reg(6, 1), ldxw(0, 6, 164), exit_insn()}),
              "ok");
    // A loop that walks the pointer converges.
    EXPECT_EQ(outcome({mov_imm(2, 0), add_imm(1, 4), add_imm(2, 1), jlt_imm(2, 4, -3), ldxw(0, 1, 0), exit_insn()}),
              "pc 4: variable ctx access disallowed: R1 is the context pointer plus an amount not known at load time");
    // Unreachable code is not checked for context accesses (the verifier refuses it later).
    EXPECT_EQ(outcome({mov_imm(0, 0), exit_insn(), ldxw(0, 1, 76), exit_insn()}), "ok");
    EXPECT_EQ(outcome({mov_imm(0, 0), ja(1), ldxw(0, 1, 76), exit_insn()}), "ok");
}

TEST(LoadLdAbs, R6Rules) {
    EXPECT_EQ(outcome({mov_reg(6, 1), ldabs_b(0), exit_insn()}), "ok");
    EXPECT_EQ(outcome({ldabs_b(0), exit_insn()}), "pc 0: R6 !read_ok");
    EXPECT_EQ(outcome({mov_imm(6, 0), ldabs_b(0), exit_insn()}),
              "pc 1: at the time of BPF_LD_ABS|IND R6 != pointer to skb");
    EXPECT_EQ(outcome({mov_reg(6, 1), add_imm(6, 4), ldabs_b(0), exit_insn()}),
              "pc 2: dereference of modified ctx ptr R6 off=4 disallowed");
    EXPECT_EQ(outcome({mov_reg(6, 1), ldind_w(3, 0), exit_insn()}), "pc 1: R3 !read_ok");
    EXPECT_EQ(outcome({mov_reg(6, 1), mov_imm(3, 2), ldind_w(3, 0), exit_insn()}), "ok");
    // LD_ABS clobbers r1-r5 like a call: r1 is no longer the context afterwards.
    EXPECT_EQ(outcome({mov_reg(6, 1), ldabs_b(0), ldxw(0, 1, 76), exit_insn()}), "ok");
    EXPECT_EQ(outcome({mov_reg(6, 1), ldabs_b(0), ldxw(0, 6, 76), exit_insn()}),
              "pc 2: invalid bpf_context access off=76 size=4");
}

TEST(LoadLdAbs, SubprogramsAndReservedFields) {
    EXPECT_EQ(outcome({call_local(1), exit_insn(), mov_reg(6, 1), ldabs_b(0), exit_insn()}),
              "pc 3: LD_ABS is not allowed in subprogs without BTF");
    // Reserved fields never reach load(): isa::classify refuses them with its own message, which
    // therefore wins over the kernel's `BPF_LD_[ABS|IND] uses reserved fields`.
    auto p = program::Program::from_slots("t", {{0x30, 1, 0, 0, 0}, exit_insn()});
    ASSERT_FALSE(p.has_value());
    EXPECT_EQ(p.error().render(), "pc 0: opcode 0x30: reserved field dst must be 0, is 1");
    // Raw mode has no context: LD_ABS is not checked there.
    EXPECT_EQ(outcome({ldabs_b(0), exit_insn()}, raw_env()), "ok");
}

TEST(LoadHelpers, Ids) {
    EXPECT_EQ(outcome({call(9999), exit_insn()}), "pc 0: invalid func unknown#9999");
    EXPECT_EQ(outcome({call(212), exit_insn()}), "pc 0: invalid func unknown#212");
    EXPECT_EQ(outcome({call(-1), exit_insn()}), "pc 0: invalid func unknown#-1");
    EXPECT_EQ(outcome({call(9), exit_insn()}), "pc 0: program of this type cannot use helper bpf_skb_store_bytes#9");
    EXPECT_EQ(outcome({call(0), exit_insn()}), "pc 0: program of this type cannot use helper bpf_unspec#0");
    EXPECT_EQ(outcome({call(5), exit_insn()}, with_helper()), "ok");
    EXPECT_EQ(outcome({call_local(1), exit_insn(), call(12), exit_insn()}),
              "pc 2: tail_call is not allowed in subprogs without BTF");
}

TEST(LoadHelpers, RawMode) {
    EXPECT_EQ(outcome({mov_imm(1, 1), call(5), exit_insn()}, raw_env()), "ok");
    EXPECT_EQ(outcome({call(6), exit_insn()}, raw_env()), "pc 0: program of this type cannot use helper bpf_trace_printk#6");
    EXPECT_EQ(outcome({call(300), exit_insn()}, raw_env()), "pc 0: invalid func unknown#300");
    // Raw mode makes no context checks.
    EXPECT_EQ(outcome({ldxw(0, 1, 76), exit_insn()}, raw_env()), "ok");
    EXPECT_EQ(outcome({callx(2), exit_insn()}, raw_env()), "ok");
}

TEST(LoadReferences, KfuncsMapsSymbols) {
    EXPECT_EQ(outcome({mov_imm(0, 0), call_kfunc(1234), exit_insn()}),
              "pc 1: kfunc call to #1234: the object names no such kernel function");
    EXPECT_EQ(outcome({call_kfunc(7), exit_insn()}, raw_env()),
              "pc 0: kfunc call to btf_id 7: no kernel functions are available in this environment");
    EXPECT_EQ(outcome({mov_imm(0, 0), {0x18, 1, 1, 0, 5}, {0, 0, 0, 0, 0}, exit_insn()}),
              "pc 1: ld_imm64 with src=1 (BPF_PSEUDO_MAP_FD, map fd 5) refers to a map, but the program has no maps "
              "to resolve it against");
    EXPECT_EQ(outcome({{0x18, 1, 5, 0, 0}, {0, 0, 0, 0, 0}, exit_insn()}, raw_env()),
              "pc 0: ld_imm64 with src=5 (BPF_PSEUDO_MAP_IDX, map index 0) refers to a map, but the program has no "
              "maps to resolve it against");
    EXPECT_EQ(outcome({{0x18, 1, 2, 0, 3}, {0, 0, 0, 0, 16}, exit_insn()}),
              "pc 0: ld_imm64 with src=2 (BPF_PSEUDO_MAP_VALUE, map fd 3) refers to a map, but the program has no "
              "maps to resolve it against");
    EXPECT_EQ(outcome({{0x18, 1, 6, 0, 1}, {0, 0, 0, 0, 0}, exit_insn()}),
              "pc 0: ld_imm64 with src=6 (BPF_PSEUDO_MAP_IDX_VALUE, map index 1) refers to a map, but the program has "
              "no maps to resolve it against");
    EXPECT_EQ(outcome({{0x18, 1, 3, 0, 42}, {0, 0, 0, 0, 0}, exit_insn()}),
              "pc 0: ld_imm64 with src=3 (BPF_PSEUDO_BTF_ID, btf_id 42) refers to a kernel symbol, which is not "
              "available in this environment");
    // A plain 64-bit constant and a function pointer need nothing resolved.
    EXPECT_EQ(outcome({{0x18, 0, 0, 0, 1}, {0, 0, 0, 0, 2}, exit_insn()}), "ok");
    EXPECT_EQ(outcome({{0x18, 2, 4, 0, 2}, {0, 0, 0, 0, 0}, exit_insn(), mov_imm(0, 0), exit_insn()}), "ok");
}

TEST(LoadCalls, Callx) {
    // The kernel does not know the opcode at all (6.18); raw mode (bpf_conformance) runs it.
    EXPECT_EQ(outcome({mov_imm(2, 0), callx(2), exit_insn()}), "pc 1: unknown opcode 8d");
    // It is found in the same pass as lddw references, before the walk.
    EXPECT_EQ(outcome({ldxw(0, 1, 76), mov_imm(2, 0), callx(2), exit_insn()}), "pc 2: unknown opcode 8d");
}

TEST(LoadCtx, LocationIsThePc) {
    auto r = load(make({mov_imm(0, 0), {0x18, 3, 0, 0, 1}, {0, 0, 0, 0, 0}, ldxw(0, 1, 200), exit_insn()}),
                  socket_filter_env());
    ASSERT_FALSE(r.has_value());
    ASSERT_TRUE(std::holds_alternative<InsnIndex>(r.error().where));
    EXPECT_EQ(std::get<InsnIndex>(r.error().where).pc, 3u);
    EXPECT_EQ(r.error().message, "invalid bpf_context access off=200 size=4");
}

}  // namespace
}  // namespace sockfilter::runtime
