// SPDX-License-Identifier: MIT
// prog_array, perf_event_array, map-in-map and cgrp_storage.
#include "runtime/maps/fd_maps.h"

#include <cerrno>
#include <vector>

#include "runtime/maps/cgrp_storage.h"
#include "runtime/maps/test_util.h"

namespace sockfilter::runtime {
namespace {

using namespace testing;
using program::MapType;

TEST(ProgArray, Slots) {
    auto m = make_map(spec(MapType::ProgArray, 4, 4, 2));
    auto* p = map_as<ProgArrayMap>(*m);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->program_at(0), -1);
    EXPECT_EQ(m->update_user(u32(0).data(), u32(3).data(), kBpfNoExist), -EINVAL);
    EXPECT_EQ(m->update_user(u32(2).data(), u32(3).data(), kBpfAny), -E2BIG);
    EXPECT_EQ(m->update_user(u32(1).data(), u32(3).data(), kBpfAny), 0);
    EXPECT_EQ(p->program_at(1), 3);
    EXPECT_EQ(p->program_at(7), -1);
    EXPECT_EQ(m->remove(u32(0).data()), -ENOENT);
    EXPECT_EQ(m->remove(u32(1).data()), 0);
    EXPECT_EQ(m->lookup(u32(1).data()), nullptr);
}

TEST(PerfEventArray, OutputErrorsAndRecords) {
    MapOptions o;
    o.cpus = 2;
    o.perf_buffer_bytes = 64;
    auto r = create_map(spec(MapType::PerfEventArray, 4, 4, 2), o);
    ASSERT_TRUE(r);
    auto* pe = map_as<PerfEventArrayMap>(**r);
    ASSERT_NE(pe, nullptr);
    const std::uint8_t data[] = {9, 8};
    const std::uint8_t packet[] = {1, 2, 3, 4};
    EXPECT_EQ(pe->output(kPerfCurrentCpu, data, packet), -ENOENT);
    EXPECT_EQ((*r)->update_user(u32(0).data(), u32(0).data(), kBpfAny), 0);
    EXPECT_EQ((*r)->update_user(u32(1).data(), u32(1).data(), kBpfAny), 0);
    EXPECT_EQ((*r)->update_user(u32(1).data(), u32(5).data(), kBpfAny), -EBADF);
    EXPECT_EQ(pe->output(1ULL << 60, data, packet), -EINVAL);
    EXPECT_EQ(pe->output((5ULL << 32) | kPerfCurrentCpu, data, packet), -EFAULT);
    EXPECT_EQ(pe->output(2, data, packet), -E2BIG);
    EXPECT_EQ(pe->output(1, data, packet), -EOPNOTSUPP);  // bound to CPU 1, running on CPU 0
    EXPECT_EQ(pe->output((2ULL << 32) | kPerfCurrentCpu, data, packet), 0);
    (*r)->set_current_cpu(1);
    EXPECT_EQ(pe->output(kPerfCurrentCpu, data, {}), 0);
    EXPECT_EQ(pe->read(0), (std::vector<std::vector<std::uint8_t>>{{9, 8, 1, 2}}));
    EXPECT_EQ(pe->read(1), (std::vector<std::vector<std::uint8_t>>{{9, 8}}));
    const std::vector<std::uint8_t> big(60);
    EXPECT_EQ(pe->output(kPerfCurrentCpu, big, {}), -ENOSPC);
    EXPECT_EQ(pe->lost(1), 1U);
    std::uint8_t out[4];
    EXPECT_EQ((*r)->lookup_user(u32(0).data(), out), -kEnotsupp);
}

TEST(MapInMap, InnerCompatibility) {
    auto inner_spec = std::make_shared<program::MapSpec>(spec(MapType::Array, 4, 8, 4));
    auto outer_spec = spec(MapType::ArrayOfMaps, 4, 4, 2);
    outer_spec.inner = inner_spec;
    auto outer = make_map(outer_spec);
    ASSERT_TRUE(outer);
    auto good = make_map(*inner_spec);
    auto bigger = make_map(spec(MapType::Array, 4, 8, 5));
    auto* mm = map_as<MapOfMaps>(*outer);
    ASSERT_NE(mm, nullptr);
    EXPECT_EQ(mm->update_map(u32(0).data(), good.get(), kBpfAny), 0);
    EXPECT_EQ(mm->update_map(u32(1).data(), bigger.get(), kBpfAny), -EINVAL);  // max_entries differs
    EXPECT_EQ(mm->update_map(u32(1).data(), nullptr, kBpfAny), -EBADF);
    EXPECT_EQ(mm->update_map(u32(2).data(), good.get(), kBpfAny), -E2BIG);
    EXPECT_EQ(mm->lookup_map(u32(0).data()), good.get());
    std::uint8_t id[4];
    EXPECT_EQ(outer->lookup_user(u32(0).data(), id), 0);
    EXPECT_EQ(get_u32(id), good->id());

    auto flexible = std::make_shared<program::MapSpec>(spec(MapType::Array, 4, 8, 4, kMapInnerMap));
    auto hash_spec = spec(MapType::HashOfMaps, 4, 4, 2);
    hash_spec.inner = flexible;
    auto hom = make_map(hash_spec);
    auto any_size = make_map(spec(MapType::Array, 4, 8, 9, kMapInnerMap));
    auto* h = map_as<MapOfMaps>(*hom);
    EXPECT_EQ(h->update_map(u32(5).data(), any_size.get(), kBpfExist), -ENOENT);
    EXPECT_EQ(h->update_map(u32(5).data(), any_size.get(), kBpfAny), 0);
    EXPECT_EQ(h->lookup_map(u32(5).data()), any_size.get());
    EXPECT_EQ(hom->remove(u32(5).data()), 0);
    EXPECT_EQ(h->lookup_map(u32(5).data()), nullptr);

    auto no_inner = create_map(spec(MapType::ArrayOfMaps, 4, 4, 2));
    ASSERT_FALSE(no_inner);
    EXPECT_EQ(no_inner.error().sys_errno, EBADF);
}

TEST(CgrpStorage, GetCreateDelete) {
    auto s = spec(MapType::CgrpStorage, 4, 4, 0, program::kMapNoPrealloc);
    EXPECT_FALSE(create_map(s));  // BTF is required
    s.btf_key_type_id = 1;
    s.btf_value_type_id = 2;
    MapOptions o;
    o.cgroup_slots = 1;
    auto r = create_map(s, o);
    ASSERT_TRUE(r);
    auto* c = map_as<CgrpStorageMap>(**r);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->storage_get(7, nullptr, 0), nullptr);
    EXPECT_EQ(c->storage_get(0, nullptr, kLocalStorageGetCreate), nullptr);
    EXPECT_EQ(c->storage_get(7, nullptr, 2), nullptr);
    std::uint8_t* v = c->storage_get(7, u32(42).data(), kLocalStorageGetCreate);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(get_u32(v), 42U);
    EXPECT_EQ(c->storage_get(7, nullptr, 0), v);
    EXPECT_EQ(c->storage_get(8, nullptr, kLocalStorageGetCreate), nullptr);  // no free slot
    EXPECT_EQ(c->storage_delete(0), -EINVAL);
    EXPECT_EQ(c->storage_delete(8), -ENOENT);
    EXPECT_EQ(c->storage_delete(7), 0);
    EXPECT_EQ(c->size(), 0U);
    std::uint8_t out[4];
    EXPECT_EQ((*r)->get_next_key(nullptr, out), -kEnotsupp);
}

}  // namespace
}  // namespace sockfilter::runtime
