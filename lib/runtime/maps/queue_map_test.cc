// SPDX-License-Identifier: MIT
// Queue, stack and bloom filter semantics.
#include "runtime/maps/queue_map.h"

#include <cerrno>

#include "runtime/maps/test_util.h"

namespace sockfilter::runtime {
namespace {

using namespace testing;
using program::MapType;

TEST(QueueMap, FifoOverwriteAndEmpty) {
    auto q = make_map(spec(MapType::Queue, 0, 4, 2));
    ASSERT_TRUE(q);
    std::uint8_t out[4];
    EXPECT_EQ(q->pop(out), -ENOENT);
    EXPECT_EQ(get_u32(out), 0U);  // zero-filled
    EXPECT_EQ(q->push(u32(1).data(), kBpfAny), 0);
    EXPECT_EQ(q->push(u32(2).data(), kBpfAny), 0);
    EXPECT_EQ(q->push(u32(3).data(), kBpfAny), -E2BIG);
    EXPECT_EQ(q->push(u32(3).data(), kBpfNoExist), -EINVAL);
    EXPECT_EQ(q->push(u32(3).data(), kBpfExist), 0);  // overwrites the oldest (1)
    EXPECT_EQ(q->peek(out), 0);
    EXPECT_EQ(get_u32(out), 2U);
    EXPECT_EQ(q->pop(out), 0);
    EXPECT_EQ(get_u32(out), 2U);
    EXPECT_EQ(q->pop(out), 0);
    EXPECT_EQ(get_u32(out), 3U);
    EXPECT_EQ(q->remove(nullptr), -EINVAL);
    EXPECT_EQ(q->get_next_key(nullptr, out), -EINVAL);
}

TEST(QueueMap, StackIsLifoAndOverwritesOldest) {
    auto s = make_map(spec(MapType::Stack, 0, 4, 2));
    ASSERT_TRUE(s);
    std::uint8_t out[4];
    ASSERT_EQ(s->push(u32(1).data(), kBpfAny), 0);
    ASSERT_EQ(s->push(u32(2).data(), kBpfAny), 0);
    ASSERT_EQ(s->push(u32(3).data(), kBpfExist), 0);
    EXPECT_EQ(s->pop(out), 0);
    EXPECT_EQ(get_u32(out), 3U);
    EXPECT_EQ(s->pop(out), 0);
    EXPECT_EQ(get_u32(out), 2U);
    EXPECT_EQ(s->pop(out), -ENOENT);
}

TEST(BloomFilter, NoFalseNegatives) {
    auto s = spec(MapType::BloomFilter, 0, 4, 100);
    s.map_extra = 3;
    auto b = make_map(s);
    ASSERT_TRUE(b);
    EXPECT_EQ(static_cast<BloomFilterMap*>(b.get())->hash_funcs(), 3U);
    for (std::uint32_t v = 0; v < 100; v += 2) {
        ASSERT_EQ(b->push(u32(v).data(), kBpfAny), 0);
    }
    int absent = 0;
    for (std::uint32_t v = 0; v < 100; ++v) {
        auto val = u32(v);
        const auto rc = b->peek(val.data());
        if (v % 2 == 0) {
            EXPECT_EQ(rc, 0);
        } else {
            absent += rc == -ENOENT;
        }
    }
    EXPECT_GT(absent, 30);
    EXPECT_EQ(b->push(u32(1).data(), kBpfExist), -EINVAL);
    std::uint8_t out[4];
    EXPECT_EQ(b->pop(out), -EOPNOTSUPP);
    EXPECT_EQ(b->get_next_key(nullptr, out), -EOPNOTSUPP);
    EXPECT_EQ(b->remove(nullptr), -EOPNOTSUPP);
}

TEST(BloomFilter, DefaultHashFunctionsAndSize) {
    auto b = make_map(spec(MapType::BloomFilter, 0, 8, 10));
    ASSERT_TRUE(b);
    EXPECT_EQ(static_cast<BloomFilterMap*>(b.get())->hash_funcs(), 5U);
    EXPECT_EQ(BloomFilterMap::bitset_bytes(spec(MapType::BloomFilter, 0, 8, 10)), 16U);  // 70 bits -> 128
    EXPECT_EQ(BloomFilterMap::bitset_bytes(spec(MapType::BloomFilter, 0, 8, 1)), 8U);     // at least 64 bits
}

}  // namespace
}  // namespace sockfilter::runtime
