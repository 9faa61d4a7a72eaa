// SPDX-License-Identifier: MIT
// Frame construction: Ethernet (+802.1Q), IPv4/IPv6 headers and transport checksums.
#include "frames.h"

#include <algorithm>
#include <initializer_list>

namespace sockfilter::testing::netns {

namespace {

constexpr std::uint16_t kEthIpv4 = 0x0800;
constexpr std::uint16_t kEthIpv6 = 0x86dd;
constexpr std::uint16_t kEth8021q = 0x8100;
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint8_t kProtoIcmp = 1;
constexpr std::uint8_t kProtoIcmpv6 = 58;

void put16(std::vector<std::uint8_t>& v, std::uint16_t x) {
    v.push_back(static_cast<std::uint8_t>(x >> 8));
    v.push_back(static_cast<std::uint8_t>(x));
}

void put32(std::vector<std::uint8_t>& v, std::uint32_t x) {
    put16(v, static_cast<std::uint16_t>(x >> 16));
    put16(v, static_cast<std::uint16_t>(x));
}

void set16(std::vector<std::uint8_t>& v, std::size_t at, std::uint16_t x) {
    v[at] = static_cast<std::uint8_t>(x >> 8);
    v[at + 1] = static_cast<std::uint8_t>(x);
}

/// Sum of 16-bit big-endian words, not folded.
std::uint32_t word_sum(std::span<const std::uint8_t> b) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < b.size(); i += 2) {
        sum += static_cast<std::uint32_t>(b[i] << 8 | b[i + 1]);
    }
    if (b.size() % 2 != 0) {
        sum += static_cast<std::uint32_t>(b.back() << 8);
    }
    return sum;
}

/// The pseudo-header sum of a transport segment of `len` bytes and protocol `proto`.
std::uint32_t pseudo_sum(const Hosts& h, bool ipv6, std::uint8_t proto, std::size_t len) {
    std::uint32_t sum = ipv6 ? word_sum(h.src6) + word_sum(h.dst6) : word_sum(h.src4) + word_sum(h.dst4);
    sum += proto;
    sum += static_cast<std::uint32_t>(len >> 16) + static_cast<std::uint32_t>(len & 0xffff);
    return sum;
}

/// Wraps a transport segment into IP, then Ethernet (with the tag and padding of `l`).
std::vector<std::uint8_t> frame(const Hosts& h, const Link& l, std::uint8_t proto,
                                std::span<const std::uint8_t> segment) {
    std::vector<std::uint8_t> p;
    if (l.ipv6) {
        put32(p, 0x60000000);
        put16(p, static_cast<std::uint16_t>(segment.size()));
        p.push_back(proto);
        p.push_back(64);  // hop limit
        p.insert(p.end(), h.src6.begin(), h.src6.end());
        p.insert(p.end(), h.dst6.begin(), h.dst6.end());
    } else {
        p.push_back(0x45);
        p.push_back(0);
        put16(p, static_cast<std::uint16_t>(20 + segment.size()));
        put32(p, 0x00004000);  // id 0, don't fragment
        p.push_back(64);       // ttl
        p.push_back(proto);
        put16(p, 0);
        p.insert(p.end(), h.src4.begin(), h.src4.end());
        p.insert(p.end(), h.dst4.begin(), h.dst4.end());
        set16(p, 10, internet_checksum(p));
    }
    p.insert(p.end(), segment.begin(), segment.end());
    return ethernet_frame(h, l, l.ipv6 ? kEthIpv6 : kEthIpv4, p);
}

/// A Link with these fields.
Link link(bool ipv6, std::optional<std::uint16_t> vlan = std::nullopt, std::size_t padding = 0) {
    Link l;
    l.ipv6 = ipv6;
    l.vlan = vlan;
    l.padding = padding;
    return l;
}

}  // namespace

Hosts Hosts::between(const Endpoint& from, const Endpoint& to) {
    return Hosts{from.mac, to.mac, from.ip4, to.ip4, from.ip6, to.ip6};
}

Hosts Hosts::fixed() {
    Hosts h;
    h.src_mac = {0x02, 0, 0, 0, 0, 0x01};
    h.dst_mac = {0x02, 0, 0, 0, 0, 0x02};
    h.src4 = {198, 18, 0, 1};
    h.dst4 = {198, 18, 0, 2};
    h.src6 = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    h.dst6 = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    return h;
}

std::uint16_t internet_checksum(std::span<const std::uint8_t> bytes, std::uint32_t sum) {
    std::uint64_t s = sum + static_cast<std::uint64_t>(word_sum(bytes));
    while (s >> 16 != 0) {
        s = (s & 0xffff) + (s >> 16);
    }
    return static_cast<std::uint16_t>(~s & 0xffff);
}

std::vector<std::uint8_t> payload(std::size_t n, std::uint8_t seed) {
    std::vector<std::uint8_t> p(n);
    for (std::size_t i = 0; i < n; ++i) {
        p[i] = static_cast<std::uint8_t>(seed * 31 + i * 7 + (i >> 8));
    }
    return p;
}

std::vector<std::uint8_t> udp_frame(const Hosts& h, const Link& l, std::uint16_t sport, std::uint16_t dport,
                                    std::span<const std::uint8_t> data) {
    std::vector<std::uint8_t> s;
    put16(s, sport);
    put16(s, dport);
    put16(s, static_cast<std::uint16_t>(8 + data.size()));
    put16(s, 0);
    s.insert(s.end(), data.begin(), data.end());
    std::uint16_t sum = internet_checksum(s, pseudo_sum(h, l.ipv6, kProtoUdp, s.size()));
    set16(s, 6, sum == 0 ? 0xffff : sum);  // 0 means "no checksum" to UDP
    return frame(h, l, kProtoUdp, s);
}

std::vector<std::uint8_t> tcp_frame(const Hosts& h, const Link& l, std::uint16_t sport, std::uint16_t dport,
                                    std::uint8_t flags, std::uint32_t seq, std::uint32_t ack,
                                    std::span<const std::uint8_t> data) {
    std::vector<std::uint8_t> s;
    put16(s, sport);
    put16(s, dport);
    put32(s, seq);
    put32(s, ack);
    s.push_back(0x50);  // 20-byte header
    s.push_back(flags);
    put16(s, 65535);
    put16(s, 0);  // checksum
    put16(s, 0);  // urgent pointer
    s.insert(s.end(), data.begin(), data.end());
    set16(s, 16, internet_checksum(s, pseudo_sum(h, l.ipv6, kProtoTcp, s.size())));
    return frame(h, l, kProtoTcp, s);
}

std::vector<std::uint8_t> icmp_echo_frame(const Hosts& h, const Link& l, std::uint16_t id, std::uint16_t seq,
                                          std::span<const std::uint8_t> data) {
    std::vector<std::uint8_t> s;
    s.push_back(l.ipv6 ? 128 : 8);  // echo request
    s.push_back(0);
    put16(s, 0);
    put16(s, id);
    put16(s, seq);
    s.insert(s.end(), data.begin(), data.end());
    // ICMPv6 covers the pseudo-header, ICMP does not.
    const std::uint32_t pseudo = l.ipv6 ? pseudo_sum(h, true, kProtoIcmpv6, s.size()) : 0;
    set16(s, 2, internet_checksum(s, pseudo));
    return frame(h, l, l.ipv6 ? kProtoIcmpv6 : kProtoIcmp, s);
}

std::vector<std::uint8_t> ethernet_frame(const Hosts& h, const Link& l, std::uint16_t ethertype,
                                         std::span<const std::uint8_t> data) {
    std::vector<std::uint8_t> f(h.dst_mac.begin(), h.dst_mac.end());
    f.insert(f.end(), h.src_mac.begin(), h.src_mac.end());
    if (l.vlan) {
        put16(f, kEth8021q);
        put16(f, *l.vlan);
    }
    put16(f, ethertype);
    f.insert(f.end(), data.begin(), data.end());
    f.resize(f.size() + l.padding, 0);
    return f;
}

std::vector<std::uint8_t> untag(const std::vector<std::uint8_t>& frame, std::optional<std::uint16_t>& tci) {
    tci.reset();
    if (frame.size() < 18 || frame[12] != kEth8021q >> 8 || frame[13] != (kEth8021q & 0xff)) {
        return frame;
    }
    tci = static_cast<std::uint16_t>(frame[14] << 8 | frame[15]);
    std::vector<std::uint8_t> out(frame.begin(), frame.begin() + 12);
    out.insert(out.end(), frame.begin() + 16, frame.end());
    return out;
}

std::vector<Crafted> mixed_traffic(const Hosts& h, std::uint16_t udp_port) {
    std::vector<Crafted> out;
    const auto sport = [&] { return static_cast<std::uint16_t>(kUdpSourceBase + out.size()); };
    const auto udp = [&](const std::string& what, const Hosts& to, const Link& l, std::size_t n) {
        const auto data = payload(n, static_cast<std::uint8_t>(out.size()));
        out.push_back({what, udp_frame(to, l, sport(), udp_port, data)});
    };
    for (std::size_t n : {0, 1, 4, 12, 20, 56, 100, 1000, 1472}) {
        udp("udp4 " + std::to_string(n) + " B", h, link(false), n);
    }
    for (std::size_t n : {0, 12, 100, 1000, 1452}) {
        udp("udp6 " + std::to_string(n) + " B", h, link(true), n);
    }
    udp("udp4 2 B + 16 B padding", h, link(false, std::nullopt, 16), 2);
    udp("vlan 0 prio 0 udp4 30 B", h, link(false, 0x0000), 30);
    udp("vlan 0 prio 3 udp6 40 B", h, link(true, 0x6000), 40);
    udp("vlan 5 udp4 30 B", h, link(false, 0x2005), 30);
    udp("vlan 7 udp6 40 B", h, link(true, 0x0007), 40);
    Hosts bcast = h;
    bcast.dst_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    bcast.dst4 = {h.dst4[0], h.dst4[1], h.dst4[2], 255};
    udp("udp4 broadcast 24 B", bcast, link(false), 24);
    const auto tcp = [&](const std::string& what, const Link& l, std::uint16_t dport, std::uint8_t flags,
                         std::size_t n) {
        const auto data = payload(n, static_cast<std::uint8_t>(out.size()));
        out.push_back({what, tcp_frame(h, l, static_cast<std::uint16_t>(50000 + out.size()), dport, flags,
                                       1000, flags & kTcpAck ? 1 : 0, data)});
    };
    tcp("tcp4 SYN :80", link(false), 80, kTcpSyn, 0);
    tcp("tcp4 data 100 B :80", link(false), 80, kTcpAck | kTcpPsh, 100);
    tcp("tcp4 data 30 B :443", link(false), 443, kTcpAck | kTcpPsh, 30);
    tcp("tcp6 SYN :443", link(true), 443, kTcpSyn, 0);
    tcp("tcp6 data 200 B :80", link(true), 80, kTcpAck | kTcpPsh, 200);
    tcp("vlan 5 tcp4 SYN :80", link(false, 0x0005), 80, kTcpSyn, 0);
    out.push_back({"icmp4 echo 56 B", icmp_echo_frame(h, link(false), 7, 1, payload(56, 1))});
    out.push_back({"icmp6 echo 56 B", icmp_echo_frame(h, link(true), 7, 2, payload(56, 2))});
    out.push_back({"icmp4 echo 1400 B", icmp_echo_frame(h, link(false), 7, 3, payload(1400, 3))});
    out.push_back({"ethertype 0x88b5 46 B", ethernet_frame(h, link(false), 0x88b5, payload(46, 4))});
    out.push_back({"vlan 9 ethertype 0x88b5 20 B", ethernet_frame(h, link(false, 9), 0x88b5, payload(20, 5))});
    return out;
}

std::vector<Crafted> protocol_mix(const Hosts& h) {
    std::vector<Crafted> whole;
    Hosts back = h;
    std::swap(back.src_mac, back.dst_mac);
    std::swap(back.src4, back.dst4);
    std::swap(back.src6, back.dst6);
    for (const std::uint16_t port : std::initializer_list<std::uint16_t>{7, 53, 67, 123, 161, 514, 2049, 4789, 6081}) {
        auto m = mixed_traffic(port % 2 == 0 ? h : back, port);
        for (auto& c : m) {
            c.what = "port " + std::to_string(port) + " " + c.what;
        }
        whole.insert(whole.end(), std::make_move_iterator(m.begin()), std::make_move_iterator(m.end()));
    }
    static constexpr std::uint8_t kFlags[] = {kTcpSyn, kTcpSyn | kTcpAck, kTcpFin | kTcpAck, kTcpRst,
                                              kTcpPsh | kTcpAck, 0x3f, 0};
    for (const std::uint16_t port : std::initializer_list<std::uint16_t>{20, 21, 22, 23, 25, 80, 110, 143, 443, 8080}) {
        for (bool v6 : {false, true}) {
            for (std::uint8_t flags : kFlags) {
                const Hosts& from = flags & kTcpAck ? back : h;
                whole.push_back({"tcp :" + std::to_string(port),
                                 tcp_frame(from, link(v6), static_cast<std::uint16_t>(1024 + port), port, flags, 7,
                                           flags & kTcpAck ? 9 : 0, payload(flags & kTcpPsh ? 64 : 0, flags))});
            }
        }
    }
    Hosts multicast = h;
    multicast.dst_mac = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
    multicast.dst4 = {224, 0, 0, 251};
    whole.push_back({"udp4 multicast :5353", udp_frame(multicast, link(false), 5353, 5353, payload(40, 9))});
    Hosts multicast6 = h;
    multicast6.dst_mac = {0x33, 0x33, 0x00, 0x00, 0x00, 0xfb};
    multicast6.dst6 = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfb};
    whole.push_back({"udp6 multicast :5353", udp_frame(multicast6, link(true), 5353, 5353, payload(40, 10))});
    for (bool v6 : {false, true}) {
        whole.push_back({"icmp echo back", icmp_echo_frame(back, link(v6), 99, 5, payload(32, 11))});
        whole.push_back({"vlan 100 icmp echo", icmp_echo_frame(h, link(v6, 0x0064), 99, 6, payload(32, 12))});
    }
    // Double tag: an 802.1Q header inside the first one's payload.
    {
        std::vector<std::uint8_t> inner;
        put16(inner, 0x0200);
        const auto ip = udp_frame(h, link(false), 1000, 53, payload(20, 13));
        put16(inner, kEthIpv4);
        inner.insert(inner.end(), ip.begin() + 14, ip.end());
        whole.push_back({"qinq udp4 :53", ethernet_frame(h, link(false, 0x0100), kEth8021q, inner)});
    }
    const std::vector<std::uint8_t> arp = {0, 1, 8, 0, 6, 4, 0, 1, h.src_mac[0], h.src_mac[1], h.src_mac[2],
                                           h.src_mac[3], h.src_mac[4], h.src_mac[5], h.src4[0], h.src4[1],
                                           h.src4[2], h.src4[3], 0, 0, 0, 0, 0, 0, h.dst4[0], h.dst4[1],
                                           h.dst4[2], h.dst4[3]};
    Hosts bcast = h;
    bcast.dst_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    whole.push_back({"arp request", ethernet_frame(bcast, link(false), 0x0806, arp)});
    whole.push_back({"rarp", ethernet_frame(bcast, link(false), 0x8035, arp)});
    for (const std::uint16_t type : std::initializer_list<std::uint16_t>{0x8847, 0x8863, 0x8864, 0x88cc, 0x8137, 0x86dd, 0x0800}) {
        whole.push_back({"ethertype " + std::to_string(type), ethernet_frame(h, link(false), type, payload(46, 14))});
    }
    // 802.3 frames: a length instead of an EtherType, then an LLC header.
    const auto llc = [&](const std::string& what, std::vector<std::uint8_t> header, std::size_t n) {
        const auto data = payload(n, 15);
        header.insert(header.end(), data.begin(), data.end());
        Hosts to = h;
        to.dst_mac = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x00};
        whole.push_back({what, ethernet_frame(to, link(false), static_cast<std::uint16_t>(header.size()), header)});
    };
    llc("802.3 stp", {0x42, 0x42, 0x03}, 35);
    llc("802.3 netbios", {0xf0, 0xf0, 0x03}, 40);
    llc("802.3 snap ipv4", {0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00}, 40);
    llc("802.3 ipx", {0xe0, 0xe0, 0x03}, 40);
    std::vector<Crafted> out = whole;
    for (const Crafted& c : whole) {
        for (std::size_t cut : {14, 18, 20, 23, 34, 38, 42, 54, 58}) {
            if (cut < c.bytes.size()) {
                out.push_back({c.what + " cut to " + std::to_string(cut),
                               std::vector<std::uint8_t>(c.bytes.begin(), c.bytes.begin() + static_cast<std::ptrdiff_t>(cut))});
            }
        }
    }
    return out;
}

}  // namespace sockfilter::testing::netns
