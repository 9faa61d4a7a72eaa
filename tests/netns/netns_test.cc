// SPDX-License-Identifier: MIT
// The netns test library against the kernel: a veth pair carries exactly the frames the sender
// writes (nothing unsolicited arrives), the pcap holds the same frames, errors name the command,
// and everything goes away with its owner.
#include <gtest/gtest.h>

#include <linux/if_packet.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "frames.h"
#include "kernel_env.h"
#include "netns.h"
#include "pcap/reader.h"
#include "pcap/test_util.h"
#include "traffic.h"

namespace sockfilter::testing::netns {
namespace {

using namespace std::chrono_literals;

/// The inode of the calling thread's network namespace.
ino_t current_netns() {
    struct stat st {};
    EXPECT_EQ(::stat("/proc/thread-self/ns/net", &st), 0);
    return st.st_ino;
}

class NetnsTest : public KernelTest {};

TEST_F(NetnsTest, PairCarriesExactlyTheFramesSent) {
    pcap::testing::ScratchDir dir;
    auto pair = VethPair::create();
    ASSERT_TRUE(pair) << pair.error().render();
    EXPECT_NE(pair->a().ifindex, 0);
    EXPECT_NE(pair->b().ifindex, 0);

    auto witness = PacketSocket::open(pair->b(), SOCK_RAW);
    ASSERT_TRUE(witness) << witness.error().render();
    // Whatever the pair would send by itself comes right after the links go up.
    auto early = witness->drain(300ms);
    ASSERT_TRUE(early) << early.error().render();
    EXPECT_EQ(early->size(), 0U) << "frames arrived that nobody sent";

    const auto traffic = mixed_traffic(Hosts::between(pair->a(), pair->b()), 9999);
    ASSERT_EQ(traffic.size(), 31U);
    const std::string capture = dir.path("sent.pcap");
    {
        auto sender = TrafficSender::open(pair->a(), capture);
        ASSERT_TRUE(sender) << sender.error().render();
        for (const auto& c : traffic) {
            auto r = sender->send(c.bytes);
            ASSERT_TRUE(r) << c.what << ": " << r.error().render();
        }
        EXPECT_EQ(sender->sent(), traffic.size());
        auto closed = sender->close();
        ASSERT_TRUE(closed) << closed.error().render();
    }

    auto got = witness->receive(traffic.size(), 2s);
    ASSERT_TRUE(got) << got.error().render();
    ASSERT_EQ(got->size(), traffic.size());
    for (std::size_t i = 0; i < traffic.size(); ++i) {
        std::optional<std::uint16_t> tci;
        const auto expect = untag(traffic[i].bytes, tci);
        const Received& r = (*got)[i];
        EXPECT_EQ(r.bytes, expect) << i << " " << traffic[i].what;
        EXPECT_EQ(r.orig_len, expect.size()) << i << " " << traffic[i].what;
        EXPECT_EQ(r.vlan_tci, tci) << i << " " << traffic[i].what;
        const bool broadcast = traffic[i].bytes[0] == 0xff;
        EXPECT_EQ(r.pkt_type, broadcast ? PACKET_BROADCAST : PACKET_HOST) << i << " " << traffic[i].what;
    }
    // The replies b sends (ICMP errors, RSTs, echo replies) and their consequences stay out.
    auto late = witness->drain(300ms);
    ASSERT_TRUE(late) << late.error().render();
    EXPECT_EQ(late->size(), 0U) << "frames arrived that nobody sent";

    auto read = pcap::read_capture(capture);
    ASSERT_TRUE(read) << read.error().render();
    ASSERT_EQ(read->frames.size(), traffic.size());
    for (std::size_t i = 0; i < traffic.size(); ++i) {
        EXPECT_EQ(read->frames[i].bytes, traffic[i].bytes) << i;
        EXPECT_EQ(read->frames[i].orig_len, traffic[i].bytes.size()) << i;
    }
}

TEST_F(NetnsTest, InsideRestoresTheNamespace) {
    const ino_t before = current_netns();
    auto ns = Namespace::create();
    ASSERT_TRUE(ns) << ns.error().render();
    auto inner = in(*ns, [&]() -> Result<ino_t> { return current_netns(); });
    ASSERT_TRUE(inner) << inner.error().render();
    EXPECT_NE(*inner, before);
    EXPECT_EQ(current_netns(), before);
    // A failing body leaves too.
    auto failed = in(*ns, []() -> Result<void> { return fail(Errc::Io, "body failed"); });
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().render(), "body failed");
    EXPECT_EQ(current_netns(), before);
}

TEST_F(NetnsTest, EverythingGoesAwayWithItsOwner) {
    std::string a;
    std::string b;
    {
        auto pair = VethPair::create();
        ASSERT_TRUE(pair) << pair.error().render();
        a = pair->a().ns->name();
        b = pair->b().ns->name();
        EXPECT_NE(a, b);
        EXPECT_TRUE(std::filesystem::exists("/run/netns/" + a));
        EXPECT_TRUE(std::filesystem::exists("/run/netns/" + b));
    }
    EXPECT_FALSE(std::filesystem::exists("/run/netns/" + a));
    EXPECT_FALSE(std::filesystem::exists("/run/netns/" + b));
}

TEST_F(NetnsTest, ErrorsNameTheCommand) {
    auto ns = Namespace::create();
    ASSERT_TRUE(ns) << ns.error().render();
    auto r = run_command({"ip", "-n", ns->name(), "link", "set", "sf-no-such-dev", "up"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().render().rfind("ip -n " + ns->name() + " link set sf-no-such-dev up failed: ", 0), 0U)
        << r.error().render();
    auto missing = run_command({"sf-no-such-program"});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().render().rfind("sf-no-such-program failed: cannot run sf-no-such-program: ", 0), 0U)
        << missing.error().render();
}

TEST_F(NetnsTest, SenderIsBounded) {
    pcap::testing::ScratchDir dir;
    auto pair = VethPair::create();
    ASSERT_TRUE(pair) << pair.error().render();
    auto sender = TrafficSender::open(pair->a(), dir.path("bounded.pcap"), 2);
    ASSERT_TRUE(sender) << sender.error().render();
    const auto frame = ethernet_frame(Hosts::between(pair->a(), pair->b()), Link{}, 0x88b5, payload(46, 0));
    ASSERT_TRUE(sender->send(frame));
    ASSERT_TRUE(sender->send(frame));
    auto third = sender->send(frame);
    ASSERT_FALSE(third);
    EXPECT_EQ(third.error().render(), "traffic sender: more than 2 frames");
}

}  // namespace
}  // namespace sockfilter::testing::netns
