// SPDX-License-Identifier: MIT
// Captured frame → sk_buff: link header parsing, the receive path's VLAN untagging, what each
// socket kind delivers and where its offset 0 is, ctx->sk, and `--ctx` overrides.
#include "runtime/packet.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

#include "support/assert.h"
#include "support/bytes.h"

namespace sockfilter::runtime {

namespace {

// Ethertypes (skb->protocol values, host order here).
constexpr std::uint16_t kEthIp = 0x0800;
constexpr std::uint16_t kEthIpv6 = 0x86dd;
constexpr std::uint16_t kEth8021q = 0x8100;
constexpr std::uint16_t kEth8021ad = 0x88a8;
constexpr std::uint16_t kEth8023 = 0x0001;    // ETH_P_802_3: Novell raw 802.3
constexpr std::uint16_t kEth8022 = 0x0004;    // ETH_P_802_2: 802.2 LLC
constexpr std::uint16_t kEth8023Min = 0x0600;  // smaller type fields are 802.3 lengths

constexpr std::size_t kEthHlen = 14;
constexpr std::size_t kVlanHlen = 4;
constexpr std::size_t kSllHlen = 16;
constexpr std::size_t kSll2Hlen = 20;
constexpr std::uint16_t kArphrdEther = 1;
constexpr std::uint16_t kArphrdLoopback = 772;

constexpr std::uint8_t kIpprotoTcp = 6;
constexpr std::uint8_t kIpprotoUdp = 17;

/// A 16-bit network-order field as a little-endian host load sees it (how the kernel's __be16
/// skb->protocol and vlan_proto read: IPv4 0x0800 reads 0x0008).
std::uint16_t wire16(std::uint16_t host) { return static_cast<std::uint16_t>((host >> 8) | (host << 8)); }

std::uint16_t be16_at(const std::vector<std::uint8_t>& b, std::size_t off) { return load_be<std::uint16_t>(&b[off]); }

/// What the link layer gives the receive path: the bytes from the MAC header (if the device has
/// one) on, where the network header starts, skb->protocol, pkt_type and the device.
struct Link {
    std::vector<std::uint8_t> bytes;
    std::int32_t mac = kNoHeader;
    std::uint32_t net = 0;
    std::uint16_t proto = 0;
    std::uint8_t pkt_type = kPacketHost;
    std::optional<std::uint32_t> ifindex;
    std::optional<std::uint16_t> hatype;  ///< the device type an SLL header names
};

/// eth_type_trans's protocol choice for a type/length field and the bytes after it.
std::uint16_t eth_protocol(std::uint16_t type, const std::vector<std::uint8_t>& b, std::size_t payload) {
    if (type >= kEth8023Min) {
        return type;
    }
    // A raw 802.3 frame (Novell) starts its payload with 0xFFFF; anything else is 802.2 LLC.
    if (payload + 2 <= b.size() && b[payload] == 0xff && b[payload + 1] == 0xff) {
        return kEth8023;
    }
    return kEth8022;
}

bool all_zero(std::span<const std::uint8_t> mac) {
    return std::all_of(mac.begin(), mac.end(), [](std::uint8_t v) { return v == 0; });
}

/// pkt_type on a receiving interface: group addresses by their bits; a unicast destination is
/// taken to be the capturing host's own address (the capture cannot tell us that address).
std::uint8_t rx_pkt_type(std::span<const std::uint8_t> dst) {
    if ((dst[0] & 1) == 0) {
        return kPacketHost;
    }
    const bool broadcast = std::all_of(dst.begin(), dst.end(), [](std::uint8_t v) { return v == 0xff; });
    return broadcast ? kPacketBroadcast : kPacketMulticast;
}

/// pkt_type from eth_type_trans on the loopback device, whose address and broadcast address are
/// both all-zero (BPF_PROG_TEST_RUN; verified against the kernel).
std::uint8_t lo_pkt_type(std::span<const std::uint8_t> dst) {
    if (all_zero(dst)) {
        return kPacketHost;
    }
    return (dst[0] & 1) != 0 ? kPacketMulticast : kPacketOtherHost;
}

Result<Link> parse_ethernet(std::span<const std::uint8_t> frame) {
    if (frame.size() < kEthHlen) {
        return fail(Errc::Format, "frame of {} bytes is shorter than an Ethernet header (14)", frame.size());
    }
    Link link;
    link.bytes.assign(frame.begin(), frame.end());
    link.mac = 0;
    link.net = kEthHlen;
    link.proto = eth_protocol(be16_at(link.bytes, 12), link.bytes, kEthHlen);
    link.pkt_type = rx_pkt_type(frame.first(6));
    return link;
}

/// The destination MAC a cooked capture dropped, rebuilt from the packet type: broadcast and
/// IPv4/IPv6 multicast addresses follow from the packet; for unicast it is unknown (zero).
std::array<std::uint8_t, 6> sll_dst_mac(std::uint8_t pkt_type, std::uint16_t proto, std::span<const std::uint8_t> net) {
    std::array<std::uint8_t, 6> dst{};
    if (pkt_type == kPacketBroadcast) {
        dst.fill(0xff);
    } else if (pkt_type == kPacketMulticast) {
        if (proto == kEthIp && net.size() >= 20) {
            dst = {0x01, 0x00, 0x5e, static_cast<std::uint8_t>(net[17] & 0x7f), net[18], net[19]};
        } else if (proto == kEthIpv6 && net.size() >= 40) {
            dst = {0x33, 0x33, net[36], net[37], net[38], net[39]};
        } else {
            dst[0] = 0x01;
        }
    }
    return dst;
}

/// LINUX_SLL (16-byte header) and LINUX_SLL2 (20 bytes). The device's real MAC header is not in
/// the capture: for Ethernet and loopback devices a 14-byte Ethernet header is rebuilt (source
/// from the SLL address, destination from the packet type, type from the protocol field); other
/// devices are treated as having no MAC header. docs/SEMANTICS.md explains the choice.
Result<Link> parse_sll(std::span<const std::uint8_t> frame, bool v2) {
    const std::size_t hlen = v2 ? kSll2Hlen : kSllHlen;
    if (frame.size() < hlen) {
        return fail(Errc::Format, "frame of {} bytes is shorter than a {} header ({})", frame.size(),
                    v2 ? "LINUX_SLL2" : "LINUX_SLL", hlen);
    }
    const std::uint8_t* h = frame.data();
    std::uint16_t proto = 0;
    std::uint16_t hatype = 0;
    std::uint16_t pkt_type = 0;
    std::uint16_t halen = 0;
    const std::uint8_t* addr = nullptr;
    Link link;
    if (v2) {
        proto = load_be<std::uint16_t>(h);
        link.ifindex = load_be<std::uint32_t>(h + 4);
        hatype = load_be<std::uint16_t>(h + 8);
        pkt_type = h[10];
        halen = h[11];
        addr = h + 12;
    } else {
        pkt_type = load_be<std::uint16_t>(h);
        hatype = load_be<std::uint16_t>(h + 2);
        halen = load_be<std::uint16_t>(h + 4);
        addr = h + 6;
        proto = load_be<std::uint16_t>(h + 14);
    }
    if (pkt_type > 7) {
        return fail(Errc::Format, "SLL packet type {} is not an sk_buff packet type (0-7)", pkt_type);
    }
    link.pkt_type = static_cast<std::uint8_t>(pkt_type);
    link.proto = proto;
    link.hatype = hatype;
    const auto payload = frame.subspan(hlen);
    if (hatype == kArphrdEther || hatype == kArphrdLoopback) {
        const auto dst = sll_dst_mac(link.pkt_type, proto, payload);
        link.bytes.assign(dst.begin(), dst.end());
        for (std::size_t i = 0; i < 6; ++i) {
            link.bytes.push_back(halen == 6 ? addr[i] : 0);
        }
        // An 802.2/802.3 frame's type field held its length.
        const std::uint16_t type =
            proto >= kEth8023Min ? proto : static_cast<std::uint16_t>(std::min<std::size_t>(payload.size(), 0xffff));
        link.bytes.push_back(static_cast<std::uint8_t>(type >> 8));
        link.bytes.push_back(static_cast<std::uint8_t>(type));
        link.mac = 0;
        link.net = kEthHlen;
    }
    link.bytes.insert(link.bytes.end(), payload.begin(), payload.end());
    return link;
}

/// Link types without a MAC header: the frame is the network packet.
Link network_only(std::span<const std::uint8_t> packet, std::uint16_t proto) {
    Link link;
    link.bytes.assign(packet.begin(), packet.end());
    link.proto = proto;
    return link;
}

Result<Link> parse_raw_ip(std::span<const std::uint8_t> frame) {
    if (frame.empty()) {
        return fail(Errc::Format, "empty raw IP packet");
    }
    const int version = frame[0] >> 4;
    if (version == 4) {
        return network_only(frame, kEthIp);
    }
    if (version == 6) {
        return network_only(frame, kEthIpv6);
    }
    return fail(Errc::Format, "raw IP packet with IP version {}", version);
}

/// DLT_NULL (address family in the capturing host's byte order) and DLT_LOOP (network order).
/// AF_INET6 differs between systems: 10 Linux, 24 NetBSD/OpenBSD, 28 FreeBSD, 30 Darwin.
Result<Link> parse_af_header(std::span<const std::uint8_t> frame, bool loop) {
    if (frame.size() < 4) {
        return fail(Errc::Format, "frame of {} bytes is shorter than a {} header (4)", frame.size(), loop ? "LOOP" : "NULL");
    }
    auto family_proto = [](std::uint32_t af) -> std::optional<std::uint16_t> {
        switch (af) {
            case 2: return kEthIp;
            case 10:
            case 24:
            case 28:
            case 30: return kEthIpv6;
            default: return std::nullopt;
        }
    };
    const std::uint32_t be = load_be<std::uint32_t>(frame.data());
    std::optional<std::uint16_t> proto = family_proto(be);
    if (!loop && !proto) {
        proto = family_proto(load_le<std::uint32_t>(frame.data()));
    }
    if (!proto) {
        return fail(Errc::Format, "unsupported address family {} in a {} header", loop ? be : load_le<std::uint32_t>(frame.data()),
                    loop ? "LOOP" : "NULL");
    }
    return network_only(frame.subspan(4), *proto);
}

Result<Link> parse_link(std::span<const std::uint8_t> frame, int linktype) {
    switch (linktype) {
        case dlt::kEn10mb: return parse_ethernet(frame);
        case dlt::kLinuxSll: return parse_sll(frame, false);
        case dlt::kLinuxSll2: return parse_sll(frame, true);
        case dlt::kRaw:
        case dlt::kRawOpenBsd:
        case dlt::kLinktypeRaw: return parse_raw_ip(frame);
        case dlt::kIpv4: return network_only(frame, kEthIp);
        case dlt::kIpv6: return network_only(frame, kEthIpv6);
        case dlt::kNull: return parse_af_header(frame, false);
        case dlt::kLoop: return parse_af_header(frame, true);
        default: break;
    }
    return fail(Errc::NotSupported,
                "unsupported link type {} (supported: NULL 0, EN10MB 1, RAW 12/14/101, LOOP 108, LINUX_SLL 113, "
                "IPV4 228, IPV6 229, LINUX_SLL2 276)",
                linktype);
}

/// skb_vlan_untag on receive: the outer 802.1Q/802.1ad tag leaves the bytes (the MAC addresses
/// move up to the inner type field) and goes to vlan_proto/vlan_tci; skb->protocol becomes the
/// inner type. Only the outer tag moves, like the kernel, which untags once per pass.
struct VlanTag {
    std::uint16_t proto = 0;
    std::uint16_t tci = 0;
};

Result<std::optional<VlanTag>> untag(Link& link) {
    if (link.proto != kEth8021q && link.proto != kEth8021ad) {
        return std::optional<VlanTag>{};
    }
    if (link.bytes.size() < link.net + kVlanHlen) {
        return fail(Errc::Format, "truncated VLAN tag: the kernel drops the frame before any socket sees it");
    }
    VlanTag tag{link.proto, be16_at(link.bytes, link.net)};
    const std::uint16_t inner = be16_at(link.bytes, link.net + 2);
    // With a MAC header the tag sits between the addresses and the inner type: drop TPID and TCI
    // so the header reads dst, src, inner type. Without one, drop the 4 tag bytes.
    const std::size_t from = link.mac != kNoHeader ? link.net - 2 : link.net;
    const auto at = link.bytes.begin() + static_cast<std::ptrdiff_t>(from);
    link.bytes.erase(at, at + static_cast<std::ptrdiff_t>(kVlanHlen));
    link.proto = eth_protocol(inner, link.bytes, link.net);
    return std::optional<VlanTag>{tag};
}

/// Where the IP layer puts a packet it delivers to a local socket.
struct IpDelivery {
    std::uint16_t family = kAfUnspec;
    std::uint32_t transport = 0;  // index of the first byte after the IP header chain
    std::uint32_t end = 0;        // index one past the IP packet (tot_len / payload_len)
    std::uint8_t proto = 0;       // upper-layer protocol
    std::span<const std::uint8_t> src;
    std::span<const std::uint8_t> dst;
};

/// Builds the "<kind> socket cannot receive this packet: ..." error.
template <class... Args>
tl::unexpected<Error> refuse(SocketKind kind, fmt::format_string<Args...> f, Args&&... args) {
    return fail(Errc::Format, "{} socket cannot receive this packet: {}", socket_kind_name(kind),
                fmt::format(f, std::forward<Args>(args)...));
}

/// ip_rcv / ipv6_rcv and the extension-header walk: what reaches a local protocol socket.
Result<IpDelivery> deliver_ip(const Link& link, SocketKind kind) {
    const auto& b = link.bytes;
    const std::uint32_t net = link.net;
    const std::size_t avail = b.size() - net;
    IpDelivery d;
    if (link.proto == kEthIp) {
        if (avail < 20) {
            return refuse(kind, "truncated IPv4 header ({} bytes)", avail);
        }
        if ((b[net] >> 4) != 4) {
            return refuse(kind, "IP version {} in an IPv4 packet", b[net] >> 4);
        }
        const std::uint32_t ihl = (b[net] & 0x0fu) * 4u;
        const std::uint16_t tot = be16_at(b, net + 2);
        if (ihl < 20 || ihl > avail) {
            return refuse(kind, "bad IPv4 header length {} ({} bytes captured)", ihl, avail);
        }
        if (tot < ihl || tot > avail) {
            return refuse(kind, "truncated IPv4 packet: total length {}, {} bytes captured", tot, avail);
        }
        if ((be16_at(b, net + 6) & 0x3fff) != 0) {
            return refuse(kind, "an IPv4 fragment (the kernel reassembles fragments before a socket sees them)");
        }
        d.family = kAfInet;
        d.proto = b[net + 9];
        d.transport = net + ihl;
        d.end = net + tot;
        d.src = std::span(b).subspan(net + 12, 4);
        d.dst = std::span(b).subspan(net + 16, 4);
        return d;
    }
    if (link.proto != kEthIpv6) {
        return refuse(kind, "not IPv4 or IPv6 (protocol 0x{:04x})", link.proto);
    }
    if (avail < 40) {
        return refuse(kind, "truncated IPv6 header ({} bytes)", avail);
    }
    if ((b[net] >> 4) != 6) {
        return refuse(kind, "IP version {} in an IPv6 packet", b[net] >> 4);
    }
    const std::uint32_t plen = be16_at(b, net + 4);
    if (40 + plen > avail) {
        return refuse(kind, "truncated IPv6 packet: payload length {}, {} bytes captured", plen, avail - 40);
    }
    d.family = kAfInet6;
    d.end = net + 40 + plen;
    d.src = std::span(b).subspan(net + 8, 16);
    d.dst = std::span(b).subspan(net + 24, 16);
    std::uint8_t nh = b[net + 6];
    std::uint32_t pos = net + 40;
    // Hop-by-hop (0), routing (43), fragment (44), destination options (60), AH (51).
    while (nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51) {
        if (pos + 8 > d.end) {
            return refuse(kind, "truncated IPv6 extension header {}", nh);
        }
        std::uint32_t hlen = 8;
        if (nh == 44) {
            const std::uint16_t frag = be16_at(b, pos + 2);
            if ((frag >> 3) != 0 || (frag & 1) != 0) {
                return refuse(kind, "an IPv6 fragment (the kernel reassembles fragments before a socket sees them)");
            }
        } else if (nh == 51) {
            hlen = (b[pos + 1] + 2u) * 4u;
        } else {
            hlen = (b[pos + 1] + 1u) * 8u;
        }
        if (pos + hlen > d.end) {
            return refuse(kind, "truncated IPv6 extension header {}", nh);
        }
        nh = b[pos];
        pos += hlen;
    }
    d.proto = nh;
    d.transport = pos;
    return d;
}

void set_addresses(SockInfo& s, const IpDelivery& d, bool local_is_dst) {
    const auto local = local_is_dst ? d.dst : d.src;
    const auto peer = local_is_dst ? d.src : d.dst;
    s.family = d.family;
    if (d.family == kAfInet) {
        std::copy(local.begin(), local.end(), s.src_ip4.begin());
        std::copy(peer.begin(), peer.end(), s.dst_ip4.begin());
    } else {
        std::copy(local.begin(), local.end(), s.src_ip6.begin());
        std::copy(peer.begin(), peer.end(), s.dst_ip6.begin());
    }
}

/// Raw, UDP and TCP sockets: what the IP layer and the transport protocol deliver.
Result<Skb> deliver_to_protocol_socket(Link link, SocketKind kind, Skb skb) {
    if (link.pkt_type == kPacketOtherHost || link.pkt_type == kPacketOutgoing) {
        return refuse(kind, "packet type {} ({}) never reaches a receiving socket", link.pkt_type,
                      link.pkt_type == kPacketOtherHost ? "to another host" : "outgoing");
    }
    auto ip = deliver_ip(link, kind);
    if (!ip) {
        return tl::unexpected(std::move(ip.error()));
    }
    const auto& b = link.bytes;
    std::uint32_t end = ip->end;
    SockInfo& sock = skb.meta.sock;
    skb.meta.has_sk = true;
    switch (kind) {
        case SocketKind::Raw:
            // IPv4 raw sockets get the IP header; IPv6 ones the bytes after the header chain.
            skb.data = ip->family == kAfInet ? link.net : ip->transport;
            skb.trim_floor = 1;
            // An unbound, unconnected raw socket; its local "port" (inet_num) is its protocol.
            sock.family = ip->family;
            sock.src_port = ip->proto;
            sock.state = kTcpClose;
            break;
        case SocketKind::Udp: {
            if (ip->proto != kIpprotoUdp) {
                return refuse(kind, "IP protocol {} is not UDP", ip->proto);
            }
            if (ip->transport + 8 > end) {
                return refuse(kind, "truncated UDP header");
            }
            std::uint32_t ulen = be16_at(b, ip->transport + 4);
            if (ulen == 0 && ip->family == kAfInet6) {
                ulen = end - ip->transport;  // IPv6 jumbogram: the length comes from IP
            }
            if (ulen < 8 || ip->transport + ulen > end) {
                return refuse(kind, "UDP length {} does not fit the {} bytes after the IP header", ulen,
                              end - ip->transport);
            }
            end = ip->transport + ulen;  // udp_rcv trims to the UDP length
            skb.data = ip->transport;
            skb.trim_floor = 8;
            set_addresses(sock, *ip, true);
            sock.src_port = be16_at(b, ip->transport + 2);
            sock.dst_port = be16_at(b, ip->transport);
            sock.state = kTcpEstablished;
            break;
        }
        case SocketKind::Tcp: {
            if (ip->proto != kIpprotoTcp) {
                return refuse(kind, "IP protocol {} is not TCP", ip->proto);
            }
            if (ip->transport + 20 > end) {
                return refuse(kind, "truncated TCP header");
            }
            const std::uint32_t doff = (b[ip->transport + 12] >> 4) * 4u;
            if (doff < 20 || ip->transport + doff > end) {
                return refuse(kind, "bad TCP header length {} ({} bytes after the IP header)", doff,
                              end - ip->transport);
            }
            skb.data = ip->transport;
            skb.trim_floor = doff;
            set_addresses(sock, *ip, true);
            sock.src_port = be16_at(b, ip->transport + 2);
            const std::uint8_t flags = b[ip->transport + 13];
            if ((flags & 0x12) == 0x02) {
                // A SYN is filtered by the listener, which has no peer.
                sock.state = kTcpListen;
                sock.dst_ip4 = {};
                sock.dst_ip6 = {};
            } else {
                sock.dst_port = be16_at(b, ip->transport);
                sock.state = kTcpEstablished;
            }
            break;
        }
        case SocketKind::Packet:
        case SocketKind::PacketDgram:
        case SocketKind::TestRun: SF_UNREACHABLE();
    }
    // ip_rcv trims link-layer padding to the IP length; udp_rcv trims to the UDP length.
    link.bytes.resize(end);
    skb.bytes = std::move(link.bytes);
    skb.mac_header = link.mac;
    skb.network_header = static_cast<std::int32_t>(link.net);
    return skb;
}

/// BPF_PROG_TEST_RUN (net/bpf/test_run.c): the input is an Ethernet frame; eth_type_trans on
/// the loopback device sets protocol and pkt_type and pulls the 14-byte header; no VLAN
/// untagging happens (verified). The dummy socket takes its family from the protocol and its
/// addresses from the IP header, unswapped.
Result<Skb> make_test_run_skb(std::span<const std::uint8_t> frame, int linktype) {
    Skb skb;
    if (linktype == dlt::kEn10mb) {
        if (frame.size() < kEthHlen) {
            return fail(Errc::Format, "test-run needs a frame of at least 14 bytes (BPF_PROG_TEST_RUN fails with "
                                      "EINVAL), got {}",
                        frame.size());
        }
        skb.bytes.assign(frame.begin(), frame.end());
    } else {
        // No Ethernet header in the capture: put a zero-address one in front of the network layer.
        auto link = parse_link(frame, linktype);
        if (!link) {
            return tl::unexpected(std::move(link.error()));
        }
        skb.bytes.assign(12, 0);
        skb.bytes.push_back(static_cast<std::uint8_t>(link->proto >> 8));
        skb.bytes.push_back(static_cast<std::uint8_t>(link->proto));
        skb.bytes.insert(skb.bytes.end(), link->bytes.begin() + link->net, link->bytes.end());
    }
    const std::uint16_t proto = eth_protocol(be16_at(skb.bytes, 12), skb.bytes, kEthHlen);
    skb.mac_header = 0;
    skb.network_header = kEthHlen;
    skb.data = kEthHlen;
    skb.trim_floor = skb.len();  // test-run trims nothing: the kept length is all or 0
    SkbMeta& m = skb.meta;
    m.protocol = wire16(proto);
    m.pkt_type = lo_pkt_type(std::span(skb.bytes).first(6));
    m.ifindex = kDefaultIfindex;
    m.ingress_ifindex = 0;
    m.has_sk = true;
    const std::size_t l3 = skb.bytes.size() - kEthHlen;
    const std::uint8_t* ip = skb.bytes.data() + kEthHlen;
    // The kernel refuses IPv4/IPv6 frames too short for the fixed IP header (measured on 6.18).
    if ((proto == kEthIp && l3 < 20) || (proto == kEthIpv6 && l3 < 40)) {
        return fail(Errc::Format, "test-run: BPF_PROG_TEST_RUN rejects an {} frame with {} bytes after the Ethernet "
                                  "header, fewer than the {}-byte IP header (EINVAL)",
                    proto == kEthIp ? "IPv4" : "IPv6", l3, proto == kEthIp ? 20 : 40);
    }
    if (proto == kEthIp) {
        m.sock.family = kAfInet;
        std::copy(ip + 12, ip + 16, m.sock.src_ip4.begin());
        std::copy(ip + 16, ip + 20, m.sock.dst_ip4.begin());
    } else if (proto == kEthIpv6) {
        m.sock.family = kAfInet6;
        std::copy(ip + 8, ip + 24, m.sock.src_ip6.begin());
        std::copy(ip + 24, ip + 40, m.sock.dst_ip6.begin());
    }
    return skb;
}

/// `--ctx` keys: where each value goes and its largest value.
struct CtxKey {
    std::string_view name;
    std::optional<std::uint32_t> CtxOverrides::*member;
    std::uint32_t max;
    bool test_run_settable;  // BPF_PROG_TEST_RUN's ctx_in accepts it
};

constexpr std::uint32_t kU32 = 0xffffffff;
constexpr std::uint32_t kU16 = 0xffff;

constexpr std::array<CtxKey, 12> kCtxKeys = {{
    {"mark", &CtxOverrides::mark, kU32, true},
    {"priority", &CtxOverrides::priority, kU32, true},
    {"pkt_type", &CtxOverrides::pkt_type, 7, false},
    {"hash", &CtxOverrides::hash, kU32, false},
    {"queue_mapping", &CtxOverrides::queue_mapping, kU16, false},
    {"ifindex", &CtxOverrides::ifindex, kU32, true},
    {"ingress_ifindex", &CtxOverrides::ingress_ifindex, kU32, true},
    {"napi_id", &CtxOverrides::napi_id, kU32, false},
    {"tc_index", &CtxOverrides::tc_index, kU16, false},
    {"gso_segs", &CtxOverrides::gso_segs, kU16, true},
    {"gso_size", &CtxOverrides::gso_size, kU16, true},
    {"vlan_tci", &CtxOverrides::vlan_tci, kU16, false},
}};

std::string valid_keys() {
    std::string out;
    for (const CtxKey& k : kCtxKeys) {
        out += k.name;
        out += ", ";
    }
    return out + "cb0, cb1, cb2, cb3, cb4";
}

std::optional<std::uint32_t> parse_number(std::string_view text) {
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        text.remove_prefix(2);
        base = 16;
    }
    std::uint32_t v = 0;
    const char* end = text.data() + text.size();
    auto [p, ec] = std::from_chars(text.data(), end, v, base);
    if (text.empty() || ec != std::errc{} || p != end) {
        return std::nullopt;
    }
    return v;
}

/// Narrows a value parse_ctx_overrides has range-checked.
template <class T>
T narrow(std::uint32_t v) {
    SF_ASSERT(v <= static_cast<std::uint32_t>(static_cast<T>(~T{0})));
    return static_cast<T>(v);
}

}  // namespace

void CtxOverrides::apply(SkbMeta& meta) const {
    if (mark) {
        meta.mark = *mark;
    }
    if (priority) {
        meta.priority = *priority;
    }
    if (pkt_type) {
        meta.pkt_type = narrow<std::uint8_t>(*pkt_type);
    }
    if (hash) {
        meta.hash = *hash;
    }
    if (queue_mapping) {
        meta.queue_mapping = narrow<std::uint16_t>(*queue_mapping);
    }
    if (ifindex) {
        meta.ifindex = *ifindex;
    }
    if (ingress_ifindex) {
        meta.ingress_ifindex = *ingress_ifindex;
    }
    if (napi_id) {
        meta.napi_id = *napi_id;
    }
    if (tc_index) {
        meta.tc_index = narrow<std::uint16_t>(*tc_index);
    }
    if (gso_segs) {
        meta.gso_segs = narrow<std::uint16_t>(*gso_segs);
    }
    if (gso_size) {
        meta.gso_size = narrow<std::uint16_t>(*gso_size);
    }
    if (vlan_tci) {
        meta.vlan_tci = narrow<std::uint16_t>(*vlan_tci);
    }
    for (std::size_t i = 0; i < cb.size(); ++i) {
        if (cb[i]) {
            store_le<std::uint32_t>(meta.cb.data() + 4 * i, *cb[i]);
        }
    }
}

Result<CtxOverrides> parse_ctx_overrides(std::string_view text) {
    CtxOverrides out;
    bool more = !text.empty();
    while (more) {
        const std::size_t comma = text.find(',');
        const std::string_view item = text.substr(0, comma);
        more = comma != std::string_view::npos;
        text = more ? text.substr(comma + 1) : std::string_view{};
        const std::size_t eq = item.find('=');
        if (eq == std::string_view::npos) {
            return fail(Errc::InvalidArgument, "ctx: expected key=value, got '{}' (valid keys: {})", item, valid_keys());
        }
        const std::string_view key = item.substr(0, eq);
        const std::string_view value = item.substr(eq + 1);
        std::optional<std::uint32_t>* slot = nullptr;
        std::uint32_t max = kU32;
        for (const CtxKey& k : kCtxKeys) {
            if (k.name == key) {
                slot = &(out.*k.member);
                max = k.max;
            }
        }
        if (key.size() == 3 && key.substr(0, 2) == "cb" && key[2] >= '0' && key[2] <= '4') {
            slot = &out.cb[static_cast<std::size_t>(key[2] - '0')];
        }
        if (slot == nullptr) {
            return fail(Errc::InvalidArgument, "ctx: unknown key '{}' (valid keys: {})", key, valid_keys());
        }
        if (slot->has_value()) {
            return fail(Errc::InvalidArgument, "ctx: key '{}' given twice", key);
        }
        const auto v = parse_number(value);
        if (!v) {
            return fail(Errc::InvalidArgument, "ctx: bad value '{}' for {} (expected a decimal or 0x hex number)", value,
                        key);
        }
        if (*v > max) {
            return fail(Errc::InvalidArgument, "ctx: value {} for {} is out of range (at most {})", value, key, max);
        }
        *slot = *v;
    }
    return out;
}

Result<void> check_test_run_overrides(const CtxOverrides& overrides) {
    for (const CtxKey& k : kCtxKeys) {
        if (!k.test_run_settable && (overrides.*k.member).has_value()) {
            return fail(Errc::InvalidArgument,
                        "test-run: BPF_PROG_TEST_RUN cannot set {} (its ctx_in sets mark, priority, ifindex, "
                        "ingress_ifindex, cb0-cb4, gso_segs, gso_size)",
                        k.name);
        }
    }
    return {};
}

Result<Skb> make_skb(std::span<const std::uint8_t> frame, int linktype, SocketKind kind, const CtxOverrides& overrides) {
    if (kind == SocketKind::TestRun) {
        if (auto settable = check_test_run_overrides(overrides); !settable) {
            return tl::unexpected(std::move(settable.error()));
        }
        auto skb = make_test_run_skb(frame, linktype);
        if (skb) {
            overrides.apply(skb->meta);
        }
        return skb;
    }
    auto link = parse_link(frame, linktype);
    if (!link) {
        return tl::unexpected(std::move(link.error()));
    }
    auto tag = untag(*link);
    if (!tag) {
        return tl::unexpected(std::move(tag.error()));
    }
    Skb skb;
    SkbMeta& m = skb.meta;
    m.protocol = wire16(link->proto);
    m.pkt_type = link->pkt_type;
    m.ifindex = link->ifindex.value_or(kDefaultIfindex);
    m.ingress_ifindex = m.ifindex;
    m.dev_type = link->hatype.value_or(kArphrdLoopback);
    if (kind == SocketKind::Packet || kind == SocketKind::PacketDgram) {
        // Packet taps run before VLAN devices take the tag, so they see it in the metadata.
        if (*tag) {
            m.vlan_proto = wire16((*tag)->proto);
            m.vlan_tci = (*tag)->tci;
        }
        skb.data = kind == SocketKind::Packet && link->mac != kNoHeader ? static_cast<std::uint32_t>(link->mac)
                                                                       : link->net;
        skb.mac_header = link->mac;
        skb.network_header = static_cast<std::int32_t>(link->net);
        skb.trim_floor = 0;
        skb.bytes = std::move(link->bytes);
        overrides.apply(m);
        return skb;
    }
    // A protocol socket gets a tagged frame only through a VLAN device, which clears the tag
    // (vlan_do_receive); without one the frame is dropped as PACKET_OTHERHOST.
    auto delivered = deliver_to_protocol_socket(std::move(*link), kind, std::move(skb));
    if (delivered) {
        overrides.apply(delivered->meta);
    }
    return delivered;
}

Result<Skb> make_skb_from_hex(std::string_view hex, SocketKind kind, const CtxOverrides& overrides) {
    auto bytes = parse_hex(hex);
    if (!bytes) {
        return tl::unexpected(std::move(bytes.error()));
    }
    return make_skb(*bytes, dlt::kEn10mb, kind, overrides);
}

namespace {

bool in(std::int32_t v, std::int32_t lo, std::int32_t hi) { return v >= lo && v <= hi; }

// struct bpf_sock offsets (include/uapi/linux/bpf.h).
constexpr std::int32_t kSkBoundDevIf = 0;
constexpr std::int32_t kSkFamily = 4;
constexpr std::int32_t kSkSrcIp4 = 24;
constexpr std::int32_t kSkSrcIp6 = 28;
constexpr std::int32_t kSkSrcPort = 44;
constexpr std::int32_t kSkDstPort = 48;
constexpr std::int32_t kSkDstIp4 = 52;
constexpr std::int32_t kSkDstIp6 = 56;
constexpr std::int32_t kSkState = 72;
constexpr std::int32_t kSkRxQueueMapping = 76;
constexpr std::int32_t kSkSize = 80;

std::uint64_t word_of(std::span<const std::uint8_t> addr, std::int32_t rel) {
    return load_le<std::uint32_t>(addr.data() + (rel & ~3));
}

}  // namespace

bool check_sock_access(std::int32_t off, std::uint32_t size) {
    // bpf_sock_common_is_valid_access, then bpf_sock_is_valid_access.
    if (size != 1 && size != 2 && size != 4 && size != 8) {
        return false;
    }
    const auto isz = static_cast<std::int32_t>(size);
    if (in(off, 8, 23) || off < 0 || off >= kSkSize || off % isz != 0) {
        return false;  // type, protocol, mark and priority are not in sock_common
    }
    if (off == kSkFamily || off == kSkSrcPort || off == kSkState || off == kSkRxQueueMapping ||
        in(off, kSkSrcIp4, kSkSrcPort - 1) || in(off, kSkDstIp4, kSkState - 1)) {
        return size <= 4;  // narrow loads allowed, at the field's start for the scalar fields
    }
    if (in(off, kSkDstPort, kSkDstPort + 1)) {
        return size <= (size == 4 ? 4u : 2u);  // a 4-byte load, or narrow loads inside the __be16
    }
    if (in(off, kSkDstPort + 2, kSkDstIp4 - 1)) {
        return false;  // padding after dst_port
    }
    return size == 4;
}

std::uint64_t read_sock(const Skb& skb, std::int32_t off, std::uint32_t size) {
    SF_ASSERT(skb.meta.has_sk && check_sock_access(off, size));
    const SockInfo& s = skb.meta.sock;
    std::uint64_t v = 0;
    std::uint32_t target = 4;     // width of the struct sock field the load converts to
    std::uint32_t field_size = 4;  // the verifier's ctx_field_size, which sets the narrow shift
    if (off == kSkBoundDevIf) {
        v = s.bound_dev_if;
    } else if (off == kSkFamily) {
        v = s.family;
        target = 2;
    } else if (in(off, kSkSrcIp4, kSkSrcIp4 + 3)) {
        v = word_of(s.src_ip4, off - kSkSrcIp4);
    } else if (in(off, kSkSrcIp6, kSkSrcPort - 1)) {
        v = word_of(s.src_ip6, off - kSkSrcIp6);
    } else if (off == kSkSrcPort) {
        v = s.src_port;
        target = 2;
    } else if (in(off, kSkDstPort, kSkDstPort + 1)) {
        v = wire16(s.dst_port);
        target = 2;
        field_size = size == 4 ? 4 : 2;
    } else if (in(off, kSkDstIp4, kSkDstIp4 + 3)) {
        v = word_of(s.dst_ip4, off - kSkDstIp4);
    } else if (in(off, kSkDstIp6, kSkState - 1)) {
        v = word_of(s.dst_ip6, off - kSkDstIp6);
    } else if (off == kSkState) {
        v = s.state;
        target = 1;
    } else if (off == kSkRxQueueMapping) {
        // No recorded queue (NO_QUEUE_MAPPING) is rewritten to a 64-bit -1.
        v = s.rx_queue_mapping < 0 ? ~std::uint64_t{0} : static_cast<std::uint16_t>(s.rx_queue_mapping);
        target = 2;
    } else {
        SF_UNREACHABLE();
    }
    if (size < target) {
        const auto shift = 8u * static_cast<std::uint32_t>(off & static_cast<std::int32_t>(field_size - 1));
        v = (v >> shift) & ((std::uint64_t{1} << (8 * size)) - 1);
    }
    return v;
}

}  // namespace sockfilter::runtime
