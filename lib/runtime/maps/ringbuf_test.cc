// SPDX-License-Identifier: MIT
// Ring buffers: reservation limits, commit order, discard, wrap-around, query, user ring drain.
#include "runtime/maps/ringbuf.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include "runtime/maps/test_util.h"

namespace sockfilter::runtime {
namespace {

using namespace testing;
using program::MapType;

RingbufMap* ring(std::unique_ptr<Map>& m) { return map_as<RingbufMap>(*m); }

TEST(Ringbuf, ReserveCommitConsumeInOrder) {
    auto m = make_map(spec(MapType::Ringbuf, 0, 0, 4096));
    ASSERT_TRUE(m);
    RingbufMap* rb = ring(m);
    ASSERT_NE(rb, nullptr);
    EXPECT_EQ(map_as<UserRingbufMap>(*m), nullptr);
    EXPECT_EQ(rb->reserve(8, 1), nullptr);  // flags must be 0
    std::uint8_t* a = rb->reserve(3, 0);
    std::uint8_t* b = rb->reserve(5, 0);
    ASSERT_TRUE(a != nullptr && b != nullptr);
    EXPECT_EQ(b - a, 16);  // 8-byte header + 3 bytes rounded up to 8
    EXPECT_EQ(get_u32(a - 8), 3U | kRingbufBusyBit);
    std::memcpy(a, "abc", 3);
    std::memcpy(b, "defgh", 5);
    EXPECT_TRUE(rb->commit(b, 0, false));
    EXPECT_FALSE(rb->consume().has_value());  // a is still reserved
    EXPECT_TRUE(rb->commit(a, 0, false));
    EXPECT_FALSE(rb->commit(a, 0, false));    // not twice
    EXPECT_EQ(rb->query(kRbAvailData), 32U);
    EXPECT_EQ(rb->query(kRbRingSize), 4096U);
    EXPECT_EQ(rb->query(kRbProdPos), 32U);
    EXPECT_EQ(rb->query(9), 0U);
    EXPECT_EQ(rb->consume(), (std::vector<std::uint8_t>{'a', 'b', 'c'}));
    EXPECT_EQ(rb->consume(), (std::vector<std::uint8_t>{'d', 'e', 'f', 'g', 'h'}));
    EXPECT_FALSE(rb->consume().has_value());
    EXPECT_EQ(rb->query(kRbConsPos), 32U);
}

TEST(Ringbuf, DiscardSpaceAndWrap) {
    auto m = make_map(spec(MapType::Ringbuf, 0, 0, 4096));
    RingbufMap* rb = ring(m);
    std::uint8_t* d = rb->reserve(10, 0);
    ASSERT_NE(d, nullptr);
    EXPECT_TRUE(rb->commit(d, 0, true));
    EXPECT_EQ(rb->reserve(4096, 0), nullptr);  // never fits
    // 24 + 2048 bytes used; another 2048 would pass size - 1 (producer - consumer <= 4095).
    const std::uint8_t data[2040] = {};
    EXPECT_EQ(rb->output(data, 2040, 0), 0);
    EXPECT_EQ(rb->output(data, 2040, 0), -EAGAIN);
    EXPECT_EQ(rb->output(data, 1, 4), -EINVAL);
    EXPECT_EQ(rb->consume()->size(), 2040U);  // the discarded record is skipped
    EXPECT_EQ(rb->query(kRbConsPos), 2072U);
    // Now records wrap around the end of the ring and stay contiguous.
    std::vector<std::uint8_t> big(1500, 0x5a);
    EXPECT_EQ(rb->output(big.data(), big.size(), 0), 0);
    EXPECT_EQ(rb->output(big.data(), big.size(), 0), 0);
    EXPECT_EQ(rb->consume(), big);
    EXPECT_EQ(rb->consume(), big);
    EXPECT_LE(rb->arena().size(), 8192U);
}

TEST(UserRingbuf, ProduceAndDrain) {
    auto m = make_map(spec(MapType::UserRingbuf, 0, 0, 4096));
    UserRingbufMap* u = map_as<UserRingbufMap>(*m);
    ASSERT_NE(u, nullptr);
    const std::uint8_t one[] = {1, 2, 3};
    ASSERT_EQ(u->produce(one), 0);
    std::span<std::uint8_t> s;
    ASSERT_EQ(u->produce_reserve(4, s), 0);
    u->produce_commit(s, true);  // discarded
    ASSERT_EQ(u->produce(std::span<const std::uint8_t>(one, 1)), 0);
    EXPECT_EQ(u->produce_reserve(5000, s), -E2BIG);
    std::vector<std::size_t> sizes;
    const auto n = u->drain(0, [&](std::span<std::uint8_t> sample) {
        sizes.push_back(sample.size());
        EXPECT_EQ(u->drain(0, [](std::span<std::uint8_t>) { return std::uint64_t{0}; }), -EBUSY);
        return std::uint64_t{0};
    });
    EXPECT_EQ(n, 2);
    EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 1}));
    EXPECT_EQ(u->drain(0, [](std::span<std::uint8_t>) { return std::uint64_t{0}; }), 0);
    EXPECT_EQ(u->drain(4, [](std::span<std::uint8_t>) { return std::uint64_t{0}; }), -EINVAL);
    // A callback returning 1 stops after its sample.
    ASSERT_EQ(u->produce(one), 0);
    ASSERT_EQ(u->produce(one), 0);
    EXPECT_EQ(u->drain(0, [](std::span<std::uint8_t>) { return std::uint64_t{1}; }), 1);
    EXPECT_EQ(u->peek_sample(s), 0);
    u->release_sample(s);
    EXPECT_EQ(u->peek_sample(s), -ENODATA);
}

}  // namespace
}  // namespace sockfilter::runtime
