// SPDX-License-Identifier: MIT
// LPM trie: longest match, exact update/delete, limits, post-order iteration.
#include "runtime/maps/lpm_trie.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include "runtime/maps/test_util.h"

namespace sockfilter::runtime {
namespace {

using namespace testing;
using program::MapType;

/// An IPv4 LPM key.
std::vector<std::uint8_t> key(std::uint32_t plen, std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    std::vector<std::uint8_t> k(8);
    std::memcpy(k.data(), &plen, 4);
    k[4] = a;
    k[5] = b;
    k[6] = c;
    k[7] = d;
    return k;
}

std::unique_ptr<Map> trie(std::uint32_t max) {
    return make_map(spec(MapType::LpmTrie, 8, 4, max, program::kMapNoPrealloc));
}

TEST(LpmTrie, LongestMatch) {
    auto t = trie(8);
    ASSERT_TRUE(t);
    ASSERT_EQ(t->update(key(16, 192, 168, 0, 0).data(), u32(16).data(), kBpfAny), 0);
    ASSERT_EQ(t->update(key(24, 192, 168, 1, 0).data(), u32(24).data(), kBpfAny), 0);
    ASSERT_EQ(t->update(key(8, 10, 0, 0, 0).data(), u32(8).data(), kBpfAny), 0);
    EXPECT_EQ(get_u32(t->lookup(key(32, 192, 168, 1, 7).data())), 24U);
    EXPECT_EQ(get_u32(t->lookup(key(32, 192, 168, 2, 7).data())), 16U);
    EXPECT_EQ(get_u32(t->lookup(key(32, 10, 9, 9, 9).data())), 8U);
    EXPECT_EQ(t->lookup(key(32, 11, 0, 0, 0).data()), nullptr);
    EXPECT_EQ(get_u32(t->lookup(key(20, 192, 168, 1, 7).data())), 16U);  // the key's own prefixlen limits
    EXPECT_EQ(t->lookup(key(33, 10, 0, 0, 0).data()), nullptr);
}

TEST(LpmTrie, FlagsLimitsAndDelete) {
    auto t = trie(2);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->update(key(33, 1, 0, 0, 0).data(), u32(1).data(), kBpfAny), -EINVAL);
    EXPECT_EQ(t->update(key(8, 1, 0, 0, 0).data(), u32(1).data(), 3), -EINVAL);
    EXPECT_EQ(t->update(key(8, 1, 0, 0, 0).data(), u32(1).data(), kBpfExist), -ENOENT);
    EXPECT_EQ(t->update(key(8, 1, 0, 0, 0).data(), u32(1).data(), kBpfNoExist), 0);
    EXPECT_EQ(t->update(key(8, 1, 0, 0, 0).data(), u32(2).data(), kBpfNoExist), -EEXIST);
    EXPECT_EQ(t->update(key(8, 2, 0, 0, 0).data(), u32(2).data(), kBpfAny), 0);
    EXPECT_EQ(t->update(key(8, 3, 0, 0, 0).data(), u32(3).data(), kBpfAny), -ENOSPC);
    EXPECT_EQ(t->update(key(8, 2, 0, 0, 0).data(), u32(4).data(), kBpfExist), 0);  // replacing needs no room
    EXPECT_EQ(t->remove(key(7, 2, 0, 0, 0).data()), -ENOENT);
    EXPECT_EQ(t->remove(key(40, 2, 0, 0, 0).data()), -EINVAL);
    EXPECT_EQ(t->remove(key(8, 2, 0, 0, 0).data()), 0);
    EXPECT_EQ(t->update(key(8, 3, 0, 0, 0).data(), u32(3).data(), kBpfAny), 0);
}

TEST(LpmTrie, PostOrderIteration) {
    auto t = trie(8);
    ASSERT_TRUE(t);
    ASSERT_EQ(t->update(key(16, 192, 168, 0, 0).data(), u32(0).data(), kBpfAny), 0);
    ASSERT_EQ(t->update(key(24, 192, 168, 0, 0).data(), u32(0).data(), kBpfAny), 0);
    ASSERT_EQ(t->update(key(24, 192, 168, 1, 0).data(), u32(0).data(), kBpfAny), 0);
    ASSERT_EQ(t->update(key(24, 192, 168, 128, 0).data(), u32(0).data(), kBpfAny), 0);
    // The kernel's documented order: more specific prefixes first.
    const std::vector<std::vector<std::uint8_t>> expected = {key(24, 192, 168, 0, 0), key(24, 192, 168, 1, 0),
                                                             key(24, 192, 168, 128, 0), key(16, 192, 168, 0, 0)};
    std::vector<std::uint8_t> next(8);
    std::vector<std::uint8_t> cur;
    const std::uint8_t* prev = nullptr;
    for (const auto& want : expected) {
        ASSERT_EQ(t->get_next_key(prev, next.data()), 0);
        EXPECT_EQ(next, want);
        cur = next;
        prev = cur.data();
    }
    EXPECT_EQ(t->get_next_key(prev, next.data()), -ENOENT);
}

}  // namespace
}  // namespace sockfilter::runtime
