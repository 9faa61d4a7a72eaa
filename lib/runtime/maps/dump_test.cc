// SPDX-License-Identifier: MIT
// Dumping maps through their syscall side and comparing two dumps.
#include "runtime/maps/dump.h"

#include <algorithm>

#include "runtime/maps/test_util.h"

namespace sockfilter::runtime {
namespace {

using namespace testing;
using program::MapType;

TEST(MapDump, HashEntriesAndPerCpuValues) {
    auto h = make_map(spec(MapType::Hash, 4, 4, 8));
    ASSERT_TRUE(h);
    ASSERT_EQ(h->update_user(u32(7).data(), u32(70).data(), kBpfAny), 0);
    ASSERT_EQ(h->update_user(u32(3).data(), u32(30).data(), kBpfAny), 0);
    auto entries = read_entries(*h);
    std::sort(entries.begin(), entries.end());
    ASSERT_EQ(entries.size(), 2U);
    EXPECT_EQ(entries[0], (MapEntry{u32(3), u32(30)}));
    EXPECT_EQ(entries[1], (MapEntry{u32(7), u32(70)}));

    // Per-CPU values: every CPU's copy, padded to 8 bytes.
    auto pc = make_map(spec(MapType::PercpuArray, 4, 4, 2), 2);
    ASSERT_TRUE(pc);
    const auto all = read_entries(*pc);
    ASSERT_EQ(all.size(), 2U);
    EXPECT_EQ(all[1].key, u32(1));
    EXPECT_EQ(all[1].value.size(), 16U);
}

TEST(MapDump, QueueDrainsInPopOrder) {
    auto q = make_map(spec(MapType::Stack, 0, 4, 4));
    ASSERT_TRUE(q);
    ASSERT_EQ(q->push(u32(1).data(), kBpfAny), 0);
    ASSERT_EQ(q->push(u32(2).data(), kBpfAny), 0);
    const auto values = drain_values(*q);
    ASSERT_EQ(values.size(), 2U);
    EXPECT_EQ(values[0].value, u32(2));
    EXPECT_EQ(values[1].value, u32(1));
    EXPECT_TRUE(drain_values(*q).empty());
}

TEST(MapDump, CompareKeyedAsSets) {
    const std::vector<MapEntry> a{{u32(1), u32(10)}, {u32(2), u32(20)}};
    const std::vector<MapEntry> reordered{{u32(2), u32(20)}, {u32(1), u32(10)}};
    EXPECT_FALSE(compare_entries(a, reordered, false).has_value());

    // A value differs: both values, at that key.
    auto m = compare_entries(a, {{u32(1), u32(10)}, {u32(2), u32(21)}}, false);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->key, u32(2));
    EXPECT_EQ(m->first, u32(20));
    EXPECT_EQ(m->second, u32(21));

    // A key only one side has: the smallest such key, the other side empty.
    m = compare_entries(a, {{u32(2), u32(20)}}, false);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->key, u32(1));
    EXPECT_EQ(m->first, u32(10));
    EXPECT_FALSE(m->second.has_value());
    m = compare_entries({{u32(2), u32(20)}}, a, false);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->key, u32(1));
    EXPECT_FALSE(m->first.has_value());
    EXPECT_EQ(m->second, u32(10));
}

TEST(MapDump, CompareOrderedByPosition) {
    const std::vector<MapEntry> a{{{}, u32(1)}, {{}, u32(2)}};
    EXPECT_FALSE(compare_entries(a, a, true).has_value());
    auto m = compare_entries(a, {{{}, u32(2)}, {{}, u32(1)}}, true);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->position, 0U);
    EXPECT_EQ(m->first, u32(1));
    EXPECT_EQ(m->second, u32(2));
    m = compare_entries(a, {{{}, u32(1)}}, true);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->position, 1U);
    EXPECT_EQ(m->first, u32(2));
    EXPECT_FALSE(m->second.has_value());
}

}  // namespace
}  // namespace sockfilter::runtime
