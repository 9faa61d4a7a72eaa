// SPDX-License-Identifier: MIT
// Tests of maps in the interpreter: lddw map references resolved against an Instance, map values
// as regions (read-only where frozen), helpers' pointer checks, and tail calls.
#include <array>
#include <cstring>

#include <gtest/gtest.h>

#include "runtime/instance.h"
#include "runtime/maps/fd_maps.h"
#include "support/bytes.h"
#include "vm/vm_test_util.h"

namespace sockfilter::vm::testing {
namespace {

program::MapSpec array_spec(std::string name, std::uint32_t value_size, std::uint32_t flags = 0) {
    program::MapSpec s;
    s.name = std::move(name);
    s.type = program::MapType::Array;
    s.key_size = 4;
    s.value_size = value_size;
    s.max_entries = 1;
    s.map_flags = flags;
    return s;
}

/// An instance with `.data` (8 bytes, initially 0x2a), `.rodata` (frozen, read-only for programs)
/// and a 4-slot prog array.
std::unique_ptr<runtime::Instance> make_instance() {
    std::vector<program::MapSpec> maps;
    maps.push_back(array_spec(".data", 8));
    maps[0].initial_value = {0x2a, 0, 0, 0, 0, 0, 0, 0};
    maps.push_back(array_spec(".rodata", 8, program::kMapRdonlyProg));
    maps[1].initial_value = {7, 0, 0, 0, 0, 0, 0, 0};
    maps[1].frozen = true;
    program::MapSpec jumps;
    jumps.name = "jumps";
    jumps.type = program::MapType::ProgArray;
    jumps.key_size = 4;
    jumps.value_size = 4;
    jumps.max_entries = 4;
    jumps.initial_slots = {{2, "second"}};
    maps.push_back(jumps);
    const std::vector<std::string> programs{"first", "second"};
    auto inst = runtime::Instance::create(maps, programs);
    EXPECT_TRUE(inst.has_value()) << inst.error().render();
    return std::move(*inst);
}

Code& lddw_map(Code& c, std::uint8_t dst, std::int32_t map, Op op, std::int32_t off = 0) {
    isa::Insn lo = I(op, dst);
    lo.imm = map;
    isa::Insn hi{};
    hi.imm = off;
    return c << lo << hi;
}

Outcome run_with(const Code& code, runtime::Instance& inst, const runtime::HelperRegistry& helpers,
                 std::uint32_t* tail_calls = nullptr) {
    const program::Program prog = make_program(code);
    runtime::Environment env{nullptr, &helpers, &inst};
    auto loaded = runtime::load(prog, env);
    EXPECT_TRUE(loaded.has_value()) << loaded.error().render();
    Interpreter vm(*loaded);
    std::array<std::uint8_t, 8> mem{};
    RunInput in;
    in.mem = mem;
    const ExecResult r = vm.run(in);
    if (tail_calls != nullptr) {
        *tail_calls = in.tail_calls;
    }
    return Outcome{r, vm.fault_message()};
}

TEST(Maps, GlobalDataIsReadAndWrittenThroughMapValueReferences) {
    auto inst = make_instance();
    Code c;
    lddw_map(c, 1, 0, Op::LddwMapIdxValue, 0);
    c << I(Op::Ldx64, 0, 1, 0) << I(Op::Add64Imm, 0, 0, 0, 1) << I(Op::Stx64, 1, 0, 0) << I(Op::Exit);
    const auto& helpers = runtime::conformance_helpers();
    EXPECT_EQ(run_with(c, *inst, helpers).result.r0, 0x2bu);
    EXPECT_EQ(run_with(c, *inst, helpers).result.r0, 0x2cu);  // the value persists across runs
    std::array<std::uint8_t, 4> key{};
    std::array<std::uint8_t, 8> value{};
    ASSERT_EQ(inst->map(0).lookup_user(key.data(), value.data()), 0);
    EXPECT_EQ(load_le<std::uint64_t>(value.data()), 0x2cu);
}

TEST(Maps, FrozenRodataIsReadOnlyForPrograms) {
    auto inst = make_instance();
    Code read;
    lddw_map(read, 1, 1, Op::LddwMapIdxValue, 0);
    read << I(Op::Ldx8, 0, 1, 0) << I(Op::Exit);
    EXPECT_EQ(run_with(read, *inst, runtime::conformance_helpers()).result.r0, 7u);

    Code write;
    lddw_map(write, 1, 1, Op::LddwMapIdxValue, 0);
    write << I(Op::St8, 1, 0, 0, 1) << I(Op::Mov64Imm) << I(Op::Exit);
    const Outcome o = run_with(write, *inst, runtime::conformance_helpers());
    EXPECT_EQ(o.result.status, ExecStatus::MemoryFault);
    EXPECT_NE(o.message.find("pc 2: write of 1 bytes at r1+0"), std::string::npos) << o.message;
    EXPECT_NE(o.message.find("into read-only map memory"), std::string::npos) << o.message;
}

TEST(Maps, AMapHandleCannotBeDereferencedAndReachesHelpers) {
    auto inst = make_instance();
    Code deref;
    lddw_map(deref, 1, 0, Op::LddwMapIdx);
    deref << I(Op::Ldx8, 0, 1, 0) << I(Op::Exit);
    const Outcome o = run_with(deref, *inst, runtime::conformance_helpers());
    EXPECT_EQ(o.result.status, ExecStatus::MemoryFault);

    // A helper sees the handle and can name the map; it may write r2's stack bytes, not r3's address.
    runtime::HelperRegistry reg;
    reg.add({1, "probe", [](runtime::CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3,
                            std::uint64_t, std::uint64_t) -> std::uint64_t {
                 const bool ok = env.instance->map_index(r1) == 0 && env.memory->writable(r2, 8) &&
                                 !env.memory->readable(r3, 1) && !env.memory->readable(r2, 16);
                 return ok ? 1 : 0;
             }});
    Code call;
    lddw_map(call, 1, 0, Op::LddwMapIdx);
    call << I(Op::Mov64Reg, 2, 10) << I(Op::Add64Imm, 2, 0, 0, -8) << I(Op::Mov64Imm, 3, 0, 0, 0)
         << I(Op::CallHelper, 0, 0, 0, 1) << I(Op::Exit);
    const Outcome c = run_with(call, *inst, reg);
    EXPECT_EQ(c.result.status, ExecStatus::Ok) << c.message;
    EXPECT_EQ(c.result.r0, 1u);
}

TEST(Maps, ATailCallEndsTheRunWithTheTargetProgram) {
    auto inst = make_instance();
    runtime::HelperRegistry reg;
    reg.add({12, "tail_call", [](runtime::CallEnv& env, std::uint64_t, std::uint64_t r2, std::uint64_t r3,
                                 std::uint64_t, std::uint64_t) -> std::uint64_t {
                 auto* jumps = runtime::map_as<runtime::ProgArrayMap>(*env.instance->map_from_handle(r2));
                 const std::int32_t target = jumps->program_at(static_cast<std::uint32_t>(r3));
                 if (target < 0 || env.tail_calls >= runtime::kMaxTailCalls) {
                     return static_cast<std::uint64_t>(-2);
                 }
                 ++env.tail_calls;
                 env.tail_call_target = target;
                 env.stop = true;
                 return 0;
             }});
    Code c;
    lddw_map(c, 2, 2, Op::LddwMapIdx);
    c << I(Op::Mov64Imm, 3, 0, 0, 2) << I(Op::CallHelper, 0, 0, 0, 12) << I(Op::Mov64Imm, 0, 0, 0, 99) << I(Op::Exit);
    std::uint32_t tail_calls = 0;
    const Outcome o = run_with(c, *inst, reg, &tail_calls);
    EXPECT_EQ(o.result.status, ExecStatus::TailCall) << o.message;
    EXPECT_EQ(o.result.r0, 1u);  // "second"
    EXPECT_EQ(tail_calls, 1u);

    Code empty;
    lddw_map(empty, 2, 2, Op::LddwMapIdx);
    empty << I(Op::Mov64Imm, 3, 0, 0, 1) << I(Op::CallHelper, 0, 0, 0, 12) << I(Op::Mov64Imm, 0, 0, 0, 99)
          << I(Op::Exit);
    const Outcome f = run_with(empty, *inst, reg);
    EXPECT_EQ(f.result.status, ExecStatus::Ok);
    EXPECT_EQ(f.result.r0, 99u);  // an empty slot falls through
}

TEST(Maps, LoadRefusesUnknownMapsAndBadDirectValueOffsets) {
    auto inst = make_instance();
    runtime::Environment env{nullptr, &runtime::conformance_helpers(), inst.get()};
    Code out_of_range;
    lddw_map(out_of_range, 1, 9, Op::LddwMapIdx);
    out_of_range << I(Op::Mov64Imm) << I(Op::Exit);
    const program::Program p1 = make_program(out_of_range);
    EXPECT_FALSE(runtime::load(p1, env).has_value());
    Code past_value;
    lddw_map(past_value, 1, 0, Op::LddwMapIdxValue, 8);
    past_value << I(Op::Mov64Imm) << I(Op::Exit);
    const program::Program p2 = make_program(past_value);
    EXPECT_EQ(runtime::load(p2, env).error().render(), "pc 0: invalid access to map value pointer, value_size=8 off=8");
    Code not_array;
    lddw_map(not_array, 1, 2, Op::LddwMapIdxValue, 0);
    not_array << I(Op::Mov64Imm) << I(Op::Exit);
    const program::Program p3 = make_program(not_array);
    EXPECT_EQ(runtime::load(p3, env).error().render(),
              "pc 0: direct value access on prog_array map \"jumps\" is not supported (only single-element arrays)");
    // BPF_MAX_VAR_OFF (1 << 29) is checked first, whatever the map (test_verifier "direct map
    // access, write test 12"); one below it is an ordinary out-of-value offset ("write test 13").
    for (const std::uint32_t map : {0U, 2U}) {
        Code too_far;
        lddw_map(too_far, 1, static_cast<std::int32_t>(map), Op::LddwMapIdxValue, 1 << 29);
        too_far << I(Op::Mov64Imm) << I(Op::Exit);
        const program::Program p4 = make_program(too_far);
        EXPECT_EQ(runtime::load(p4, env).error().render(), "pc 0: direct value offset of 536870912 is not allowed");
    }
    Code just_below;
    lddw_map(just_below, 1, 0, Op::LddwMapIdxValue, (1 << 29) - 1);
    just_below << I(Op::Mov64Imm) << I(Op::Exit);
    const program::Program p5 = make_program(just_below);
    EXPECT_EQ(runtime::load(p5, env).error().render(),
              "pc 0: invalid access to map value pointer, value_size=8 off=536870911");
}

}  // namespace
}  // namespace sockfilter::vm::testing

namespace sockfilter::vm::testing {
namespace {

/// A bpf_loop-shaped helper: calls r2(i, r3) for i in [0, r1) until it returns non-zero.
std::uint64_t loop_helper(runtime::CallEnv& env, std::uint64_t n, std::uint64_t fn, std::uint64_t ctx, std::uint64_t,
                          std::uint64_t) {
    std::uint64_t i = 0;
    for (; i < n; ++i) {
        const std::uint64_t stop = env.callbacks->call(fn, i, ctx, 0, 0, 0);
        if (!env.fault.empty() || stop != 0) {
            return i + 1;
        }
    }
    return i;
}

TEST(Callbacks, RunOnTheirOwnFrameAndSeeTheCallersStack) {
    runtime::HelperRegistry reg;
    reg.add({181, "loop", &loop_helper});
    // main: *(u64 *)(r10 - 8) = 0; r1 = 5; r2 = &cb; r3 = r10 - 8; call loop; r0 = *(u64 *)(r10 - 8); exit
    // cb(i, ctx): *(u64 *)(r10 - 8) = 7 (its own frame); *ctx += i; r0 = 0; exit
    Code c;
    c << I(Op::St64, 10, 0, -8, 0) << I(Op::Mov64Imm, 1, 0, 0, 5);
    isa::Insn lo = I(Op::LddwFunc, 2);
    lo.imm = 6;  // slot 2 + 1 + 6 = 9: the callback
    c << lo << isa::Insn{} << I(Op::Mov64Reg, 3, 10) << I(Op::Add64Imm, 3, 0, 0, -8)
      << I(Op::CallHelper, 0, 0, 0, 181) << I(Op::Ldx64, 0, 10, -8) << I(Op::Exit);
    c << I(Op::St64, 10, 0, -8, 7) << I(Op::Ldx64, 4, 2, 0) << I(Op::Add64Reg, 4, 1) << I(Op::Stx64, 2, 4, 0)
      << I(Op::Mov64Imm, 0, 0, 0, 0) << I(Op::Exit);
    const Outcome o = run_raw(c, {}, Options{}, &reg);
    ASSERT_EQ(o.result.status, ExecStatus::Ok) << o.message;
    EXPECT_EQ(o.result.r0, 0u + 1 + 2 + 3 + 4);
}

TEST(Callbacks, AFaultInACallbackFaultsTheRunAndTheBudgetIsShared) {
    runtime::HelperRegistry reg;
    reg.add({181, "loop", &loop_helper});
    Code c;
    c << I(Op::Mov64Imm, 1, 0, 0, 1000);
    isa::Insn lo = I(Op::LddwFunc, 2);
    lo.imm = 4;
    c << lo << isa::Insn{} << I(Op::Mov64Imm, 3, 0, 0, 0) << I(Op::CallHelper, 0, 0, 0, 181) << I(Op::Exit);
    c << I(Op::Mov64Imm, 0, 0, 0, 0) << I(Op::Exit);
    Options small;
    small.budget = 100;
    const Outcome o = run_raw(c, {}, small, &reg);
    EXPECT_EQ(o.result.status, ExecStatus::HelperFault);
    EXPECT_NE(o.message.find("in callback: pc 6: instruction budget of 100 exceeded"), std::string::npos) << o.message;

    Code bad;
    bad << I(Op::Mov64Imm, 1, 0, 0, 1);
    lo.imm = 4;
    bad << lo << isa::Insn{} << I(Op::Mov64Imm, 3, 0, 0, 0) << I(Op::CallHelper, 0, 0, 0, 181) << I(Op::Exit);
    bad << I(Op::Ldx8, 0, 3, 0) << I(Op::Exit);  // dereferences NULL
    const Outcome f = run_raw(bad, {}, Options{}, &reg);
    EXPECT_EQ(f.result.status, ExecStatus::HelperFault);
    EXPECT_NE(f.message.find("in callback: pc 6: read of 1 bytes at r3+0"), std::string::npos) << f.message;
}

}  // namespace
}  // namespace sockfilter::vm::testing
