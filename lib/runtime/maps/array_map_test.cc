// SPDX-License-Identifier: MIT
// Array and per-CPU array semantics, and create_map's refusals with their errno and message.
#include "runtime/maps/array_map.h"

#include <cerrno>

#include "runtime/maps/test_util.h"

namespace sockfilter::runtime {
namespace {

using namespace testing;
using program::MapType;

TEST(ArrayMap, LookupUpdateAndBounds) {
    auto m = make_map(spec(MapType::Array, 4, 6, 3));
    ASSERT_TRUE(m);
    EXPECT_EQ(m->arena().size(), 3U * 8);  // values rounded up to 8
    std::uint8_t* v = m->lookup(u32(2).data());
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v, m->arena().data() + 16);
    EXPECT_EQ(m->lookup(u32(3).data()), nullptr);
    const std::uint8_t val[6] = {1, 2, 3, 4, 5, 6};
    EXPECT_EQ(m->update(u32(2).data(), val, kBpfAny), 0);
    EXPECT_EQ(v[5], 6);
    EXPECT_EQ(m->update(u32(2).data(), val, kBpfNoExist), -EEXIST);
    EXPECT_EQ(m->update(u32(3).data(), val, kBpfAny), -E2BIG);
    EXPECT_EQ(m->update(u32(0).data(), val, 3), -EINVAL);
    EXPECT_EQ(m->update(u32(0).data(), val, kBpfFLock), -EINVAL);
    EXPECT_EQ(m->remove(u32(0).data()), -EINVAL);
    EXPECT_TRUE(m->program_writable());
}

TEST(ArrayMap, GetNextKeyOrder) {
    auto m = make_map(spec(MapType::Array, 4, 4, 2));
    std::uint8_t next[4];
    EXPECT_EQ(m->get_next_key(nullptr, next), 0);
    EXPECT_EQ(get_u32(next), 0U);
    EXPECT_EQ(m->get_next_key(u32(0).data(), next), 0);
    EXPECT_EQ(get_u32(next), 1U);
    EXPECT_EQ(m->get_next_key(u32(1).data(), next), -ENOENT);
    EXPECT_EQ(m->get_next_key(u32(9).data(), next), 0);
    EXPECT_EQ(get_u32(next), 0U);
}

TEST(ArrayMap, PercpuCopies) {
    auto m = make_map(spec(MapType::PercpuArray, 4, 4, 2), 3);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->user_value_size(), 3U * 8);
    m->set_current_cpu(2);
    EXPECT_EQ(m->update(u32(1).data(), u32(77).data(), kBpfAny), 0);
    EXPECT_EQ(get_u32(m->lookup_percpu(u32(1).data(), 2)), 77U);
    EXPECT_EQ(get_u32(m->lookup_percpu(u32(1).data(), 0)), 0U);
    EXPECT_EQ(m->lookup_percpu(u32(1).data(), 3), nullptr);
    std::vector<std::uint8_t> all(m->user_value_size());
    EXPECT_EQ(m->lookup_user(u32(1).data(), all.data()), 0);
    EXPECT_EQ(get_u32(all.data() + 16), 77U);
    // Per-CPU arrays count BPF_F_LOCK as an unknown flag before the index check.
    EXPECT_EQ(m->update(u32(5).data(), u32(1).data(), kBpfFLock), -EINVAL);
}

TEST(ArrayMap, GlobalDataInitialValueAndFrozen) {
    auto s = spec(MapType::Array, 4, 5, 1, program::kMapRdonlyProg);
    s.name = ".rodata";
    s.initial_value = {'h', 'e', 'l', 'l', 'o'};
    s.frozen = true;
    auto m = make_map(s);
    ASSERT_TRUE(m);
    EXPECT_EQ(std::memcmp(m->lookup(u32(0).data()), "hello", 5), 0);
    EXPECT_FALSE(m->program_writable());
    EXPECT_EQ(m->update_user(u32(0).data(), m->lookup(u32(0).data()), kBpfAny), -EPERM);
}

TEST(CreateMap, RefusalsCarryErrnoAndRule) {
    auto r = create_map(spec(MapType::Array, 8, 4, 1));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_EQ(r.error().sys_errno, EINVAL);
    EXPECT_EQ(r.error().message, "map \"m\" (array): key_size must be 4 (got 8)");
    r = create_map(spec(MapType::PercpuArray, 4, 40000, 1));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().sys_errno, E2BIG);
    r = create_map(spec(MapType::LruHash, 4, 4, 1, program::kMapNoPrealloc));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().sys_errno, kEnotsupp);
    r = create_map(spec(MapType::StackTrace, 4, 8, 1));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::NotSupported);
    MapOptions small;
    small.max_memory = 1024;
    r = create_map(spec(MapType::Array, 4, 8, 1000), small);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().sys_errno, ENOMEM);
    auto s = spec(MapType::Hash, 4, 4, 1);
    s.map_extra = 1;
    r = create_map(s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "map \"m\" (hash): map_extra is only for bloom filters and arenas");
}

}  // namespace
}  // namespace sockfilter::runtime
