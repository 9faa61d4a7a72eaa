// SPDX-License-Identifier: MIT
// Tests of the socket-filter context rules and narrow-load values (spec §1.2-§1.4).
#include "runtime/prog_type.h"

#include <gtest/gtest.h>

namespace sockfilter::runtime {
namespace {

bool ok(std::int32_t off, std::uint32_t size, CtxAccessKind k = CtxAccessKind::Load) {
    return socket_filter().check_access(off, size, k).has_value();
}

TEST(SocketFilterCtx, AccessRules) {
    EXPECT_TRUE(ok(0, 4));
    EXPECT_TRUE(ok(1, 1));
    EXPECT_FALSE(ok(1, 2));
    EXPECT_FALSE(ok(0, 8));
    EXPECT_TRUE(ok(48, 8));
    EXPECT_TRUE(ok(56, 8));
    EXPECT_FALSE(ok(52, 8));
    EXPECT_TRUE(ok(64, 4, CtxAccessKind::Store));
    EXPECT_FALSE(ok(8, 4, CtxAccessKind::Store));
    EXPECT_FALSE(ok(48, 4, CtxAccessKind::Atomic));
    EXPECT_TRUE(ok(168, 8));
    EXPECT_FALSE(ok(168, 4));
    EXPECT_FALSE(ok(72, 4));
    EXPECT_FALSE(ok(192, 1));
    EXPECT_FALSE(ok(-4, 4));
}

TEST(SocketFilterCtx, NarrowLoads) {
    Skb skb;
    skb.bytes.assign(60, 0);
    skb.meta.protocol = 0xdd86;
    skb.meta.pkt_type = kPacketMulticast;
    EXPECT_EQ(read_ctx(skb, 16, 4, false, 0), 0xdd86u);
    EXPECT_EQ(read_ctx(skb, 16, 2, false, 0), 0xdd86u);
    EXPECT_EQ(read_ctx(skb, 18, 2, false, 0), 0xdd86u);
    EXPECT_EQ(read_ctx(skb, 16, 1, false, 0), 0x86u);
    EXPECT_EQ(read_ctx(skb, 17, 1, false, 0), 0xddu);
    EXPECT_EQ(read_ctx(skb, 18, 1, false, 0), 0u);
    EXPECT_EQ(read_ctx(skb, 7, 1, false, 0), 2u);
    EXPECT_EQ(read_ctx(skb, 0, 2, false, 0), 60u);
    EXPECT_EQ(read_ctx(skb, 1, 1, false, 0), 0u);
    EXPECT_EQ(read_ctx(skb, 16, 1, true, 0), 0xffffffffffffff86u);
}

TEST(SocketFilterCtx, CbRoundTrip) {
    Skb skb;
    write_ctx_cb(skb, 48, 8, 0x1122334455667788u);
    EXPECT_EQ(read_ctx(skb, 48, 8, false, 0), 0x1122334455667788u);
    EXPECT_EQ(read_ctx(skb, 52, 4, false, 0), 0x11223344u);
    EXPECT_EQ(read_ctx(skb, 49, 1, false, 0), 0x77u);
}

}  // namespace
}  // namespace sockfilter::runtime
