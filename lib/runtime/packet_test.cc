// SPDX-License-Identifier: MIT
// Tests of make_skb: every link type and socket kind, VLAN untagging, IPv6 extension headers,
// truncated packets, `--ctx` overrides and ctx->sk reads.
#include "runtime/packet.h"

#include <gtest/gtest.h>

#include "runtime/prog_type.h"
#include "support/bytes.h"

namespace sockfilter::runtime {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

Bytes be16(std::uint16_t v) { return {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)}; }

Bytes filler(std::size_t n) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i) {
        out[i] = static_cast<std::uint8_t>(0xa0 + i);
    }
    return out;
}

const Bytes kLocalMac = {0x02, 0, 0, 0, 0, 0x02};
const Bytes kPeerMac = {0x02, 0, 0, 0, 0, 0x01};
const Bytes kBroadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
const Bytes kPeer4 = {198, 18, 0, 1};
const Bytes kLocal4 = {198, 18, 0, 2};
const Bytes kPeer6 = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const Bytes kLocal6 = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

Bytes eth(const Bytes& dst, std::uint16_t type, const Bytes& payload) { return cat({dst, kPeerMac, be16(type), payload}); }

Bytes ipv4(std::uint8_t proto, const Bytes& payload, std::uint16_t frag = 0) {
    return cat({{0x45, 0}, be16(static_cast<std::uint16_t>(20 + payload.size())), {0, 1}, be16(frag), {64, proto, 0, 0},
                kPeer4, kLocal4, payload});
}

Bytes ipv6(std::uint8_t next, const Bytes& payload) {
    return cat({{0x60, 0, 0, 0}, be16(static_cast<std::uint16_t>(payload.size())), {next, 64}, kPeer6, kLocal6, payload});
}

Bytes udp(const Bytes& payload) {
    return cat({be16(40000), be16(53), be16(static_cast<std::uint16_t>(8 + payload.size())), {0, 0}, payload});
}

Bytes tcp(std::uint8_t flags, const Bytes& payload, std::uint8_t doff_words = 5) {
    Bytes h = cat({be16(40000), be16(80), {0, 0, 0, 1, 0, 0, 0, 0}, {static_cast<std::uint8_t>(doff_words << 4), flags},
                   {0xff, 0xff, 0, 0, 0, 0}});
    h.resize(doff_words * 4u, 1);  // options: NOPs
    return cat({h, payload});
}

Skb ok(Result<Skb> r) {
    EXPECT_TRUE(r) << r.error().render();
    return r ? std::move(*r) : Skb{};
}

Skb make(const Bytes& frame, SocketKind kind, int linktype = dlt::kEn10mb, const CtxOverrides& ov = {}) {
    return ok(make_skb(frame, linktype, kind, ov));
}

std::string err(const Bytes& frame, SocketKind kind, int linktype = dlt::kEn10mb) {
    auto r = make_skb(frame, linktype, kind);
    EXPECT_FALSE(r);
    return r ? std::string("(no error)") : r.error().render();
}

Bytes at_data(const Skb& skb, std::size_t n) {
    return Bytes(skb.bytes.begin() + skb.data, skb.bytes.begin() + skb.data + static_cast<std::ptrdiff_t>(n));
}

std::uint32_t ctx(const Skb& skb, std::int32_t off) { return static_cast<std::uint32_t>(read_ctx(skb, off, 4, false, 0)); }

// ---- Ethernet, every socket kind ----------------------------------------------------------------

TEST(MakeSkb, EthernetUdpEveryKind) {
    const Bytes frame = eth(kLocalMac, 0x0800, ipv4(17, udp(filler(20))));  // 14 + 20 + 8 + 20 = 62
    Skb p = make(frame, SocketKind::Packet);
    EXPECT_EQ(p.data, 0u);
    EXPECT_EQ(p.len(), 62u);
    EXPECT_EQ(p.mac_header, 0);
    EXPECT_EQ(p.network_header, 14);
    EXPECT_EQ(ctx(p, 16), 0x0008u);  // protocol, network order
    EXPECT_EQ(p.meta.pkt_type, kPacketHost);
    EXPECT_EQ(p.meta.ifindex, kDefaultIfindex);
    EXPECT_EQ(p.meta.ingress_ifindex, kDefaultIfindex);
    EXPECT_FALSE(p.meta.has_sk);
    EXPECT_EQ(p.trim_floor, 0u);

    Skb d = make(frame, SocketKind::PacketDgram);
    EXPECT_EQ(d.data, 14u);
    EXPECT_EQ(d.len(), 48u);
    EXPECT_FALSE(d.meta.has_sk);

    Skb r = make(frame, SocketKind::Raw);
    EXPECT_EQ(r.data, 14u);
    EXPECT_EQ(r.len(), 48u);
    EXPECT_EQ(at_data(r, 2), (Bytes{0x45, 0}));
    EXPECT_TRUE(r.meta.has_sk);
    EXPECT_EQ(r.trim_floor, 1u);
    EXPECT_EQ(r.meta.sock.family, kAfInet);
    EXPECT_EQ(r.meta.sock.src_port, 17);  // a raw socket's inet_num is its protocol
    EXPECT_EQ(r.meta.sock.state, kTcpClose);

    Skb u = make(frame, SocketKind::Udp);
    EXPECT_EQ(u.data, 34u);
    EXPECT_EQ(u.len(), 28u);
    EXPECT_EQ(u.trim_floor, 8u);
    EXPECT_EQ(u.mac_header, 0);
    EXPECT_EQ(u.network_header, 14);
    EXPECT_EQ(at_data(u, 2), be16(40000));
    EXPECT_TRUE(u.meta.has_sk);
    EXPECT_EQ(u.meta.sock.family, kAfInet);
    EXPECT_EQ(Bytes(u.meta.sock.src_ip4.begin(), u.meta.sock.src_ip4.end()), kLocal4);
    EXPECT_EQ(Bytes(u.meta.sock.dst_ip4.begin(), u.meta.sock.dst_ip4.end()), kPeer4);
    EXPECT_EQ(u.meta.sock.src_port, 53);
    EXPECT_EQ(u.meta.sock.dst_port, 40000);
    EXPECT_EQ(u.meta.sock.state, kTcpEstablished);

    EXPECT_EQ(err(frame, SocketKind::Tcp), "tcp socket cannot receive this packet: IP protocol 17 is not TCP");

    Skb t = make(frame, SocketKind::TestRun);
    EXPECT_EQ(t.data, 14u);
    EXPECT_EQ(t.len(), 48u);
    EXPECT_EQ(t.bytes, frame);
    EXPECT_EQ(t.meta.ifindex, 1u);
    EXPECT_EQ(t.meta.ingress_ifindex, 0u);
    EXPECT_EQ(t.meta.pkt_type, kPacketOtherHost);  // unicast 02:..:02 is not lo's all-zero address
    EXPECT_TRUE(t.meta.has_sk);
    EXPECT_EQ(t.trim_floor, t.len());
    EXPECT_EQ(kept_bytes(t, 5), t.len());
    EXPECT_EQ(kept_bytes(t, 0), 0u);
    // The dummy socket copies the IP addresses as they are: src is the packet's source.
    EXPECT_EQ(Bytes(t.meta.sock.src_ip4.begin(), t.meta.sock.src_ip4.end()), kPeer4);
    EXPECT_EQ(Bytes(t.meta.sock.dst_ip4.begin(), t.meta.sock.dst_ip4.end()), kLocal4);
    EXPECT_EQ(t.meta.sock.src_port, 0);
    EXPECT_EQ(t.meta.sock.state, kTcpClose);
}

TEST(MakeSkb, EthernetTcp) {
    const Bytes data_seg = eth(kLocalMac, 0x0800, ipv4(6, tcp(0x18, filler(5), 8)));
    Skb t = make(data_seg, SocketKind::Tcp);
    EXPECT_EQ(t.data, 34u);
    EXPECT_EQ(t.len(), 37u);
    EXPECT_EQ(t.trim_floor, 32u);
    EXPECT_EQ(kept_bytes(t, 1), 32u);
    EXPECT_EQ(t.meta.sock.state, kTcpEstablished);
    EXPECT_EQ(t.meta.sock.src_port, 80);
    EXPECT_EQ(t.meta.sock.dst_port, 40000);
    EXPECT_EQ(err(data_seg, SocketKind::Udp), "udp socket cannot receive this packet: IP protocol 6 is not UDP");

    Skb syn = make(eth(kLocalMac, 0x0800, ipv4(6, tcp(0x02, {}))), SocketKind::Tcp);
    EXPECT_EQ(syn.meta.sock.state, kTcpListen);
    EXPECT_EQ(syn.meta.sock.dst_port, 0);
    EXPECT_EQ(syn.meta.sock.dst_ip4, (std::array<std::uint8_t, 4>{}));
    EXPECT_EQ(Bytes(syn.meta.sock.src_ip4.begin(), syn.meta.sock.src_ip4.end()), kLocal4);

    Bytes bad_doff = eth(kLocalMac, 0x0800, ipv4(6, tcp(0x10, {}, 5)));
    bad_doff[14 + 20 + 12] = 0xf0;  // 60-byte header in a 20-byte segment
    EXPECT_EQ(err(bad_doff, SocketKind::Tcp),
              "tcp socket cannot receive this packet: bad TCP header length 60 (20 bytes after the IP header)");
}

TEST(MakeSkb, ProtocolSocketsDropLinkPadding) {
    // A 42-byte frame padded to the 60-byte Ethernet minimum.
    Bytes frame = eth(kLocalMac, 0x0800, ipv4(17, udp({})));
    frame.resize(60, 0);
    EXPECT_EQ(make(frame, SocketKind::Packet).len(), 60u);
    EXPECT_EQ(make(frame, SocketKind::PacketDgram).len(), 46u);
    EXPECT_EQ(make(frame, SocketKind::TestRun).len(), 46u);
    EXPECT_EQ(make(frame, SocketKind::Raw).len(), 28u);
    EXPECT_EQ(make(frame, SocketKind::Udp).len(), 8u);
}

TEST(MakeSkb, UdpLengthShorterThanIp) {
    Bytes frame = eth(kLocalMac, 0x0800, ipv4(17, udp(filler(10))));
    frame[14 + 20 + 5] = 12;  // UDP length 12 of the 18 bytes after the IP header
    Skb u = make(frame, SocketKind::Udp);
    EXPECT_EQ(u.len(), 12u);
    frame[14 + 20 + 5] = 40;
    EXPECT_EQ(err(frame, SocketKind::Udp),
              "udp socket cannot receive this packet: UDP length 40 does not fit the 18 bytes after the IP header");
}

TEST(MakeSkb, EthernetPktType) {
    const Bytes ip = ipv4(17, udp({}));
    EXPECT_EQ(make(eth(kBroadcast, 0x0800, ip), SocketKind::Packet).meta.pkt_type, kPacketBroadcast);
    EXPECT_EQ(make(eth({0x01, 0, 0x5e, 0, 0, 1}, 0x0800, ip), SocketKind::Packet).meta.pkt_type, kPacketMulticast);
    EXPECT_EQ(make(eth(kLocalMac, 0x0800, ip), SocketKind::Udp).meta.pkt_type, kPacketHost);
    // BPF_PROG_TEST_RUN runs eth_type_trans on lo (address and broadcast address all zero).
    EXPECT_EQ(make(eth(Bytes(6, 0), 0x0800, ip), SocketKind::TestRun).meta.pkt_type, kPacketHost);
    EXPECT_EQ(make(eth(kBroadcast, 0x0800, ip), SocketKind::TestRun).meta.pkt_type, kPacketMulticast);
}

TEST(MakeSkb, EthernetNonIp) {
    const Bytes arp = eth(kBroadcast, 0x0806, filler(28));
    Skb p = make(arp, SocketKind::Packet);
    EXPECT_EQ(ctx(p, 16), 0x0608u);
    EXPECT_EQ(make(arp, SocketKind::PacketDgram).len(), 28u);
    EXPECT_EQ(make(arp, SocketKind::TestRun).meta.sock.family, kAfUnspec);
    EXPECT_EQ(err(arp, SocketKind::Raw), "raw socket cannot receive this packet: not IPv4 or IPv6 (protocol 0x0806)");
    EXPECT_EQ(err(arp, SocketKind::Udp), "udp socket cannot receive this packet: not IPv4 or IPv6 (protocol 0x0806)");
    // 802.3 length fields: LLC (ETH_P_802_2) or Novell raw (ETH_P_802_3), as eth_type_trans decides.
    EXPECT_EQ(make(eth(kBroadcast, 20, filler(20)), SocketKind::Packet).meta.protocol, 0x0400);
    EXPECT_EQ(make(eth(kBroadcast, 20, cat({{0xff, 0xff}, filler(18)})), SocketKind::Packet).meta.protocol, 0x0100);
}

// ---- VLAN ---------------------------------------------------------------------------------------

TEST(MakeSkb, VlanTagMovesToMetadataForPacketSockets) {
    const Bytes inner = ipv4(17, udp(filler(4)));
    const Bytes untagged = eth(kLocalMac, 0x0800, inner);
    const Bytes tagged = eth(kLocalMac, 0x8100, cat({be16(0x2005), be16(0x0800), inner}));
    Skb p = make(tagged, SocketKind::Packet);
    EXPECT_EQ(p.bytes, untagged);
    EXPECT_EQ(p.len(), tagged.size() - 4);
    EXPECT_EQ(p.meta.vlan_tci, 0x2005);
    EXPECT_EQ(p.meta.vlan_proto, 0x0081);
    EXPECT_EQ(ctx(p, 20), 1u);       // vlan_present
    EXPECT_EQ(ctx(p, 16), 0x0008u);  // the inner protocol
    EXPECT_EQ(p.network_header, 14);
    Skb d = make(tagged, SocketKind::PacketDgram);
    EXPECT_EQ(d.len(), inner.size());
    EXPECT_EQ(d.meta.vlan_tci, 0x2005);

    // A protocol socket receives through a VLAN device, which consumed the tag.
    Skb u = make(tagged, SocketKind::Udp);
    EXPECT_EQ(u.len(), 12u);
    EXPECT_EQ(ctx(u, 20), 0u);
    EXPECT_EQ(u.meta.vlan_tci, 0);
    EXPECT_EQ(Bytes(u.bytes.begin(), u.bytes.begin() + 14), Bytes(untagged.begin(), untagged.begin() + 14));

    // BPF_PROG_TEST_RUN does not untag: the tag stays in the bytes and protocol is 802.1Q.
    Skb t = make(tagged, SocketKind::TestRun);
    EXPECT_EQ(t.bytes, tagged);
    EXPECT_EQ(t.len(), tagged.size() - 14);
    EXPECT_EQ(ctx(t, 16), 0x0081u);
    EXPECT_EQ(ctx(t, 20), 0u);
    EXPECT_EQ(t.meta.sock.family, kAfUnspec);
}

TEST(MakeSkb, QinQMovesOnlyTheOuterTag) {
    const Bytes inner = ipv4(17, udp({}));
    const Bytes qinq = eth(kLocalMac, 0x88a8, cat({be16(0x0064), be16(0x8100), be16(0x0005), be16(0x0800), inner}));
    Skb p = make(qinq, SocketKind::Packet);
    EXPECT_EQ(p.meta.vlan_proto, 0xa888);
    EXPECT_EQ(p.meta.vlan_tci, 0x0064);
    EXPECT_EQ(ctx(p, 16), 0x0081u);
    EXPECT_EQ(p.bytes, eth(kLocalMac, 0x8100, cat({be16(0x0005), be16(0x0800), inner})));
    EXPECT_EQ(err(qinq, SocketKind::Udp), "udp socket cannot receive this packet: not IPv4 or IPv6 (protocol 0x8100)");
}

TEST(MakeSkb, TruncatedVlanTag) {
    const Bytes frame = eth(kLocalMac, 0x8100, {0x00, 0x05});
    EXPECT_EQ(err(frame, SocketKind::Packet), "truncated VLAN tag: the kernel drops the frame before any socket sees it");
    EXPECT_EQ(make(frame, SocketKind::TestRun).len(), 2u);
}

// ---- IPv6 ---------------------------------------------------------------------------------------

TEST(MakeSkb, Ipv6ExtensionHeadersForRaw) {
    const Bytes hop = {60, 0, 1, 4, 0, 0, 0, 0};                           // hop-by-hop → dest opts
    const Bytes dst = {43, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};   // dest opts (16) → routing
    const Bytes rt = {44, 0, 0, 0, 0, 0, 0, 0};                             // routing → fragment
    const Bytes frag = {51, 0, 0, 0, 0, 0, 0, 7};                           // atomic fragment → AH
    const Bytes ah = {17, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};  // AH (24) → UDP
    const Bytes chain = cat({hop, dst, rt, frag, ah});
    const Bytes frame = eth(kLocalMac, 0x86dd, ipv6(0, cat({chain, udp(filler(3))})));
    Skb r = make(frame, SocketKind::Raw);
    EXPECT_EQ(r.network_header, 14);
    EXPECT_EQ(r.data, 14u + 40u + chain.size());
    EXPECT_EQ(r.len(), 11u);
    EXPECT_EQ(r.meta.sock.family, kAfInet6);
    EXPECT_EQ(r.meta.sock.src_port, 17);
    EXPECT_EQ(ctx(r, 16), 0xdd86u);
    Skb u = make(frame, SocketKind::Udp);
    EXPECT_EQ(u.data, r.data);
    EXPECT_EQ(Bytes(u.meta.sock.src_ip6.begin(), u.meta.sock.src_ip6.end()), kLocal6);
    EXPECT_EQ(Bytes(u.meta.sock.dst_ip6.begin(), u.meta.sock.dst_ip6.end()), kPeer6);

    const Bytes no_ext = eth(kLocalMac, 0x86dd, ipv6(6, tcp(0x10, filler(2))));
    EXPECT_EQ(make(no_ext, SocketKind::Raw).data, 54u);
    EXPECT_EQ(make(no_ext, SocketKind::Tcp).len(), 22u);

    Skb t = make(no_ext, SocketKind::TestRun);
    EXPECT_EQ(t.meta.sock.family, kAfInet6);
    EXPECT_EQ(Bytes(t.meta.sock.src_ip6.begin(), t.meta.sock.src_ip6.end()), kPeer6);
}

TEST(MakeSkb, Ipv6FragmentsAndTruncatedChains) {
    const Bytes frag = {17, 0, 0x00, 0x01, 0, 0, 0, 7};  // offset 0, more fragments
    EXPECT_EQ(err(eth(kLocalMac, 0x86dd, ipv6(44, cat({frag, udp({})}))), SocketKind::Udp),
              "udp socket cannot receive this packet: an IPv6 fragment (the kernel reassembles fragments before a "
              "socket sees them)");
    EXPECT_EQ(err(eth(kLocalMac, 0x86dd, ipv6(0, {17, 2, 0, 0, 0, 0, 0, 0})), SocketKind::Raw),
              "raw socket cannot receive this packet: truncated IPv6 extension header 0");
    EXPECT_EQ(err(eth(kLocalMac, 0x86dd, ipv6(60, {17, 0, 0})), SocketKind::Raw),
              "raw socket cannot receive this packet: truncated IPv6 extension header 60");
}

// ---- truncated and malformed packets ------------------------------------------------------------

TEST(MakeSkb, TruncatedPackets) {
    const Bytes full = eth(kLocalMac, 0x0800, ipv4(17, udp(filler(20))));
    const Bytes cut(full.begin(), full.begin() + 40);  // snaplen 40: IP says 48 bytes
    // A packet socket takes any frame; we have only the captured bytes.
    EXPECT_EQ(make(cut, SocketKind::Packet).len(), 40u);
    EXPECT_EQ(make(cut, SocketKind::PacketDgram).len(), 26u);
    EXPECT_EQ(make(cut, SocketKind::TestRun).len(), 26u);
    // The IP layer never hands a protocol socket a truncated datagram.
    EXPECT_EQ(err(cut, SocketKind::Udp),
              "udp socket cannot receive this packet: truncated IPv4 packet: total length 48, 26 bytes captured");
    EXPECT_EQ(err(cut, SocketKind::Raw),
              "raw socket cannot receive this packet: truncated IPv4 packet: total length 48, 26 bytes captured");
    const Bytes short_ip(full.begin(), full.begin() + 24);
    EXPECT_EQ(err(short_ip, SocketKind::Tcp), "tcp socket cannot receive this packet: truncated IPv4 header (10 bytes)");
    const Bytes tiny(full.begin(), full.begin() + 10);
    for (SocketKind k : {SocketKind::Packet, SocketKind::PacketDgram, SocketKind::Raw, SocketKind::Udp}) {
        EXPECT_EQ(err(tiny, k), "frame of 10 bytes is shorter than an Ethernet header (14)");
    }
    EXPECT_EQ(err(tiny, SocketKind::TestRun),
              "test-run needs a frame of at least 14 bytes (BPF_PROG_TEST_RUN fails with EINVAL), got 10");
    const Bytes ip_cut(full.begin(), full.begin() + 14 + 19);
    EXPECT_EQ(make(ip_cut, SocketKind::Packet).len(), 33u);
    EXPECT_EQ(err(ip_cut, SocketKind::TestRun),
              "test-run: BPF_PROG_TEST_RUN rejects an IPv4 frame with 19 bytes after the Ethernet header, fewer than "
              "the 20-byte IP header (EINVAL)");
    const Bytes v6cut = eth(kLocalMac, 0x86dd, Bytes(30, 0x60));
    EXPECT_EQ(err(v6cut, SocketKind::TestRun),
              "test-run: BPF_PROG_TEST_RUN rejects an IPv6 frame with 30 bytes after the Ethernet header, fewer than "
              "the 40-byte IP header (EINVAL)");
    EXPECT_EQ(err(v6cut, SocketKind::Udp), "udp socket cannot receive this packet: truncated IPv6 header (30 bytes)");
}

TEST(MakeSkb, MalformedIpv4) {
    Bytes frame = eth(kLocalMac, 0x0800, ipv4(17, udp({}), 0x2000));  // more fragments
    EXPECT_EQ(err(frame, SocketKind::Udp),
              "udp socket cannot receive this packet: an IPv4 fragment (the kernel reassembles fragments before a "
              "socket sees them)");
    EXPECT_TRUE(make_skb(eth(kLocalMac, 0x0800, ipv4(17, udp({}), 0x4000)), dlt::kEn10mb, SocketKind::Udp));  // DF
    frame = eth(kLocalMac, 0x0800, ipv4(17, udp({})));
    frame[14] = 0x43;
    EXPECT_EQ(err(frame, SocketKind::Raw), "raw socket cannot receive this packet: bad IPv4 header length 12 (28 bytes captured)");
    frame[14] = 0x65;
    EXPECT_EQ(err(frame, SocketKind::Raw), "raw socket cannot receive this packet: IP version 6 in an IPv4 packet");
}

// ---- other link types ---------------------------------------------------------------------------

Bytes sll(std::uint16_t pkttype, std::uint16_t hatype, std::uint16_t proto, const Bytes& payload) {
    return cat({be16(pkttype), be16(hatype), be16(6), kPeerMac, {0, 0}, be16(proto), payload});
}

Bytes sll2(std::uint16_t proto, std::uint32_t ifindex, std::uint8_t pkttype, const Bytes& payload) {
    return cat({be16(proto), {0, 0}, be16(static_cast<std::uint16_t>(ifindex >> 16)),
                be16(static_cast<std::uint16_t>(ifindex)), be16(1), {pkttype, 6}, kPeerMac, {0, 0}, payload});
}

TEST(MakeSkb, LinuxSll) {
    const Bytes ip = ipv4(17, udp(filler(4)));
    const Bytes frame = sll(0, 1, 0x0800, ip);
    Skb p = make(frame, SocketKind::Packet, dlt::kLinuxSll);
    // The Ethernet header is rebuilt: unknown (zero) destination, the SLL address as source.
    EXPECT_EQ(p.bytes, eth(Bytes(6, 0), 0x0800, ip));
    EXPECT_EQ(p.data, 0u);
    EXPECT_EQ(p.mac_header, 0);
    EXPECT_EQ(p.meta.pkt_type, kPacketHost);
    EXPECT_EQ(make(frame, SocketKind::PacketDgram, dlt::kLinuxSll).len(), ip.size());
    Skb u = make(frame, SocketKind::Udp, dlt::kLinuxSll);
    EXPECT_EQ(u.len(), 12u);
    EXPECT_EQ(u.meta.sock.dst_port, 40000);
    Skb t = make(frame, SocketKind::TestRun, dlt::kLinuxSll);
    EXPECT_EQ(t.bytes, cat({Bytes(12, 0), be16(0x0800), ip}));
    EXPECT_EQ(t.meta.pkt_type, kPacketHost);

    EXPECT_EQ(make(sll(1, 1, 0x0800, ip), SocketKind::Packet, dlt::kLinuxSll).bytes, eth(kBroadcast, 0x0800, ip));
    Bytes mcast = ip;
    mcast[16] = 239;
    mcast[17] = 129;
    mcast[18] = 2;
    mcast[19] = 3;
    Skb m = make(sll(2, 1, 0x0800, mcast), SocketKind::Packet, dlt::kLinuxSll);
    EXPECT_EQ(m.meta.pkt_type, kPacketMulticast);
    EXPECT_EQ(Bytes(m.bytes.begin(), m.bytes.begin() + 6), (Bytes{0x01, 0x00, 0x5e, 0x01, 2, 3}));

    EXPECT_EQ(err(sll(4, 1, 0x0800, ip), SocketKind::Udp, dlt::kLinuxSll),
              "udp socket cannot receive this packet: packet type 4 (outgoing) never reaches a receiving socket");
    EXPECT_EQ(make(sll(4, 1, 0x0800, ip), SocketKind::Packet, dlt::kLinuxSll).meta.pkt_type, kPacketOutgoing);
    EXPECT_EQ(err(sll(9, 1, 0x0800, ip), SocketKind::Packet, dlt::kLinuxSll),
              "SLL packet type 9 is not an sk_buff packet type (0-7)");
    EXPECT_EQ(err(Bytes(15, 0), SocketKind::Packet, dlt::kLinuxSll),
              "frame of 15 bytes is shorter than a LINUX_SLL header (16)");

    // A device without a link-layer header (ARPHRD_NONE, e.g. tun): offset 0 is the IP header.
    Skb none = make(sll(0, 0xfffe, 0x0800, ip), SocketKind::Packet, dlt::kLinuxSll);
    EXPECT_EQ(none.mac_header, kNoHeader);
    EXPECT_EQ(none.data, 0u);
    EXPECT_EQ(none.bytes, ip);
}

TEST(MakeSkb, LinuxSllVlan) {
    // libpcap puts the tag it got from PACKET_AUXDATA back after the SLL header.
    const Bytes ip = ipv4(17, udp({}));
    const Bytes frame = sll(0, 1, 0x8100, cat({be16(0x0007), be16(0x0800), ip}));
    Skb p = make(frame, SocketKind::Packet, dlt::kLinuxSll);
    EXPECT_EQ(p.meta.vlan_tci, 7);
    EXPECT_EQ(p.meta.vlan_proto, 0x0081);
    EXPECT_EQ(p.bytes, eth(Bytes(6, 0), 0x0800, ip));
    EXPECT_EQ(make(frame, SocketKind::Udp, dlt::kLinuxSll).meta.vlan_tci, 0);
}

TEST(MakeSkb, LinuxSll2) {
    const Bytes ip = ipv6(17, udp(filler(2)));
    const Bytes frame = sll2(0x86dd, 7, 0, ip);
    Skb p = make(frame, SocketKind::Packet, dlt::kLinuxSll2);
    EXPECT_EQ(p.meta.ifindex, 7u);
    EXPECT_EQ(p.meta.ingress_ifindex, 7u);
    EXPECT_EQ(p.bytes, eth(Bytes(6, 0), 0x86dd, ip));
    Skb u = make(frame, SocketKind::Udp, dlt::kLinuxSll2);
    EXPECT_EQ(u.len(), 10u);
    EXPECT_EQ(u.meta.ifindex, 7u);
    EXPECT_EQ(ctx(u, 16), 0xdd86u);
    EXPECT_EQ(err(Bytes(19, 0), SocketKind::Packet, dlt::kLinuxSll2),
              "frame of 19 bytes is shorter than a LINUX_SLL2 header (20)");
}

TEST(MakeSkb, RawIpLinkTypes) {
    const Bytes v4 = ipv4(17, udp(filler(3)));
    const Bytes v6 = ipv6(17, udp(filler(3)));
    for (int linktype : {dlt::kRaw, dlt::kRawOpenBsd, dlt::kLinktypeRaw, dlt::kIpv4}) {
        Skb p = make(v4, SocketKind::Packet, linktype);
        EXPECT_EQ(p.mac_header, kNoHeader);
        EXPECT_EQ(p.data, 0u);
        EXPECT_EQ(p.len(), v4.size());
        EXPECT_EQ(ctx(p, 16), 0x0008u);
        EXPECT_EQ(make(v4, SocketKind::PacketDgram, linktype).len(), v4.size());
        EXPECT_EQ(make(v4, SocketKind::Raw, linktype).len(), v4.size());
        EXPECT_EQ(make(v4, SocketKind::Udp, linktype).len(), 11u);
        EXPECT_EQ(err(v4, SocketKind::Tcp, linktype), "tcp socket cannot receive this packet: IP protocol 17 is not TCP");
        Skb t = make(v4, SocketKind::TestRun, linktype);
        EXPECT_EQ(t.bytes, cat({Bytes(12, 0), be16(0x0800), v4}));
        EXPECT_EQ(t.len(), v4.size());
    }
    for (int linktype : {dlt::kRaw, dlt::kIpv6}) {
        Skb p = make(v6, SocketKind::Packet, linktype);
        EXPECT_EQ(ctx(p, 16), 0xdd86u);
        EXPECT_EQ(make(v6, SocketKind::Raw, linktype).data, 40u);
        EXPECT_EQ(make(v6, SocketKind::Udp, linktype).len(), 11u);
        EXPECT_EQ(make(v6, SocketKind::TestRun, linktype).meta.sock.family, kAfInet6);
    }
    EXPECT_EQ(err({}, SocketKind::Packet, dlt::kRaw), "empty raw IP packet");
    EXPECT_EQ(err({0x50}, SocketKind::Packet, dlt::kRaw), "raw IP packet with IP version 5");
}

TEST(MakeSkb, NullAndLoop) {
    const Bytes v4 = ipv4(6, tcp(0x10, {}));
    const Bytes v6 = ipv6(6, tcp(0x10, {}));
    const Bytes le2 = {2, 0, 0, 0};
    const Bytes be2 = {0, 0, 0, 2};
    for (const Bytes& hdr : {le2, be2}) {
        Skb p = make(cat({hdr, v4}), SocketKind::Packet, dlt::kNull);
        EXPECT_EQ(p.bytes, v4);
        EXPECT_EQ(p.mac_header, kNoHeader);
        EXPECT_EQ(ctx(p, 16), 0x0008u);
        EXPECT_EQ(make(cat({hdr, v4}), SocketKind::Tcp, dlt::kNull).len(), 20u);
    }
    for (std::uint8_t af : {std::uint8_t{10}, std::uint8_t{24}, std::uint8_t{28}, std::uint8_t{30}}) {
        EXPECT_EQ(make(cat({{af, 0, 0, 0}, v6}), SocketKind::Packet, dlt::kNull).meta.protocol, 0xdd86);
        EXPECT_EQ(make(cat({{0, 0, 0, af}, v6}), SocketKind::Raw, dlt::kLoop).data, 40u);
    }
    EXPECT_EQ(err(cat({le2, v4}), SocketKind::Packet, dlt::kLoop), "unsupported address family 33554432 in a LOOP header");
    EXPECT_EQ(err({7, 0, 0, 0, 0x45}, SocketKind::Packet, dlt::kNull), "unsupported address family 7 in a NULL header");
    EXPECT_EQ(err({2, 0}, SocketKind::Packet, dlt::kNull), "frame of 2 bytes is shorter than a NULL header (4)");
    Skb t = make(cat({be2, v4}), SocketKind::TestRun, dlt::kLoop);
    EXPECT_EQ(t.bytes, cat({Bytes(12, 0), be16(0x0800), v4}));
}

TEST(MakeSkb, UnsupportedLinkType) {
    auto r = make_skb(Bytes(40, 0), 8, SocketKind::Packet);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::NotSupported);
    EXPECT_EQ(r.error().render(),
              "unsupported link type 8 (supported: NULL 0, EN10MB 1, RAW 12/14/101, LOOP 108, LINUX_SLL 113, IPV4 228, "
              "IPV6 229, LINUX_SLL2 276)");
}

// ---- --ctx and --packet -------------------------------------------------------------------------

TEST(CtxOverrides, ParseAndApply) {
    auto ov = parse_ctx_overrides("mark=1,ifindex=3,cb0=7,cb4=0xdeadbeef,priority=0x10,pkt_type=3,hash=99,"
                                  "queue_mapping=2,ingress_ifindex=4,napi_id=5,tc_index=6,gso_segs=8,gso_size=1400,"
                                  "vlan_tci=0x123");
    ASSERT_TRUE(ov) << ov.error().render();
    const Bytes frame = eth(kLocalMac, 0x0800, ipv4(17, udp({})));
    Skb s = make(frame, SocketKind::Udp, dlt::kEn10mb, *ov);
    EXPECT_EQ(ctx(s, 8), 1u);
    EXPECT_EQ(ctx(s, 40), 3u);
    EXPECT_EQ(ctx(s, 48), 7u);
    EXPECT_EQ(ctx(s, 64), 0xdeadbeefu);
    EXPECT_EQ(ctx(s, 32), 16u);
    EXPECT_EQ(ctx(s, 4), 3u);
    EXPECT_EQ(ctx(s, 68), 99u);
    EXPECT_EQ(ctx(s, 12), 2u);
    EXPECT_EQ(ctx(s, 36), 4u);
    EXPECT_EQ(ctx(s, 84), 5u);
    EXPECT_EQ(ctx(s, 44), 6u);
    EXPECT_EQ(ctx(s, 164), 8u);
    EXPECT_EQ(ctx(s, 176), 1400u);
    EXPECT_EQ(ctx(s, 24), 0x123u);
    EXPECT_EQ(ctx(s, 20), 1u);

    auto empty = parse_ctx_overrides("");
    ASSERT_TRUE(empty);
    EXPECT_FALSE(empty->mark.has_value());
}

TEST(CtxOverrides, Errors) {
    const std::string keys =
        "mark, priority, pkt_type, hash, queue_mapping, ifindex, ingress_ifindex, napi_id, tc_index, gso_segs, "
        "gso_size, vlan_tci, cb0, cb1, cb2, cb3, cb4";
    auto render = [](std::string_view text) {
        auto r = parse_ctx_overrides(text);
        EXPECT_FALSE(r) << text;
        return r ? std::string() : r.error().render();
    };
    EXPECT_EQ(render("color=1"), "ctx: unknown key 'color' (valid keys: " + keys + ")");
    EXPECT_EQ(render("cb5=1"), "ctx: unknown key 'cb5' (valid keys: " + keys + ")");
    EXPECT_EQ(render("mark"), "ctx: expected key=value, got 'mark' (valid keys: " + keys + ")");
    EXPECT_EQ(render("mark=1,"), "ctx: expected key=value, got '' (valid keys: " + keys + ")");
    EXPECT_EQ(render("mark=x1"), "ctx: bad value 'x1' for mark (expected a decimal or 0x hex number)");
    EXPECT_EQ(render("mark=-1"), "ctx: bad value '-1' for mark (expected a decimal or 0x hex number)");
    EXPECT_EQ(render("mark=0x"), "ctx: bad value '0x' for mark (expected a decimal or 0x hex number)");
    EXPECT_EQ(render("mark=4294967296"), "ctx: bad value '4294967296' for mark (expected a decimal or 0x hex number)");
    EXPECT_EQ(render("tc_index=65536"), "ctx: value 65536 for tc_index is out of range (at most 65535)");
    EXPECT_EQ(render("pkt_type=8"), "ctx: value 8 for pkt_type is out of range (at most 7)");
    EXPECT_EQ(render("mark=1,mark=2"), "ctx: key 'mark' given twice");
}

TEST(CtxOverrides, TestRunAcceptsOnlyWhatCtxInSets) {
    const Bytes frame = eth(Bytes(6, 0), 0x0800, ipv4(17, udp({})));
    auto ok_ov = parse_ctx_overrides("mark=1,priority=2,ifindex=1,ingress_ifindex=3,cb1=4,gso_segs=5,gso_size=6");
    ASSERT_TRUE(ok_ov);
    Skb t = make(frame, SocketKind::TestRun, dlt::kEn10mb, *ok_ov);
    EXPECT_EQ(t.meta.ingress_ifindex, 3u);
    EXPECT_EQ(ctx(t, 52), 4u);
    auto bad = parse_ctx_overrides("hash=1");
    ASSERT_TRUE(bad);
    auto r = make_skb(frame, dlt::kEn10mb, SocketKind::TestRun, *bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().render(),
              "test-run: BPF_PROG_TEST_RUN cannot set hash (its ctx_in sets mark, priority, ifindex, ingress_ifindex, "
              "cb0-cb4, gso_segs, gso_size)");
}

TEST(MakeSkbFromHex, IsAnEthernetFrame) {
    const Bytes frame = eth(kLocalMac, 0x0800, ipv4(17, udp(filler(2))));
    Skb u = ok(make_skb_from_hex(to_hex(frame, " "), SocketKind::Udp));
    EXPECT_EQ(u.len(), 10u);
    auto bad = make_skb_from_hex("0g", SocketKind::Packet);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::Parse);
}

// ---- ctx->sk ------------------------------------------------------------------------------------

TEST(SockAccess, MatchesTheKernelTable) {
    // Empirical (spec/empirical/sk_fields.txt, spec §1.5).
    for (std::int32_t off = 0; off < 96; off += 4) {
        const bool want = !(off >= 8 && off < 24) && off < 80;
        EXPECT_EQ(check_sock_access(off, 4), want) << off;
        EXPECT_FALSE(check_sock_access(off, 8)) << off;
    }
    EXPECT_FALSE(check_sock_access(0, 1));
    EXPECT_FALSE(check_sock_access(0, 2));
    EXPECT_FALSE(check_sock_access(1, 1));
    EXPECT_FALSE(check_sock_access(2, 2));
    EXPECT_TRUE(check_sock_access(4, 1));
    EXPECT_TRUE(check_sock_access(4, 2));
    EXPECT_FALSE(check_sock_access(5, 1));
    EXPECT_TRUE(check_sock_access(24, 1));
    EXPECT_TRUE(check_sock_access(25, 1));
    EXPECT_TRUE(check_sock_access(26, 2));
    EXPECT_FALSE(check_sock_access(25, 2));
    EXPECT_TRUE(check_sock_access(43, 1));
    EXPECT_TRUE(check_sock_access(44, 1));
    EXPECT_TRUE(check_sock_access(44, 2));
    EXPECT_FALSE(check_sock_access(45, 1));
    EXPECT_TRUE(check_sock_access(48, 1));
    EXPECT_TRUE(check_sock_access(48, 2));
    EXPECT_TRUE(check_sock_access(49, 1));
    EXPECT_FALSE(check_sock_access(49, 2));
    EXPECT_FALSE(check_sock_access(50, 1));
    EXPECT_FALSE(check_sock_access(50, 2));
    EXPECT_TRUE(check_sock_access(71, 1));
    EXPECT_TRUE(check_sock_access(72, 1));
    EXPECT_TRUE(check_sock_access(72, 2));
    EXPECT_FALSE(check_sock_access(73, 1));
    EXPECT_TRUE(check_sock_access(76, 1));
    EXPECT_TRUE(check_sock_access(76, 2));
    EXPECT_FALSE(check_sock_access(78, 2));
    EXPECT_FALSE(check_sock_access(80, 4));
    EXPECT_FALSE(check_sock_access(-4, 4));
    EXPECT_FALSE(check_sock_access(4, 3));
}

TEST(SockRead, Values) {
    const Bytes frame = eth(kLocalMac, 0x0800, ipv4(17, udp({})));
    Skb u = make(frame, SocketKind::Udp);
    EXPECT_EQ(read_sock(u, 0, 4), 0u);
    EXPECT_EQ(read_sock(u, 4, 4), 2u);
    EXPECT_EQ(read_sock(u, 4, 1), 2u);
    EXPECT_EQ(read_sock(u, 24, 4), 0x020012c6u);  // 198.18.0.2, the local address
    EXPECT_EQ(read_sock(u, 25, 1), 18u);
    EXPECT_EQ(read_sock(u, 26, 2), 0x0200u);
    EXPECT_EQ(read_sock(u, 52, 4), 0x010012c6u);
    EXPECT_EQ(read_sock(u, 28, 4), 0u);
    EXPECT_EQ(read_sock(u, 44, 4), 53u);           // src_port, host order
    EXPECT_EQ(read_sock(u, 48, 4), 0x409cu);       // dst_port 40000 (0x9c40), network order
    EXPECT_EQ(read_sock(u, 48, 2), 0x409cu);
    EXPECT_EQ(read_sock(u, 48, 1), 0x9cu);
    EXPECT_EQ(read_sock(u, 49, 1), 0x40u);
    EXPECT_EQ(read_sock(u, 72, 4), kTcpEstablished);
    EXPECT_EQ(read_sock(u, 76, 4), ~std::uint64_t{0});
    EXPECT_EQ(read_sock(u, 76, 2), ~std::uint64_t{0});
    EXPECT_EQ(read_sock(u, 76, 1), 0xffu);

    Skb v6 = make(eth(kLocalMac, 0x86dd, ipv6(17, udp({}))), SocketKind::Udp);
    EXPECT_EQ(read_sock(v6, 4, 2), 10u);
    EXPECT_EQ(read_sock(v6, 28, 4), 0x02000120u);
    EXPECT_EQ(read_sock(v6, 40, 4), 0x02000000u);
    EXPECT_EQ(read_sock(v6, 68, 4), 0x01000000u);
    EXPECT_EQ(read_sock(v6, 71, 1), 1u);
    EXPECT_EQ(read_sock(v6, 24, 4), 0u);
}

}  // namespace
}  // namespace sockfilter::runtime
