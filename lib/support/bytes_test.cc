// SPDX-License-Identifier: MIT
// Tests of byte-order and hex helpers.
#include "support/bytes.h"

#include <gtest/gtest.h>

namespace sockfilter {
namespace {

TEST(Bytes, Endian) {
    const std::uint8_t b[] = {0x12, 0x34, 0x56, 0x78};
    EXPECT_EQ(load_le<std::uint32_t>(b), 0x78563412u);
    EXPECT_EQ(load_be<std::uint32_t>(b), 0x12345678u);
    EXPECT_EQ(load_be<std::uint16_t>(b + 2), 0x5678u);
    std::uint8_t o[4];
    store_be<std::uint32_t>(o, 0xdeadbeef);
    EXPECT_EQ(to_hex(o), "deadbeef");
    store_le<std::uint16_t>(o, 0x1234);
    EXPECT_EQ(o[0], 0x34);
}

TEST(Bytes, ParseHex) {
    auto v = parse_hex("00 11:22 0xaB\nff");
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(to_hex(*v, " "), "00 11 22 ab ff");
    EXPECT_EQ(parse_hex("abc").error().message, "hex: odd number of digits");
    EXPECT_EQ(parse_hex("zz").error().message, "hex: unexpected character 'z' at column 1");
}

}  // namespace
}  // namespace sockfilter
