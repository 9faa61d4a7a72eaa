// SPDX-License-Identifier: MIT
// Calls: bpf-to-bpf calls and frames, call depth, helpers (the unwind helper, faults, clobbered
// registers), callx with helper ids and function pointers, kfuncs.
#include <gtest/gtest.h>

#include <array>

#include "runtime/instance.h"
#include "support/bytes.h"
#include "vm/vm_test_util.h"

namespace sockfilter::vm::testing {
namespace {

TEST(CallLocal, SavesCalleeSavedRegistersAndFrames) {
    // main: r6..r9 = 6..9, r1..r5 = 1..5; call f; check r6..r9 and r10; r0 = f's sum.
    Code c;
    for (std::uint8_t i = 1; i <= 9; ++i) {
        c << I(Op::Mov64Imm, i, 0, 0, i);
    }
    c << I(Op::CallLocal, 0, 0, 0, 9)  // 9: -> 19
      << I(Op::Jne64Imm, 6, 0, 6, 6) << I(Op::Jne64Imm, 7, 0, 5, 7) << I(Op::Jne64Imm, 8, 0, 4, 8)
      << I(Op::Jne64Imm, 9, 0, 3, 9)
      << I(Op::Ldx64, 2, 10, -8)  // 14: the callee wrote 42 into main's frame through r1
      << I(Op::Add64Reg, 0, 2) << I(Op::Exit)
      << I(Op::Mov64Imm, 0, 0, 0, -1)  // 17: failed
      << I(Op::Exit);
    // f (19): r0 = r1 + ... + r5 = 15; *(main r10 - 8) = 42 via r1 = main's r10; clobber r6..r9.
    c << I(Op::Mov64Reg, 6, 1)  // r6 = 1
      << I(Op::Add64Reg, 6, 2) << I(Op::Add64Reg, 6, 3) << I(Op::Add64Reg, 6, 4) << I(Op::Add64Reg, 6, 5)
      << I(Op::Mov64Reg, 1, 10) << I(Op::Sub64Imm, 1, 0, 0, 512)  // main's r10
      << I(Op::St64, 1, 0, -8, 42) << I(Op::Mov64Reg, 0, 6) << I(Op::Mov64Imm, 7, 0, 0, 0)
      << I(Op::Mov64Imm, 8, 0, 0, 0) << I(Op::Mov64Imm, 9, 0, 0, 0) << I(Op::Exit);
    EXPECT_EQ(r0_of(c), 15u + 42u);
}

TEST(CallLocal, CalleeFrameIsNotTheCallers) {
    // The callee's r10 is 512 above the caller's; after return r10 is the caller's again.
    Code c{I(Op::Mov64Reg, 6, 10), I(Op::CallLocal, 0, 0, 0, 4), I(Op::Sub64Reg, 0, 6), I(Op::Sub64Reg, 6, 10),
           I(Op::Add64Reg, 0, 6), I(Op::Exit),
           // f: r0 = r10
           I(Op::Mov64Reg, 0, 10), I(Op::Exit)};
    EXPECT_EQ(r0_of(c), 512u);
}

TEST(CallLocal, EightFramesAreAllowedNineAreNot) {
    // f(r1): if r1 == 0 return 0; r1 -= 1; call f; r0 += 1; return.
    auto chain = [](std::int32_t n) {
        return Code{I(Op::Mov64Imm, 1, 0, 0, n), I(Op::CallLocal, 0, 0, 0, 1), I(Op::Exit),
                    I(Op::Mov64Imm, 0, 0, 0, 0), I(Op::Jeq64Imm, 1, 0, 3, 0), I(Op::Sub64Imm, 1, 0, 0, 1),
                    I(Op::CallLocal, 0, 0, 0, -4), I(Op::Add64Imm, 0, 0, 0, 1), I(Op::Exit)};
    };
    EXPECT_EQ(r0_of(chain(6)), 6u);  // main + 7 nested frames
    const Outcome o = run_raw(chain(7));
    EXPECT_EQ(o.result.status, ExecStatus::CallDepth);
    EXPECT_EQ(o.result.pc, 6u);
    EXPECT_EQ(o.message, "pc 6: the call stack of 9 frames is too deep");
}

TEST(CallLocal, CalleeStackIsCheckedAgainstActiveFrames) {
    // Reading 8 bytes above the callee's r10 is outside every active frame.
    Code c{I(Op::CallLocal, 0, 0, 0, 1), I(Op::Exit), I(Op::Ldx64, 0, 10, 0), I(Op::Exit)};
    const Outcome o = run_raw(c);
    EXPECT_EQ(o.result.status, ExecStatus::MemoryFault);
    EXPECT_EQ(o.result.pc, 2u);
}

TEST(Helper, UnwindEndsTheProgram) {
    Code c{I(Op::Mov64Imm, 1, 0, 0, 0), I(Op::CallHelper, 0, 0, 0, 5), I(Op::Mov64Imm, 0, 0, 0, 2), I(Op::Exit)};
    const Outcome o = run_raw(c);
    EXPECT_EQ(o.result.status, ExecStatus::Ok);
    EXPECT_EQ(o.result.r0, 0u);
    EXPECT_EQ(o.result.pc, 1u);
    // Inside a sub-program it ends the whole program too.
    Code sub{I(Op::CallLocal, 0, 0, 0, 2), I(Op::Mov64Imm, 0, 0, 0, 2), I(Op::Exit), I(Op::Mov64Imm, 1, 0, 0, 0),
             I(Op::CallHelper, 0, 0, 0, 5), I(Op::Exit)};
    const Outcome s = run_raw(sub);
    EXPECT_EQ(s.result.r0, 0u);
    EXPECT_EQ(s.result.pc, 4u);
    // r1 != 0: returns r1 and continues (call_unwind_fail.data).
    Code cont{I(Op::Mov64Imm, 1, 0, 0, -1), I(Op::CallHelper, 0, 0, 0, 5), I(Op::Mov64Imm, 0, 0, 0, 2), I(Op::Exit)};
    EXPECT_EQ(r0_of(cont), 2u);
}

TEST(Helper, ClobbersR1ToR5AndKeepsR6ToR9) {
    Code c;
    for (std::uint8_t i = 1; i <= 9; ++i) {
        c << I(Op::Mov64Imm, i, 0, 0, i);
    }
    c << I(Op::CallHelper, 0, 0, 0, 5) << I(Op::Mov64Imm, 0, 0, 0, 0);
    for (std::uint8_t i = 1; i <= 9; ++i) {
        c << I(Op::Add64Reg, 0, i);
    }
    c << I(Op::Exit);
    EXPECT_EQ(r0_of(c), 6u + 7u + 8u + 9u);
}

std::uint64_t failing(runtime::CallEnv& env, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                      std::uint64_t) {
    env.fault = "no such socket";
    return 0;
}

std::uint64_t sum(runtime::CallEnv&, std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d,
                  std::uint64_t e) {
    return a + b + c + d + e;
}

TEST(Helper, FaultAndUnknownIds) {
    runtime::HelperRegistry reg;
    reg.add({1, "failing", &failing});
    reg.add({2, "sum", &sum});
    Code c{I(Op::Mov64Imm, 1, 0, 0, 10), I(Op::Mov64Imm, 5, 0, 0, 5), I(Op::CallHelper, 0, 0, 0, 2),
           I(Op::CallHelper, 0, 0, 0, 1), I(Op::Exit)};
    const Outcome o = run_raw(c, {}, Options{}, &reg);
    EXPECT_EQ(o.result.status, ExecStatus::HelperFault);
    EXPECT_EQ(o.result.pc, 3u);
    EXPECT_EQ(o.message, "pc 3: helper 1 (failing): no such socket");

    Code s{I(Op::Mov64Imm, 1, 0, 0, 10), I(Op::Mov64Imm, 5, 0, 0, 5), I(Op::CallHelper, 0, 0, 0, 2), I(Op::Exit)};
    EXPECT_EQ(run_raw(s, {}, Options{}, &reg).result.r0, 15u);

    Code unknown{I(Op::CallHelper, 0, 0, 0, 99), I(Op::Exit)};
    const Outcome u = run_raw(unknown, {}, Options{}, &reg);
    EXPECT_EQ(u.result.status, ExecStatus::BadCall);
    EXPECT_EQ(u.message, "pc 0: call to unknown helper 99");
}

TEST(Callx, HelperIdInARegister) {
    // callx.data: r2 = 5 (unwind) with r1 = -1 returns and continues.
    Code c{I(Op::Mov64Imm, 1, 0, 0, -1), I(Op::Mov64Imm, 2, 0, 0, 5), I(Op::Callx, 2), I(Op::Mov64Imm, 0, 0, 0, 2),
           I(Op::Exit)};
    EXPECT_EQ(r0_of(c), 2u);
    Code stop{I(Op::Mov64Imm, 1, 0, 0, 0), I(Op::Mov64Imm, 2, 0, 0, 5), I(Op::Callx, 2), I(Op::Mov64Imm, 0, 0, 0, 2),
              I(Op::Exit)};
    const Outcome o = run_raw(stop);
    EXPECT_EQ(o.result.r0, 0u);
    EXPECT_EQ(o.result.pc, 2u);
}

TEST(Callx, FunctionPointerFromLddw) {
    // main = [0, 5), f = [5, 8): lddw r3, f; r1 = 40; callx r3; exit. f: r0 = r1 + 2.
    Code d;
    d.lddw(3, 4, Op::LddwFunc) << I(Op::Mov64Imm, 1, 0, 0, 40) << I(Op::Callx, 3) << I(Op::Exit)
                               << I(Op::Mov64Reg, 0, 1) << I(Op::Add64Imm, 0, 0, 0, 2) << I(Op::Exit);
    EXPECT_EQ(r0_of(d), 42u);

    Code v;
    v.lddw(0, 3, Op::LddwFunc) << I(Op::Exit) << I(Op::Exit) << I(Op::Mov64Imm) << I(Op::Exit);
    EXPECT_EQ(r0_of(v), kFuncPtrBase + 4);
}

TEST(Callx, BadTargets) {
    Code c;
    c.lddw(2, 0x100000000ULL) << I(Op::Callx, 2) << I(Op::Exit);
    const Outcome o = run_raw(c);
    EXPECT_EQ(o.result.status, ExecStatus::BadCall);
    EXPECT_EQ(o.result.pc, 2u);
    EXPECT_EQ(o.message, "pc 2: callx r2 = 0x100000000: neither a helper id nor a function");
    Code unknown{I(Op::Mov64Imm, 4, 0, 0, 1000), I(Op::Callx, 4), I(Op::Exit)};
    EXPECT_EQ(run_raw(unknown).result.status, ExecStatus::BadCall);
    // A function-pointer value that is not a function entry.
    Code mid;
    mid.lddw(2, kFuncPtrBase + 1) << I(Op::Callx, 2) << I(Op::Exit);
    EXPECT_EQ(run_raw(mid).result.status, ExecStatus::BadCall);
}

TEST(Kfunc, IsABadCall) {
    Code c{I(Op::CallKfunc, 0, 0, 0, 1234), I(Op::Exit)};
    const Outcome o = run_raw(c);
    EXPECT_EQ(o.result.status, ExecStatus::BadCall);
    EXPECT_EQ(o.message, "pc 0: call to unknown kfunc #1234");
}

TEST(CallFunction, RunsOneFunctionOnItsOwnFrame) {
    // main: call f; r0 = 1; f (3): r0 = r1 + r2 + r3 + a value through its own stack.
    Code c{I(Op::CallLocal, 0, 0, 0, 2), I(Op::Mov64Imm, 0, 0, 0, 1), I(Op::Exit), I(Op::Mov64Reg, 0, 1), I(Op::Add64Reg, 0, 2),
           I(Op::Add64Reg, 0, 3), I(Op::St64, 10, 0, -8, 5), I(Op::Ldx64, 4, 10, -8), I(Op::Add64Reg, 0, 4),
           I(Op::Exit)};
    const program::Program p = make_program(c);
    auto loaded = runtime::load(p, sf_environment());
    ASSERT_TRUE(loaded.has_value()) << loaded.error().render();
    Interpreter vm(*loaded);
    const ExecResult r = vm.call_function(kFuncPtrBase + 3, 10, 20, 30, 0, 0);
    EXPECT_EQ(r.status, ExecStatus::Ok) << vm.fault_message();
    EXPECT_EQ(r.r0, 65u);
    const ExecResult bad = vm.call_function(kFuncPtrBase + 4, 0, 0, 0, 0, 0);
    EXPECT_EQ(bad.status, ExecStatus::BadCall);
    EXPECT_EQ(vm.fault_message(), "pc 0: 0xbf000000004 is not a function of the program");
}

TEST(CallFunction, FiresADueTimerWithTheKernelsArguments) {
    // A socket filter arms a timer in its array value (timer at 0, counter at 16) for +100 ns; the
    // callback (18) adds 1 to the counter through r3 (value) and reads the key through r2.
    program::MapSpec spec;
    spec.name = "timers";
    spec.type = program::MapType::Array;
    spec.key_size = 4;
    spec.value_size = 24;
    spec.max_entries = 1;
    auto inst = runtime::Instance::create(std::vector<program::MapSpec>{spec}, {});
    ASSERT_TRUE(inst.has_value());
    Code c;
    auto lddw = [&](std::uint8_t dst, Op op, std::int32_t imm) {
        isa::Insn lo = I(op, dst);
        lo.imm = imm;
        c << lo << isa::Insn{};
    };
    lddw(6, Op::LddwMapIdxValue, 0);  // 0
    lddw(7, Op::LddwMapIdx, 0);       // 2
    c << I(Op::Mov64Reg, 1, 6) << I(Op::Mov64Reg, 2, 7) << I(Op::Mov64Imm, 3, 0, 0, 1) << I(Op::CallHelper, 0, 0, 0, 169)
      << I(Op::Mov64Reg, 1, 6);       // 8
    lddw(2, Op::LddwFunc, 8);         // 9: the callback at 9 + 1 + 8 = 18
    c << I(Op::CallHelper, 0, 0, 0, 170) << I(Op::Mov64Reg, 1, 6) << I(Op::Mov64Imm, 2, 0, 0, 100)
      << I(Op::Mov64Imm, 3) << I(Op::CallHelper, 0, 0, 0, 171) << I(Op::Mov64Imm, 0) << I(Op::Exit);
    c << I(Op::Ldx32, 4, 2, 0) << I(Op::Ldx64, 0, 3, 16) << I(Op::Add64Imm, 0, 0, 0, 1) << I(Op::Add64Reg, 0, 4)
      << I(Op::Stx64, 3, 0, 16) << I(Op::Mov64Imm, 0) << I(Op::Exit);
    const program::Program p = make_program(c);
    runtime::Environment env = sf_environment();
    env.instance = inst->get();
    auto loaded = runtime::load(p, env);
    ASSERT_TRUE(loaded.has_value()) << loaded.error().render();
    Interpreter vm(*loaded);
    RunInput in;
    ASSERT_EQ(vm.run(in).status, ExecStatus::Ok) << vm.fault_message();
    runtime::Instance& i = **inst;
    EXPECT_TRUE(i.due_timers(99).empty());
    const auto due = i.due_timers(100);
    ASSERT_EQ(due.size(), 1U);
    const auto call = i.start_timer_callback(due[0]);
    ASSERT_TRUE(call.has_value());
    const ExecResult r = vm.call_function(call->callback, call->map_handle, call->key, call->value, 0, 0);
    i.finish_timer_callback();
    ASSERT_EQ(r.status, ExecStatus::Ok) << vm.fault_message();
    const std::array<std::uint8_t, 4> key{};
    EXPECT_EQ(load_le<std::uint64_t>(i.map(0).lookup(key.data()) + 16), 1U);
    EXPECT_TRUE(i.due_timers(1000).empty());
}

}  // namespace
}  // namespace sockfilter::vm::testing
