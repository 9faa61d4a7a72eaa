// SPDX-License-Identifier: MIT
// Hash-family semantics: flags, full maps, slot recycling, per-CPU copies, exact LRU eviction,
// and the kernel's bucket order for a zero seed.
#include "runtime/maps/hash_map.h"

#include <cerrno>
#include <set>

#include "runtime/maps/jhash.h"
#include "runtime/maps/test_util.h"

namespace sockfilter::runtime {
namespace {

using namespace testing;
using program::MapType;

TEST(Jhash, KnownValues) {
    // jhash("", 0, 0) is the lookup3 initial value mixed with nothing.
    EXPECT_EQ(jhash_bytes(nullptr, 0, 0), 0xdeadbeefU);
    const std::uint8_t k[5] = {1, 0, 0, 0, 0};
    // One word through jhash2 and four bytes through jhash mix identically; a fifth byte and
    // the seed change the hash.
    EXPECT_EQ(map_hash(k, 4, 0), jhash_bytes(k, 4, 0));
    EXPECT_EQ(map_hash(k, 5, 0), jhash_bytes(k, 5, 0));
    EXPECT_NE(map_hash(k, 5, 0), map_hash(k, 4, 0));
    EXPECT_NE(map_hash(k, 4, 1), map_hash(k, 4, 0));
}

TEST(HashMap, FlagsAndFull) {
    auto m = make_map(spec(MapType::Hash, 4, 4, 2));
    ASSERT_TRUE(m);
    EXPECT_EQ(m->update(u32(1).data(), u32(10).data(), kBpfExist), -ENOENT);
    EXPECT_EQ(m->update(u32(1).data(), u32(10).data(), kBpfNoExist), 0);
    EXPECT_EQ(m->update(u32(1).data(), u32(11).data(), kBpfNoExist), -EEXIST);
    std::uint8_t* v = m->lookup(u32(1).data());
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(m->update(u32(1).data(), u32(12).data(), kBpfExist), 0);
    EXPECT_EQ(get_u32(v), 12U);  // updated where it is
    EXPECT_EQ(m->update(u32(2).data(), u32(20).data(), kBpfAny), 0);
    EXPECT_EQ(m->update(u32(3).data(), u32(30).data(), kBpfAny), -E2BIG);
    EXPECT_EQ(m->update(u32(3).data(), u32(30).data(), 3), -EINVAL);
    EXPECT_EQ(m->update(u32(3).data(), u32(30).data(), kBpfFLock), -EINVAL);
    EXPECT_EQ(m->remove(u32(2).data()), 0);
    EXPECT_EQ(m->remove(u32(2).data()), -ENOENT);
    EXPECT_EQ(m->update(u32(3).data(), u32(30).data(), kBpfAny), 0);  // the slot was recycled
    const auto arena = m->arena();
    const std::uint8_t* v3 = m->lookup(u32(3).data());
    EXPECT_TRUE(v3 >= arena.data() && v3 < arena.data() + arena.size());
}

TEST(HashMap, ZeroSeedBucketOrder) {
    auto m = make_map(spec(MapType::Hash, 4, 4, 8, kMapZeroSeed));
    ASSERT_TRUE(m);
    std::set<std::uint32_t> keys;
    for (std::uint32_t k = 0; k < 8; ++k) {
        ASSERT_EQ(m->update(u32(k).data(), u32(k).data(), kBpfAny), 0);
    }
    // Walk: each key appears once, and bucket indices never decrease.
    std::uint8_t next[4];
    const std::uint8_t* prev = nullptr;
    std::vector<std::uint8_t> cur;
    std::uint32_t last_bucket = 0;
    while (m->get_next_key(prev, next) == 0) {
        const std::uint32_t key = get_u32(next);
        EXPECT_TRUE(keys.insert(key).second);
        const std::uint32_t bucket = map_hash(next, 4, 0) & 7;
        EXPECT_GE(bucket, last_bucket);
        last_bucket = bucket;
        cur.assign(next, next + 4);
        prev = cur.data();
    }
    EXPECT_EQ(keys.size(), 8U);
}

TEST(HashMap, PercpuUpdateZeroesOtherCpus) {
    auto m = make_map(spec(MapType::PercpuHash, 4, 4, 4), 2);
    ASSERT_TRUE(m);
    std::vector<std::uint8_t> all(16, 0xff);
    ASSERT_EQ(m->update_user(u32(1).data(), all.data(), kBpfAny), 0);
    EXPECT_EQ(m->remove(u32(1).data()), 0);
    m->set_current_cpu(1);
    ASSERT_EQ(m->update(u32(1).data(), u32(5).data(), kBpfAny), 0);
    EXPECT_EQ(get_u32(m->lookup_percpu(u32(1).data(), 1)), 5U);
    EXPECT_EQ(get_u32(m->lookup_percpu(u32(1).data(), 0)), 0U);
    EXPECT_EQ(m->lookup(u32(1).data()), m->lookup_percpu(u32(1).data(), 1));
}

TEST(HashMap, LruEvictsLeastRecentlyUsed) {
    auto m = make_map(spec(MapType::LruHash, 4, 4, 3));
    ASSERT_TRUE(m);
    for (std::uint32_t k = 1; k <= 3; ++k) {
        ASSERT_EQ(m->update(u32(k).data(), u32(k).data(), kBpfAny), 0);
    }
    ASSERT_NE(m->lookup(u32(1).data()), nullptr);  // 1 is now the most recently used
    ASSERT_EQ(m->update(u32(4).data(), u32(4).data(), kBpfAny), 0);
    EXPECT_EQ(m->lookup(u32(2).data()), nullptr);  // 2 was the least recently used
    EXPECT_NE(m->lookup(u32(1).data()), nullptr);
    EXPECT_NE(m->lookup(u32(3).data()), nullptr);
    // The kernel allocates (and evicts) before checking the flags: a refused update still evicts.
    EXPECT_EQ(m->update(u32(3).data(), u32(9).data(), kBpfNoExist), -EEXIST);
    EXPECT_EQ(static_cast<HashMap*>(m.get())->size(), 2U);
    EXPECT_EQ(m->lookup(u32(4).data()), nullptr);
}

TEST(HashMap, LookupAndDeleteUser) {
    auto m = make_map(spec(MapType::Hash, 4, 4, 4));
    ASSERT_EQ(m->update_user(u32(7).data(), u32(70).data(), kBpfAny), 0);
    std::uint8_t out[4];
    EXPECT_EQ(m->lookup_and_delete_user(u32(7).data(), out, 1), -EINVAL);
    EXPECT_EQ(m->lookup_and_delete_user(u32(7).data(), out, 0), 0);
    EXPECT_EQ(get_u32(out), 70U);
    EXPECT_EQ(m->lookup_and_delete_user(u32(7).data(), out, 0), -ENOENT);
    auto a = make_map(spec(MapType::Array, 4, 4, 4));
    EXPECT_EQ(a->lookup_and_delete_user(u32(0).data(), out, 0), -kEnotsupp);
}

}  // namespace
}  // namespace sockfilter::runtime
