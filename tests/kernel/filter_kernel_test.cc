// SPDX-License-Identifier: MIT
// The filter compiler against the running kernel (label kernel; docs/TESTING.md):
// - every accept.tsv expression that compiles, for every supported link type and each socket kind
//   it can be compiled for, passes the kernel's verifier (100% required, counted);
// - the ELF object `compile -o` writes opens and loads through libbpf;
// - code for the network-header kind (EN10MB on packet-dgram, what BPF_PROG_TEST_RUN builds) gives
//   the interpreter's verdict under BPF_PROG_TEST_RUN on every Ethernet packet of apply.tsv's
//   captures and on crafted frames;
// - code for the `packet` kind, attached to a real AF_PACKET socket on a veth pair in test
//   namespaces, receives exactly the frames the interpreter keeps (the kernel untags the outer
//   802.1Q tag before the filter runs: `vlan 100 and tcp port 80` reads vlan_tci).
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "elf/writer.h"
#include "filter/compile.h"
#include "filter/test_util.h"
#include "frames.h"
#include "kernel/bpf.h"
#include "kernel/socket.h"
#include "kernel_env.h"
#include "netns.h"
#include "pcap/reader.h"
#include "pcap/test_util.h"
#include "traffic.h"

namespace sockfilter::filter {
namespace {

using namespace std::chrono_literals;
using sockfilter::testing::KernelTest;
namespace netns = sockfilter::testing::netns;

const std::string kDir = testing::pcap_filter_dir(SF_DEFAULT_SHARED_DIR);

/// The distinct (link type, expression) pairs of accept.tsv for the supported link types.
std::vector<std::pair<int, std::string>> accept_expressions() {
    std::set<std::pair<int, std::string>> seen;
    std::vector<std::pair<int, std::string>> out;
    for (const auto& r : testing::read_tsv(kDir + "/accept.tsv")) {
        if (r.size() < 3 || r[2] == "_enumerate_bpf_image") {
            continue;
        }
        auto lt = parse_linktype(r[1]);
        if (lt && seen.insert({*lt, r[2]}).second) {
            out.emplace_back(*lt, r[2]);
        }
    }
    return out;
}

/// Every Ethernet frame of the captures apply.tsv uses (each capture once), as test-run takes them.
std::vector<std::vector<std::uint8_t>> apply_frames() {
    std::set<std::string> files;
    for (const auto& r : testing::read_tsv(kDir + "/apply.tsv")) {
        if (r.size() >= 2) {
            files.insert(r[1]);
        }
    }
    std::vector<std::vector<std::uint8_t>> out;
    for (const auto& f : files) {
        auto reader = pcap::Reader::open(kDir + "/pcaps/" + f);
        if (!reader || reader->linktype() != runtime::dlt::kEn10mb) {
            continue;
        }
        for (;;) {
            auto frame = reader->next();
            if (!frame || !*frame) {
                break;
            }
            // BPF_PROG_TEST_RUN takes 14 bytes up to a page less its head- and tailroom.
            if ((*frame)->bytes.size() >= 14 && (*frame)->bytes.size() <= 1514 + 8) {
                out.push_back((*frame)->bytes);
            }
        }
    }
    return out;
}

/// Crafted frames: netns::mixed_traffic (IPv4/IPv6 UDP, TCP to 80 and 443, ICMP, 802.1Q-tagged
/// ones, a non-IP EtherType) between the addresses of a veth pair.
std::vector<netns::Crafted> crafted_frames() {
    netns::Hosts h;
    h.src_mac = {0x02, 0, 0, 0, 0, 1};
    h.dst_mac = {0x02, 0, 0, 0, 0, 2};
    h.src4 = {198, 18, 0, 1};
    h.dst4 = {198, 18, 0, 2};
    h.src6 = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    h.dst6 = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    auto frames = netns::mixed_traffic(h, 9999);
    const netns::Link tagged100{false, 100, 0};
    const netns::Link tagged100v6{true, 100, 0};
    frames.push_back({"vlan 100 tcp4 to 80", netns::tcp_frame(h, tagged100, 40100, 80, netns::kTcpSyn, 1, 0, {})});
    frames.push_back({"vlan 100 tcp6 to 80", netns::tcp_frame(h, tagged100v6, 40101, 80, netns::kTcpSyn, 1, 0, {})});
    frames.push_back({"vlan 100 tcp4 to 81", netns::tcp_frame(h, tagged100, 40102, 81, netns::kTcpSyn, 1, 0, {})});
    frames.push_back({"vlan 101 tcp4 to 80",
                      netns::tcp_frame(h, netns::Link{false, 101, 0}, 40103, 80, netns::kTcpSyn, 1, 0, {})});
    return frames;
}

class FilterKernelTest : public KernelTest {};

TEST_F(FilterKernelTest, EveryCompiledAcceptExpressionLoads) {
    const auto exprs = accept_expressions();
    ASSERT_GT(exprs.size(), 800U) << "accept.tsv not found under " << kDir;
    std::size_t compiled = 0;
    std::size_t loaded = 0;
    for (const auto& [lt, text] : exprs) {
        std::vector<Socket> kinds{Socket::PacketDgram};
        if (has_socket_link_header(lt)) {
            kinds.push_back(Socket::Packet);
        }
        for (const Socket s : kinds) {
            Options o;
            o.linktype = lt;
            o.socket = s;
            auto prog = compile(text, o);
            if (!prog) {
                continue;
            }
            ++compiled;
            auto fd = kernel::load_socket_filter(*prog);
            if (fd) {
                ++loaded;
            } else {
                ADD_FAILURE() << linktype_name(lt) << (s == Socket::Packet ? " packet" : " packet-dgram") << " '"
                              << text << "': the kernel refuses it: " << fd.error().render();
            }
        }
    }
    std::printf("accept.tsv: %zu programs compiled (all link types and socket kinds), %zu loaded in the kernel\n",
                compiled, loaded);
    EXPECT_GT(compiled, 1000U);
    EXPECT_EQ(loaded, compiled);
}

struct ObjectCloser {
    void operator()(bpf_object* o) const { bpf_object__close(o); }
};

TEST_F(FilterKernelTest, ElfObjectLoadsThroughLibbpf) {
    for (const char* text : {"tcp port 80", "vlan 100 and tcp port 80", "ip6 and tcp[13] & 2 != 0",
                             "icmp or arp or (udp and portrange 1000-2000)"}) {
        SCOPED_TRACE(text);
        auto prog = compile(text, Options{});
        ASSERT_TRUE(prog) << prog.error().render();
        program::Object obj;
        obj.license = "GPL";
        obj.programs.push_back(program::ObjectProgram{*prog, "socket", {}});
        auto bytes = elf::write_object(obj);
        ASSERT_TRUE(bytes) << bytes.error().render();
        LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "filter");
        std::unique_ptr<bpf_object, ObjectCloser> o(bpf_object__open_mem(bytes->data(), bytes->size(), &opts));
        ASSERT_NE(o, nullptr) << std::strerror(errno);
        bpf_program* p = bpf_object__find_program_by_name(o.get(), "filter");
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(bpf_program__type(p), BPF_PROG_TYPE_SOCKET_FILTER);
        ASSERT_EQ(bpf_object__load(o.get()), 0) << std::strerror(errno);
        EXPECT_GE(bpf_program__fd(p), 0);
        EXPECT_EQ(bpf_program__insn_cnt(p), prog->size());
    }
}

TEST_F(FilterKernelTest, TestRunVerdictsEqualTheInterpreter) {
    const auto exprs = accept_expressions();
    auto frames = apply_frames();
    ASSERT_GT(frames.size(), 100U);
    for (auto& c : crafted_frames()) {
        frames.push_back(std::move(c.bytes));
    }
    Options o;
    o.linktype = runtime::dlt::kEn10mb;
    o.socket = Socket::PacketDgram;
    std::size_t programs = 0;
    std::size_t runs = 0;
    std::size_t differ = 0;
    std::size_t matches = 0;
    for (const auto& [lt, text] : exprs) {
        if (lt != runtime::dlt::kEn10mb) {
            continue;
        }
        auto prog = compile(text, o);
        if (!prog) {
            continue;
        }
        auto fd = kernel::load_socket_filter(*prog);
        ASSERT_TRUE(fd) << text << ": " << fd.error().render();
        ++programs;
        for (std::size_t i = 0; i < frames.size(); ++i) {
            auto k = kernel::test_run(*fd, frames[i], std::nullopt);
            ASSERT_TRUE(k) << text << " frame " << i << ": " << k.error().render();
            const auto ours = testing::run_filter(*prog, frames[i], runtime::dlt::kEn10mb, runtime::SocketKind::TestRun);
            ASSERT_TRUE(ours.ok) << text << " frame " << i << ": " << ours.error;
            ++runs;
            matches += k->retval != 0 ? 1 : 0;
            if (ours.r0 != k->retval && ++differ <= 10) {
                ADD_FAILURE() << "'" << text << "' frame " << i << ": kernel " << k->retval << ", interpreter "
                              << ours.r0;
            }
        }
    }
    std::printf("test-run: %zu programs x %zu frames = %zu runs (%zu matches), %zu differ from the interpreter\n",
                programs, frames.size(), runs, matches, differ);
    EXPECT_GT(programs, 250U);
    EXPECT_GT(matches, 1000U);
    EXPECT_EQ(differ, 0U);
}

TEST_F(FilterKernelTest, PacketSocketReceivesWhatTheInterpreterKeeps) {
    auto pair = netns::VethPair::create();
    ASSERT_TRUE(pair) << pair.error().render();
    const auto hosts = netns::Hosts::between(pair->a(), pair->b());
    auto traffic = netns::mixed_traffic(hosts, 9999);
    const netns::Link tagged100{false, 100, 0};
    traffic.push_back({"vlan 100 tcp4 to 80", netns::tcp_frame(hosts, tagged100, 40100, 80, netns::kTcpSyn, 1, 0, {})});
    traffic.push_back({"vlan 100 tcp6 to 80",
                       netns::tcp_frame(hosts, netns::Link{true, 100, 0}, 40101, 80, netns::kTcpSyn, 1, 0, {})});
    traffic.push_back({"vlan 100 udp4 to 80", netns::udp_frame(hosts, tagged100, 40102, 80, netns::payload(20, 1))});
    traffic.push_back({"vlan 101 tcp4 to 80",
                       netns::tcp_frame(hosts, netns::Link{false, 101, 0}, 40103, 80, netns::kTcpSyn, 1, 0, {})});

    const char* const exprs[] = {"vlan 100 and tcp port 80", "tcp port 80", "udp", "ip6", "vlan", "not vlan and icmp",
                                 "vlan 5 or vlan 7", "ether proto 0x88b5", "ip and udp[8:2] > 0",
                                 "ether broadcast", "ip6 and tcp[13] & 2 != 0"};
    pcap::testing::ScratchDir dir;
    std::size_t kept_total = 0;
    for (const char* text : exprs) {
        SCOPED_TRACE(text);
        Options o;  // EN10MB, packet socket
        auto prog = compile(text, o);
        ASSERT_TRUE(prog) << prog.error().render();
        auto fd = kernel::load_socket_filter(*prog);
        ASSERT_TRUE(fd) << fd.error().render();
        std::vector<std::vector<std::uint8_t>> want;
        for (const auto& c : traffic) {
            const auto v = testing::run_filter(*prog, c.bytes, runtime::dlt::kEn10mb, runtime::SocketKind::Packet);
            ASSERT_TRUE(v.ok) << c.what << ": " << v.error;
            if (v.r0 != 0) {
                std::optional<std::uint16_t> tci;
                want.push_back(netns::untag(c.bytes, tci));
            }
        }
        auto sock = netns::PacketSocket::open(pair->b(), SOCK_RAW,
                                              [&](int s) -> Result<void> { return kernel::attach_bpf(s, *fd); });
        ASSERT_TRUE(sock) << sock.error().render();
        {
            auto sender = netns::TrafficSender::open(pair->a(), dir.path("sent.pcap"));
            ASSERT_TRUE(sender) << sender.error().render();
            for (const auto& c : traffic) {
                auto r = sender->send(c.bytes);
                ASSERT_TRUE(r) << c.what << ": " << r.error().render();
            }
            ASSERT_TRUE(sender->close());
        }
        auto got = sock->drain(300ms);
        ASSERT_TRUE(got) << got.error().render();
        std::vector<std::vector<std::uint8_t>> received;
        for (const auto& r : *got) {
            received.push_back(r.bytes);
        }
        EXPECT_EQ(received.size(), want.size());
        EXPECT_EQ(received, want);
        kept_total += received.size();
    }
    std::printf("packet socket: %zu frames sent per filter, %zu received in all, as the interpreter predicts\n",
                traffic.size(), kept_total);
    EXPECT_GT(kept_total, 10U);
}

}  // namespace
}  // namespace sockfilter::filter
