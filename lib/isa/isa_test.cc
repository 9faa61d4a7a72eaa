// SPDX-License-Identifier: MIT
// Tests of the instruction table and the structural decoder.
#include "isa/isa.h"

#include <cstring>

#include <gtest/gtest.h>

namespace sockfilter::isa {
namespace {

Result<Op> one(Insn i) {
    std::vector<Insn> v{i, Insn{}};
    return classify(v, 0);
}

TEST(Isa, SlotPacking) {
    const std::uint8_t raw[8] = {0xb7, 0x21, 0xfe, 0xff, 0x78, 0x56, 0x34, 0x12};
    Insn i = decode_slot(raw);
    EXPECT_EQ(i.opcode, 0xb7);
    EXPECT_EQ(i.dst, 1);
    EXPECT_EQ(i.src, 2);
    EXPECT_EQ(i.off, -2);
    EXPECT_EQ(i.imm, 0x12345678);
    std::uint8_t back[8];
    encode_slot(i, back);
    EXPECT_EQ(std::memcmp(raw, back, 8), 0);
}

TEST(Isa, Discriminators) {
    EXPECT_EQ(*one({0x3f, 1, 2, 0, 0}), Op::Div64Reg);
    EXPECT_EQ(*one({0x3f, 1, 2, 1, 0}), Op::Sdiv64Reg);
    EXPECT_EQ(*one({0xbf, 1, 2, 16, 0}), Op::Movsx64_16);
    EXPECT_EQ(*one({0xdb, 1, 2, 0, 0xf1}), Op::AtomicCmpxchg64);
    EXPECT_EQ(*one({0xdc, 1, 0, 0, 32}), Op::Be32);
    EXPECT_EQ(*one({0x85, 0, 1, 0, 3}), Op::CallLocal);
    EXPECT_EQ(*one({0x18, 1, 2, 0, 3}), Op::LddwMapValue);
}

TEST(Isa, ExactRejections) {
    EXPECT_EQ(one({0x8f, 0, 0, 0, 0}).error().render(), "pc 0: unknown opcode 0x8f");
    EXPECT_EQ(one({0x38, 0, 0, 0, 0}).error().render(), "pc 0: unknown opcode 0x38");
    EXPECT_EQ(one({0x3f, 1, 2, 2, 0}).error().render(), "pc 0: opcode 0x3f: invalid offset 2");
    EXPECT_EQ(one({0xdb, 1, 2, 0, 3}).error().render(), "pc 0: opcode 0xdb: invalid immediate 0x3");
    EXPECT_EQ(one({0x18, 1, 7, 0, 0}).error().render(), "pc 0: opcode 0x18: invalid source 7");
    EXPECT_EQ(one({0x07, 11, 0, 0, 1}).error().render(), "pc 0: opcode 0x07: invalid dst register r11");
    EXPECT_EQ(one({0x95, 1, 0, 0, 0}).error().render(), "pc 0: opcode 0x95: reserved field dst must be 0, is 1");
    EXPECT_EQ(one({0x0f, 1, 2, 0, 5}).error().render(), "pc 0: opcode 0x0f: reserved field imm must be 0, is 5");
    std::vector<Insn> lone{{0x18, 0, 0, 0, 1}};
    EXPECT_EQ(classify(lone, 0).error().render(), "pc 0: lddw is missing its second slot");
    std::vector<Insn> bad{{0x18, 0, 0, 0, 1}, {0x95, 0, 0, 0, 0}};
    EXPECT_EQ(classify(bad, 0).error().render(),
              "pc 0: second slot of lddw must have opcode, dst, src and off 0 (has opcode 0x95)");
}

TEST(Isa, ByteCountMustBeMultipleOfEight) {
    std::vector<std::uint8_t> b(12);
    EXPECT_EQ(slots_from_bytes(b).error().render(), "program size 12 is not a multiple of 8 bytes (4 trailing)");
}

}  // namespace
}  // namespace sockfilter::isa
