// SPDX-License-Identifier: MIT
// Socket filters on real sockets against `sockfilter run --socket KIND`: in a veth pair between
// two network namespaces, each filter (small assembly programs and the example objects) is
// attached to an AF_PACKET SOCK_RAW, an AF_PACKET SOCK_DGRAM or a UDP socket on the receiving
// end, a fixed mix of frames is sent from the other end and recorded in a pcap file, and what the
// socket received (which packets, how many bytes, which bytes) must be what `sockfilter run`
// predicts for that file. TCP retransmits what a filter drops, so there a filter counts its
// verdicts in a map; the map after a real connection must equal the map `sockfilter run --maps`
// leaves after running over a capture of the segments the TCP socket saw.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "asm/assembler.h"
#include "elf/elf.h"
#include "frames.h"
#include "kernel/bpf.h"
#include "kernel/map_io.h"
#include "kernel/object.h"
#include "kernel/socket.h"
#include "kernel_env.h"
#include "netns.h"
#include "pcap/test_util.h"
#include "support/bytes.h"
#include "traffic.h"

namespace sockfilter::testing::netns {
namespace {

using namespace std::chrono_literals;

const std::string kExamples = SF_EXAMPLES_DIR;
const std::string kSockfilter = SF_SOCKFILTER;
const std::string kTcpVerdicts = SF_TCP_VERDICTS_OBJECT;
constexpr std::uint16_t kUdpPort = 9999;
constexpr std::uint16_t kTcpPort = 8080;

/// What `sockfilter run --json` says about one packet.
struct Prediction {
    std::optional<std::uint32_t> ret;  ///< nullopt: not delivered or faulted
    std::uint32_t kept = 0;
    std::string skipped;  ///< why the socket never receives it, or empty
    std::string error;    ///< the fault, or empty

    [[nodiscard]] bool delivered() const { return skipped.empty() && error.empty() && ret && *ret != 0; }
};

/// The output of one `sockfilter run --json [--maps]`.
struct RunOutput {
    std::vector<Prediction> packets;
    std::map<std::string, nlohmann::json> maps;  ///< map name -> its "entries"
};

/// Runs `sockfilter run ARGS --json` and parses its output.
Result<RunOutput> sockfilter_run(const std::vector<std::string>& args) {
    std::string cmd = "'" + kSockfilter + "' run";
    for (const auto& a : args) {
        cmd += " '" + a + "'";
    }
    cmd += " --json";
    FILE* pipe = ::popen(cmd.c_str(), "r");
    if (pipe == nullptr) {
        return fail(Errc::Io, "cannot run {}", cmd);
    }
    std::string text;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof(buf), pipe)) > 0;) {
        text.append(buf, n);
    }
    if (const int status = ::pclose(pipe); status != 0) {
        return fail(Errc::Io, "{} exited with status {}", cmd, status);
    }
    RunOutput out;
    std::size_t start = 0;
    for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
        const auto j = nlohmann::json::parse(text.substr(start, end - start));
        if (j.contains("map")) {
            out.maps[j["map"]["name"].get<std::string>()] = j["map"]["entries"];
        }
        if (!j.contains("index")) {
            continue;
        }
        if (j["index"].get<std::size_t>() != out.packets.size()) {
            return fail(Errc::Format, "{}: packet {} out of order", cmd, j["index"].get<std::size_t>());
        }
        Prediction p;
        if (!j["ret"].is_null()) {
            p.ret = j["ret"].get<std::uint32_t>();
        }
        p.kept = j["kept"].get<std::uint32_t>();
        if (j.contains("skipped")) {
            p.skipped = j["skipped"].get<std::string>();
        }
        if (j.contains("error")) {
            p.error = j["error"].get<std::string>();
        }
        out.packets.push_back(std::move(p));
    }
    return out;
}

/// A filter under test: loaded in the kernel, and the arguments that give it to `sockfilter run`.
struct Filter {
    std::string name;
    std::vector<std::string> run_args;
    kernel::Fd prog;
    kernel::LoadedObject object;  ///< an example's maps and its other programs (tail-call targets)
    std::vector<program::MapSpec> maps;  ///< the example's map specs, in LoadedObject::maps order
};

/// Assembly filters: fixed verdicts (drop, 1, 20 and 64 bytes, everything) and verdicts that
/// depend on the packet (its length less 10; four times a byte read with LD_ABS, which ends the
/// program with 0 when the packet is shorter).
constexpr std::pair<const char*, const char*> kAsmFilters[] = {
    {"ret_0", "r0 = 0\nexit\n"},
    {"ret_1", "r0 = 1\nexit\n"},
    {"ret_20", "r0 = 20\nexit\n"},
    {"ret_64", "r0 = 64\nexit\n"},
    {"ret_all", "r0 = -1\nexit\n"},
    {"len_minus_10", "r0 = *(u32 *)(r1 + 0)\nr0 -= 10\nexit\n"},
    {"ld_abs_byte_x4", "r6 = r1\nr0 = *(u8 *)skb[61]\nr0 *= 4\nexit\n"},
};

/// Every example program (tests/kernel/examples_kernel_test.cc lists the same).
constexpr std::pair<const char*, const char*> kExampleFilters[] = {
    {"port_ld_abs", "port_ld_abs"},     {"port_load_bytes", "port_load_bytes"},
    {"port_relative", "port_relative"}, {"proto_array", "proto_array"},
    {"flow_hash", "flow_hash"},         {"syn_ringbuf", "syn_ringbuf"},
    {"tail_dispatch", "dispatch"},      {"ipv6_ext_walk", "ipv6_ext_walk"},
    {"dynptr_parse", "dynptr_parse"},
};

/// Reads an object with elf::read_object, loads all of it with kernel::load_object (a tail-call
/// dispatcher needs its targets in the prog array) and keeps program `name`'s fd and the maps.
Result<Filter> load_example(const std::string& path, const std::string& name) {
    auto bytes = read_file(path);
    if (!bytes) {
        return tl::unexpected(std::move(bytes.error()));
    }
    auto obj = elf::read_object(*bytes, path);
    if (!obj) {
        return tl::unexpected(std::move(obj.error()));
    }
    auto chosen = elf::select_program(*obj, name);
    if (!chosen) {
        return tl::unexpected(std::move(chosen.error()));
    }
    auto loaded = kernel::load_object(*obj);
    if (!loaded) {
        return tl::unexpected(std::move(loaded.error()).with_context(path));
    }
    const auto index = static_cast<std::size_t>(*chosen - obj->programs.data());
    kernel::Fd prog = std::move(loaded->programs.at(index));
    return Filter{name, {path, "--program", name}, std::move(prog), std::move(*loaded), std::move(obj->maps)};
}

/// Every filter of the suite, freshly loaded (examples with empty maps).
std::vector<Filter> load_filters(const pcap::testing::ScratchDir& dir) {
    std::vector<Filter> out;
    for (const auto& [name, text] : kAsmFilters) {
        const std::string path = dir.path(std::string(name) + ".s");
        const std::string_view t(text);
        auto written = write_file_atomic(path, std::span(reinterpret_cast<const std::uint8_t*>(t.data()), t.size()));
        EXPECT_TRUE(written) << written.error().render();
        auto prog = assembler::assemble(text, name);
        EXPECT_TRUE(prog) << prog.error().render();
        if (!prog) {
            continue;
        }
        auto fd = kernel::load_socket_filter(*prog);
        EXPECT_TRUE(fd) << name << ": " << fd.error().render();
        if (fd) {
            out.push_back(Filter{name, {path}, std::move(*fd), {}, {}});
        }
    }
    for (const auto& [example, program] : kExampleFilters) {
        auto f = load_example(kExamples + "/" + example + ".o", program);
        EXPECT_TRUE(f) << f.error().render();
        if (f) {
            out.push_back(std::move(*f));
        }
    }
    return out;
}

/// The UDP payload of an (untagged) IPv4 or IPv6 frame of mixed_traffic.
std::vector<std::uint8_t> udp_payload(const std::vector<std::uint8_t>& frame) {
    const std::size_t ip = 14;
    const std::size_t udp = frame[12] == 0x86 ? ip + 40 : ip + (frame[ip] & 0x0fu) * 4u;
    const std::size_t len = static_cast<std::size_t>(frame[udp + 4] << 8 | frame[udp + 5]);
    return {frame.begin() + static_cast<std::ptrdiff_t>(udp + 8), frame.begin() + static_cast<std::ptrdiff_t>(udp + len)};
}

/// Agreement figures of one socket kind.
struct Tally {
    std::size_t runs = 0;       ///< packets × filters compared
    std::size_t delivered = 0;  ///< of them received by the socket (whole or trimmed)
    std::size_t trimmed = 0;    ///< of those, received shorter than they came
    std::size_t dropped = 0;    ///< the filter returned 0
    std::size_t not_delivered = 0;  ///< the socket never receives them (sockfilter: skipped)
    /// Tagged frames of a VLAN (id not 0) on a protocol socket: sockfilter assumes the VLAN device
    /// that would take them to the IP layer (docs/SEMANTICS.md, "VLAN tags"); the pair has none,
    /// so the kernel drops them. Checked to be exactly that difference.
    std::size_t vlan_device_assumed = 0;
    std::size_t maps = 0;         ///< array and hash maps compared after a run
    std::size_t map_entries = 0;  ///< their entries
};

enum class Kind { PacketRaw, PacketDgram, Udp };

const char* socket_arg(Kind k) {
    switch (k) {
        case Kind::PacketRaw: return "packet";
        case Kind::PacketDgram: return "packet-dgram";
        case Kind::Udp: return "udp";
    }
    return "";
}

/// A dual-stack UDP socket bound to [::]:kUdpPort in `at`'s namespace, with `filter` attached.
Result<kernel::Fd> udp_socket(const Endpoint& at, const kernel::Fd& filter) {
    return in(*at.ns, [&]() -> Result<kernel::Fd> {
        kernel::Fd s(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (!s) {
            return fail(Errc::Io, "socket(AF_INET6, SOCK_DGRAM) failed");
        }
        int off = 0;
        int buf = 4 << 20;
        if (::setsockopt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) != 0 ||
            ::setsockopt(s.get(), SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0) {
            return fail(Errc::Io, "setsockopt on the UDP socket failed");
        }
        if (auto r = kernel::attach_bpf(s.get(), filter); !r) {
            return tl::unexpected(std::move(r.error()));
        }
        sockaddr_in6 addr{};
        addr.sin6_family = AF_INET6;
        addr.sin6_port = htons(kUdpPort);
        if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
            return fail(Errc::Io, "cannot bind the UDP socket to port {}", kUdpPort);
        }
        return s;
    });
}

/// One datagram a UDP socket received: the index of the frame it came from and its payload.
struct Datagram {
    std::size_t index = 0;
    std::vector<std::uint8_t> payload;
};

/// Every datagram waiting on `sock` after none has come for `quiet`.
Result<std::vector<Datagram>> drain_udp(int sock, std::chrono::milliseconds quiet) {
    std::vector<Datagram> out;
    std::vector<std::uint8_t> buf;
    for (;;) {
        sockaddr_in6 from{};
        auto n = receive_one(sock, buf, &from, sizeof(from));
        if (!n) {
            return tl::unexpected(std::move(n.error()));
        }
        if (*n) {
            out.push_back({static_cast<std::size_t>(ntohs(from.sin6_port) - kUdpSourceBase),
                           std::vector<std::uint8_t>(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(**n))});
            continue;
        }
        auto ready = wait_readable(sock, quiet);
        if (!ready) {
            return tl::unexpected(std::move(ready.error()));
        }
        if (!*ready) {
            return out;
        }
    }
}

/// Every entry (hex key -> hex value) of the kernel map `fd`.
std::map<std::string, std::string> kernel_entries(const kernel::Fd& fd, const std::string& name) {
    std::map<std::string, std::string> out;
    auto entries = kernel::read_entries(fd);
    EXPECT_TRUE(entries) << name << ": " << entries.error().render();
    if (entries) {
        for (const auto& e : *entries) {
            out[to_hex(e.key)] = to_hex(e.value);
        }
    }
    return out;
}

/// The array and hash maps of `f` in the kernel equal those `sockfilter run --maps` printed (other
/// map types hold programs, records or per-CPU values, which a run does not compare).
void expect_same_maps(const Filter& f, const RunOutput& run, std::size_t& maps, std::size_t& entries) {
    for (std::size_t i = 0; i < f.maps.size(); ++i) {
        const program::MapSpec& spec = f.maps[i];
        if (spec.type != program::MapType::Array && spec.type != program::MapType::Hash) {
            continue;
        }
        const auto it = run.maps.find(spec.name);
        ASSERT_NE(it, run.maps.end()) << "sockfilter run --maps printed no map " << spec.name;
        std::map<std::string, std::string> ours;
        for (const auto& e : it->second) {
            ours[e["key"].get<std::string>()] = e["value"].get<std::string>();
        }
        EXPECT_EQ(ours, kernel_entries(f.object.maps[i].fd, spec.name)) << "map " << spec.name;
        ++maps;
        entries += ours.size();
    }
}

class RealSocketTest : public KernelTest {
protected:
    /// Every filter on a socket of `kind` against the same traffic; adds to `tally`.
    void check_kind(Kind kind);
};

void RealSocketTest::check_kind(Kind kind) {
    pcap::testing::ScratchDir dir;
    auto pair = VethPair::create();
    ASSERT_TRUE(pair) << pair.error().render();
    const Endpoint& b = pair->b();
    const auto traffic = mixed_traffic(Hosts::between(pair->a(), b), kUdpPort);
    const std::string ctx = fmt::format("ifindex={0},ingress_ifindex={0}", b.ifindex);
    Tally tally;
    for (Filter& f : load_filters(dir)) {
        SCOPED_TRACE(std::string(socket_arg(kind)) + " socket, filter " + f.name);
        const auto attach = [&](int fd) { return kernel::attach_bpf(fd, f.prog); };
        std::optional<PacketSocket> packet;
        kernel::Fd udp;
        if (kind == Kind::Udp) {
            auto s = udp_socket(b, f.prog);
            ASSERT_TRUE(s) << s.error().render();
            udp = std::move(*s);
        } else {
            auto s = PacketSocket::open(b, kind == Kind::PacketRaw ? SOCK_RAW : SOCK_DGRAM, attach);
            ASSERT_TRUE(s) << s.error().render();
            packet.emplace(std::move(*s));
        }
        auto witness = PacketSocket::open(b, SOCK_RAW);
        ASSERT_TRUE(witness) << witness.error().render();

        const std::string capture = dir.path(f.name + ".pcap");
        {
            auto sender = TrafficSender::open(pair->a(), capture);
            ASSERT_TRUE(sender) << sender.error().render();
            for (const auto& c : traffic) {
                auto r = sender->send(c.bytes);
                ASSERT_TRUE(r) << c.what << ": " << r.error().render();
            }
            auto closed = sender->close();
            ASSERT_TRUE(closed) << closed.error().render();
        }
        // Once the unfiltered witness has every frame, the socket under test has had its turn.
        auto seen = witness->receive(traffic.size(), 2s);
        ASSERT_TRUE(seen) << seen.error().render();
        ASSERT_EQ(seen->size(), traffic.size()) << "frames were lost on the veth pair";

        std::vector<std::string> args = f.run_args;
        args.insert(args.end(), {"-r", capture, "--socket", socket_arg(kind), "--ctx", ctx, "--maps"});
        auto predicted = sockfilter_run(args);
        ASSERT_TRUE(predicted) << predicted.error().render();
        ASSERT_EQ(predicted->packets.size(), traffic.size());

        tally.runs += traffic.size();
        for (std::size_t i = 0; i < traffic.size(); ++i) {
            const Prediction& p = predicted->packets[i];
            EXPECT_EQ(p.error, "") << "packet " << i << " (" << traffic[i].what << ") faulted in sockfilter";
            if (p.delivered()) {
                ++tally.delivered;
            } else if (!p.skipped.empty()) {
                ++tally.not_delivered;
            } else {
                ++tally.dropped;
            }
        }

        if (kind == Kind::Udp) {
            auto got = drain_udp(udp.get(), 100ms);
            ASSERT_TRUE(got) << got.error().render();
            std::map<std::size_t, std::vector<std::uint8_t>> by_index;
            for (auto& d : *got) {
                EXPECT_TRUE(by_index.emplace(d.index, std::move(d.payload)).second)
                    << "datagram " << d.index << " received twice";
            }
            for (std::size_t i = 0; i < traffic.size(); ++i) {
                const Prediction& p = predicted->packets[i];
                const auto it = by_index.find(i);
                std::optional<std::uint16_t> tag;
                (void)untag(traffic[i].bytes, tag);
                if (tag && (*tag & 0x0fff) != 0 && p.delivered()) {
                    ++tally.vlan_device_assumed;
                    EXPECT_EQ(it, by_index.end()) << "packet " << i << " (" << traffic[i].what
                                                  << "): the kernel delivered a VLAN frame without a VLAN device";
                    continue;
                }
                if (!p.delivered()) {
                    EXPECT_EQ(it, by_index.end()) << "packet " << i << " (" << traffic[i].what
                                                  << "): the kernel delivered what sockfilter says is "
                                                  << (p.skipped.empty() ? "dropped" : "not delivered: " + p.skipped);
                    continue;
                }
                if (it == by_index.end()) {
                    ADD_FAILURE() << "packet " << i << " (" << traffic[i].what << "): sockfilter keeps " << p.kept
                                  << " bytes (ret " << *p.ret << "), the kernel delivered nothing";
                    continue;
                }
                std::optional<std::uint16_t> tci;
                const auto full = udp_payload(untag(traffic[i].bytes, tci));
                ASSERT_GE(p.kept, 8U) << "packet " << i;
                const std::size_t kept = p.kept - 8;
                EXPECT_EQ(it->second.size(), kept) << "packet " << i << " (" << traffic[i].what << "), ret " << *p.ret;
                if (kept < full.size()) {
                    ++tally.trimmed;
                }
                EXPECT_EQ(it->second, std::vector<std::uint8_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(
                                                                                    std::min(kept, full.size()))))
                    << "packet " << i << " (" << traffic[i].what << ")";
            }
            for (const auto& [index, payload] : by_index) {
                EXPECT_LT(index, traffic.size()) << "a datagram from an unknown port";
            }
            continue;
        }

        auto got = packet->drain(100ms);
        ASSERT_TRUE(got) << got.error().render();
        std::size_t j = 0;
        for (std::size_t i = 0; i < traffic.size(); ++i) {
            const Prediction& p = predicted->packets[i];
            if (!p.delivered()) {
                continue;
            }
            if (j >= got->size()) {
                ADD_FAILURE() << "packet " << i << " (" << traffic[i].what << "): sockfilter keeps " << p.kept
                              << " bytes (ret " << *p.ret << "), the kernel delivered no more frames";
                break;
            }
            const Received& r = (*got)[j++];
            std::optional<std::uint16_t> tci;
            auto view = untag(traffic[i].bytes, tci);
            if (kind == Kind::PacketDgram) {
                view.erase(view.begin(), view.begin() + 14);
            }
            EXPECT_EQ(r.orig_len, view.size()) << "packet " << i << " (" << traffic[i].what << ")";
            EXPECT_EQ(r.vlan_tci, tci) << "packet " << i << " (" << traffic[i].what << ")";
            EXPECT_EQ(r.bytes.size(), p.kept) << "packet " << i << " (" << traffic[i].what << "), ret " << *p.ret;
            if (r.bytes.size() < view.size()) {
                ++tally.trimmed;
            }
            const std::size_t n = std::min(r.bytes.size(), view.size());
            EXPECT_EQ(r.bytes, std::vector<std::uint8_t>(view.begin(), view.begin() + static_cast<std::ptrdiff_t>(n)))
                << "packet " << i << " (" << traffic[i].what << ")";
        }
        EXPECT_EQ(j, got->size()) << "the kernel delivered " << got->size() - j
                                  << " frames more than sockfilter predicts";
        // A UDP socket's filter does not run on the VLAN frames sockfilter delivers (Tally), so
        // map contents are compared on packet sockets, where the filter sees every frame.
        expect_same_maps(f, *predicted, tally.maps, tally.map_entries);
    }
    std::printf("%s socket: %zu packet runs compared: %zu delivered (%zu trimmed), %zu dropped, %zu not delivered; "
                "%zu VLAN frames delivered only through the VLAN device sockfilter assumes; %zu maps (%zu entries) "
                "equal\n",
                socket_arg(kind), tally.runs, tally.delivered - tally.vlan_device_assumed, tally.trimmed, tally.dropped,
                tally.not_delivered, tally.vlan_device_assumed, tally.maps, tally.map_entries);
}

TEST_F(RealSocketTest, PacketRawReceivesWhatRunPredicts) { check_kind(Kind::PacketRaw); }
TEST_F(RealSocketTest, PacketDgramReceivesWhatRunPredicts) { check_kind(Kind::PacketDgram); }
TEST_F(RealSocketTest, UdpReceivesWhatRunPredicts) { check_kind(Kind::Udp); }

/// The counters of tcp_verdicts.c, in its order.
constexpr const char* kCounters[] = {"segments", "syns", "data", "dropped", "trimmed", "payload kept"};
constexpr std::size_t kChunks = 6;
constexpr std::size_t kChunkSize = 300;

/// The socket address of `e` on kTcpPort.
std::pair<sockaddr_storage, socklen_t> tcp_address(const Endpoint& e, bool ipv6) {
    sockaddr_storage ss{};
    if (ipv6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(kTcpPort);
        std::memcpy(&a->sin6_addr, e.ip6.data(), 16);
        return {ss, sizeof(sockaddr_in6)};
    }
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(kTcpPort);
    std::memcpy(&a->sin_addr, e.ip4.data(), 4);
    return {ss, sizeof(sockaddr_in)};
}

/// Reads from `conn` until `want` bytes have come (or, with want == 0, until end of stream).
Result<std::vector<std::uint8_t>> read_stream(int conn, std::size_t want, std::chrono::milliseconds timeout) {
    std::vector<std::uint8_t> out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::uint8_t buf[4096];
    for (;;) {
        const ssize_t n = ::recv(conn, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            out.insert(out.end(), buf, buf + n);
            if (want != 0 && out.size() >= want) {
                return out;
            }
            continue;
        }
        if (n == 0) {
            if (want == 0) {
                return out;
            }
            return fail(Errc::Io, "the connection ended after {} of {} bytes", out.size(), want);
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return fail(Errc::Io, "recv: {}", std::strerror(errno));
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return fail(Errc::Io, "timed out with {} of {} bytes", out.size(), want);
        }
        if (auto w = wait_readable(conn, left); !w) {
            return tl::unexpected(std::move(w.error()));
        }
    }
}

/// A TCP connection from a to b with tcp_verdicts.c on b's listening socket (and so on the
/// accepted one): kChunks writes of kChunkSize bytes, each read before the next is written, then
/// the client closes and the server after it. Every segment reaching b is captured; the
/// filter's map must equal what `sockfilter run --socket tcp --maps` computes from the capture.
void check_tcp(bool ipv6) {
    pcap::testing::ScratchDir dir;
    auto pair = VethPair::create(PairOptions{.ipv6_a = ipv6, .ipv6_b = true});
    ASSERT_TRUE(pair) << pair.error().render();
    const Endpoint& a = pair->a();
    const Endpoint& b = pair->b();
    auto filter = load_example(kTcpVerdicts, "tcp_verdicts");
    ASSERT_TRUE(filter) << filter.error().render();
    ASSERT_EQ(filter->object.maps.size(), 1U);
    auto capture = PacketSocket::open(b, SOCK_RAW);
    ASSERT_TRUE(capture) << capture.error().render();
    auto pinned = PinnedCpu::pin();
    ASSERT_TRUE(pinned) << pinned.error().render();

    const int family = ipv6 ? AF_INET6 : AF_INET;
    const auto [server_addr, server_len] = tcp_address(b, ipv6);
    auto listener = in(*b.ns, [&]() -> Result<kernel::Fd> {
        kernel::Fd s(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!s) {
            return fail(Errc::Io, "socket: {}", std::strerror(errno));
        }
        if (auto r = kernel::attach_bpf(s.get(), filter->prog); !r) {
            return tl::unexpected(std::move(r.error()));
        }
        if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&server_addr), server_len) != 0 ||
            ::listen(s.get(), 1) != 0) {
            return fail(Errc::Io, "bind/listen: {}", std::strerror(errno));
        }
        return s;
    });
    ASSERT_TRUE(listener) << listener.error().render();
    auto client = in(*a.ns, [&]() -> Result<kernel::Fd> {
        kernel::Fd s(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
        const int one = 1;
        if (!s || ::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
            return fail(Errc::Io, "client socket: {}", std::strerror(errno));
        }
        if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&server_addr), server_len) != 0) {
            return fail(Errc::Io, "connect: {}", std::strerror(errno));
        }
        return s;
    });
    ASSERT_TRUE(client) << client.error().render();
    auto ready = wait_readable(listener->get(), 2000ms);
    ASSERT_TRUE(ready && *ready) << "no connection to accept";
    kernel::Fd conn(::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(conn) << "accept: " << std::strerror(errno);

    std::vector<std::uint8_t> sent;
    for (std::size_t k = 0; k < kChunks; ++k) {
        const auto chunk = payload(kChunkSize, static_cast<std::uint8_t>(k));
        ASSERT_EQ(::send(client->get(), chunk.data(), chunk.size(), MSG_NOSIGNAL), static_cast<ssize_t>(chunk.size()));
        sent.insert(sent.end(), chunk.begin(), chunk.end());
        auto got = read_stream(conn.get(), chunk.size(), 10s);
        ASSERT_TRUE(got) << "chunk " << k << ": " << got.error().render();
        EXPECT_EQ(*got, chunk) << "chunk " << k;
    }
    ASSERT_EQ(::shutdown(client->get(), SHUT_WR), 0);
    auto rest = read_stream(conn.get(), 0, 10s);
    ASSERT_TRUE(rest) << rest.error().render();
    EXPECT_EQ(rest->size(), 0U);
    conn.reset();
    // The client acknowledges the server's FIN; that ACK is the last segment the filter sees.
    auto eof = read_stream(client->get(), 0, 10s);
    ASSERT_TRUE(eof) << eof.error().render();
    client->reset();
    listener->reset();

    auto frames = capture->drain(300ms);
    ASSERT_TRUE(frames) << frames.error().render();
    const std::string pcap_path = dir.path("tcp.pcap");
    {
        auto w = pcap::Writer::create(pcap_path, 1);
        ASSERT_TRUE(w) << w.error().render();
        for (const Received& r : *frames) {
            ASSERT_FALSE(r.vlan_tci);
            ASSERT_TRUE(w->write(pcap::Frame{r.bytes, r.orig_len, 0, 0}));
        }
        ASSERT_TRUE(w->close());
    }

    auto predicted = sockfilter_run({kTcpVerdicts, "--program", "tcp_verdicts", "-r", pcap_path, "--socket", "tcp",
                                     "--maps"});
    ASSERT_TRUE(predicted) << predicted.error().render();
    ASSERT_EQ(predicted->packets.size(), frames->size());
    const auto entries = predicted->maps.find("verdicts");
    ASSERT_NE(entries, predicted->maps.end()) << "no map verdicts in the output of sockfilter run --maps";
    ASSERT_EQ(entries->second.size(), std::size(kCounters));
    const auto counted = kernel_entries(filter->object.maps[0].fd, "verdicts");
    ASSERT_EQ(counted.size(), std::size(kCounters));
    std::string figures;
    std::vector<std::uint64_t> values;
    for (std::uint32_t key = 0; key < std::size(kCounters); ++key) {
        const std::string hex_key = to_hex(std::span(reinterpret_cast<const std::uint8_t*>(&key), sizeof(key)));
        const auto& e = entries->second[key];
        EXPECT_EQ(e["key"].get<std::string>(), hex_key);
        const auto it = counted.find(hex_key);
        ASSERT_NE(it, counted.end());
        EXPECT_EQ(e["value"].get<std::string>(), it->second) << kCounters[key];
        auto bytes = parse_hex(it->second);
        ASSERT_TRUE(bytes && bytes->size() == 8);
        values.push_back(load_le<std::uint64_t>(bytes->data()));
        figures += fmt::format("{}{} {}", key == 0 ? "" : ", ", kCounters[key], values.back());
    }
    EXPECT_EQ(values[3], 1U) << "the connection did not exercise the drop";
    EXPECT_EQ(values[4], 1U) << "the connection did not exercise the trim";
    std::printf("tcp%s socket: %zu frames captured; kernel and sockfilter counted %s\n", ipv6 ? "6" : "4",
                frames->size(), figures.c_str());
}

TEST_F(RealSocketTest, TcpIpv4VerdictCountsMatchRun) { check_tcp(false); }
TEST_F(RealSocketTest, TcpIpv6VerdictCountsMatchRun) { check_tcp(true); }

}  // namespace
}  // namespace sockfilter::testing::netns
