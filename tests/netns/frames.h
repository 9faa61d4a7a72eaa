// SPDX-License-Identifier: MIT
// Crafted Ethernet frames for real-socket tests: IPv4/IPv6 with UDP, TCP or ICMP echo, optionally
// 802.1Q-tagged, with correct IP, UDP, TCP and ICMP checksums (a socket with a filter attached
// validates them before the filter runs).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "netns.h"

namespace sockfilter::testing::netns {

/// Who a frame goes from and to: the link and network addresses of both ends.
struct Hosts {
    Mac src_mac{};
    Mac dst_mac{};
    Ipv4 src4{};
    Ipv4 dst4{};
    Ipv6 src6{};
    Ipv6 dst6{};

    /// From end `from` of a veth pair to end `to`.
    [[nodiscard]] static Hosts between(const Endpoint& from, const Endpoint& to);
    /// For frames that are run, not sent: 02:00:00:00:00:01, 198.18.0.1, 2001:2::1 to
    /// 02:00:00:00:00:02, 198.18.0.2, 2001:2::2.
    [[nodiscard]] static Hosts fixed();
};

/// The link layer of one frame.
struct Link {
    bool ipv6 = false;                    ///< IPv6 instead of IPv4
    std::optional<std::uint16_t> vlan;    ///< an 802.1Q tag with this TCI (priority and VLAN id)
    /// Bytes of zeros after the IP packet (Ethernet padding, which the IP layer trims).
    std::size_t padding = 0;
};

/// TCP flag bits (byte 13 of the header).
inline constexpr std::uint8_t kTcpFin = 0x01;
inline constexpr std::uint8_t kTcpSyn = 0x02;
inline constexpr std::uint8_t kTcpRst = 0x04;
inline constexpr std::uint8_t kTcpPsh = 0x08;
inline constexpr std::uint8_t kTcpAck = 0x10;

/// `n` payload bytes whose values follow from `seed`, so two payloads of a test differ.
[[nodiscard]] std::vector<std::uint8_t> payload(std::size_t n, std::uint8_t seed);

/// A UDP datagram from `sport` to `dport`.
[[nodiscard]] std::vector<std::uint8_t> udp_frame(const Hosts& h, const Link& l, std::uint16_t sport,
                                                  std::uint16_t dport, std::span<const std::uint8_t> data);

/// A TCP segment with a 20-byte header (no options), window 65535.
[[nodiscard]] std::vector<std::uint8_t> tcp_frame(const Hosts& h, const Link& l, std::uint16_t sport,
                                                  std::uint16_t dport, std::uint8_t flags, std::uint32_t seq,
                                                  std::uint32_t ack, std::span<const std::uint8_t> data);

/// An ICMP (IPv4) or ICMPv6 echo request.
[[nodiscard]] std::vector<std::uint8_t> icmp_echo_frame(const Hosts& h, const Link& l, std::uint16_t id,
                                                        std::uint16_t seq, std::span<const std::uint8_t> data);

/// A frame of another EtherType (not IP) with `data` after the Ethernet header (and tag).
[[nodiscard]] std::vector<std::uint8_t> ethernet_frame(const Hosts& h, const Link& l, std::uint16_t ethertype,
                                                       std::span<const std::uint8_t> data);

/// One frame of a traffic set, with a short description for messages.
struct Crafted {
    std::string what;                 ///< e.g. "udp4 100 B", "tcp6 SYN", "vlan 5 udp4 30 B"
    std::vector<std::uint8_t> bytes;  ///< the Ethernet frame as sent
};

/// The first source port of mixed_traffic's UDP datagrams: the datagram at index i of the set
/// comes from port kUdpSourceBase + i, so a receiving UDP socket can tell which one it got.
inline constexpr std::uint16_t kUdpSourceBase = 40000;

/// A bounded mix (31 frames) over IPv4 and IPv6 from `h`'s source to its destination:
/// UDP datagrams to `udp_port` with payloads of 0 to 1472 bytes (one with Ethernet padding
/// after the IP packet, one broadcast to 198.18.0.255), the same behind 802.1Q tags (VLAN 0,
/// i.e. priority-tagged, and VLANs 5 and 7), TCP segments (SYN, data) to ports 80 and 443, ICMP
/// and ICMPv6 echo requests, and a frame of a non-IP EtherType (0x88b5).
[[nodiscard]] std::vector<Crafted> mixed_traffic(const Hosts& h, std::uint16_t udp_port);

/// A wider, deterministic set (a few hundred frames) for differential tests that run frames
/// without sending them: mixed_traffic for several UDP ports, TCP with each flag combination to
/// well-known ports from both directions, ICMP/ICMPv6 echo, broadcast and multicast
/// destinations, 802.1Q tags (nested too), frames of non-IP EtherTypes (ARP, RARP, MPLS,
/// PPPoE, LLDP, IPX) and 802.3 length frames with LLC headers (STP, NetBIOS, SNAP), and every
/// frame cut short at header boundaries (14, 18, 20, 23, 34, 38, 42, 54, 58 bytes).
[[nodiscard]] std::vector<Crafted> protocol_mix(const Hosts& h);

/// What a receiving packet socket gets of `frame`: the kernel takes an outer 802.1Q tag out of the
/// bytes (skb_vlan_untag) and reports it in PACKET_AUXDATA; `tci` receives it, or nothing.
[[nodiscard]] std::vector<std::uint8_t> untag(const std::vector<std::uint8_t>& frame,
                                              std::optional<std::uint16_t>& tci);

/// The internet checksum (RFC 1071) of `bytes` added to `sum`, folded and complemented.
[[nodiscard]] std::uint16_t internet_checksum(std::span<const std::uint8_t> bytes, std::uint32_t sum = 0);

}  // namespace sockfilter::testing::netns
