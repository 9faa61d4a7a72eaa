// SPDX-License-Identifier: MIT
// Tests of Program validation: targets, functions, falling off the end.
#include "program/program.h"

#include <gtest/gtest.h>

namespace sockfilter::program {
namespace {

using isa::Insn;

TEST(Program, FunctionsAndJumps) {
    // 0: call local +2 ; 1: exit ; 2: (pad) ... function at 3
    std::vector<Insn> s{{0x85, 0, 1, 0, 2}, {0xb7, 0, 0, 0, 0}, {0x95, 0, 0, 0, 0}, {0xb7, 0, 0, 0, 7}, {0x95, 0, 0, 0, 0}};
    auto p = Program::from_slots("t", s);
    ASSERT_TRUE(p.has_value()) << p.error().render();
    EXPECT_EQ(p->functions(), (std::vector<std::uint32_t>{0, 3}));
    EXPECT_EQ(p->function_of(4), 1u);
}

TEST(Program, Rejections) {
    std::vector<Insn> out{{0x05, 0, 0, 5, 0}, {0x95, 0, 0, 0, 0}};
    EXPECT_EQ(Program::from_slots("t", out).error().render(), "pc 0: jump out of range from insn 0 to 6");
    std::vector<Insn> mid{{0x05, 0, 0, 1, 0}, {0x18, 0, 0, 0, 1}, {0, 0, 0, 0, 0}, {0x95, 0, 0, 0, 0}};
    EXPECT_EQ(Program::from_slots("t", mid).error().render(), "pc 0: jump into the middle of ldimm64 insn 1");
    std::vector<Insn> end{{0xb7, 0, 0, 0, 0}};
    EXPECT_EQ(Program::from_slots("t", end).error().render(), "pc 0: last insn is not an exit or jmp");
    EXPECT_EQ(Program::from_slots("t", {}).error().render(), "empty program");
    std::vector<Insn> bad{{0x85, 0, 1, 0, 9}, {0x95, 0, 0, 0, 0}};
    EXPECT_EQ(Program::from_slots("t", bad).error().render(),
              "pc 0: call to invalid destination 10 (program has 2 slots)");
}

TEST(Program, SourcePositionsReplacePc) {
    std::vector<Insn> s{{0x8f, 0, 0, 0, 0}};
    auto p = Program::from_slots("t", s, {SourcePos{"a.s", 3, 1}});
    EXPECT_EQ(p.error().render(), "a.s:3:1: unknown opcode 0x8f");
}

}  // namespace
}  // namespace sockfilter::program
