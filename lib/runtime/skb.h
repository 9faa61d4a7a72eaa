// SPDX-License-Identifier: MIT
// The packet a socket filter runs on, as the kernel's sk_buff presents it to the program: the
// bytes, where offset 0 (skb->data) and the MAC and network headers are, and the metadata that
// __sk_buff fields read (spec §1.4-§1.7).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/result.h"

namespace sockfilter::runtime {

/// The socket a packet arrives on; decides where offset 0 is, whether ctx->sk exists and the
/// smallest length a return value may trim to (spec §1.7, §3).
enum class SocketKind : std::uint8_t {
    Packet,       ///< AF_PACKET SOCK_RAW: offset 0 = link-layer header
    PacketDgram,  ///< AF_PACKET SOCK_DGRAM: offset 0 = network header
    Raw,          ///< AF_INET/AF_INET6 SOCK_RAW: IPv4 header; IPv6: first byte after the header chain
    Udp,          ///< UDP socket: offset 0 = UDP header, trim floor 8
    Tcp,          ///< TCP socket: offset 0 = TCP header, trim floor = TCP header length
    TestRun,      ///< BPF_PROG_TEST_RUN: offset 0 = byte 14 of an Ethernet frame
};

/// Parses "packet", "packet-dgram", "raw", "udp", "tcp", "test-run".
[[nodiscard]] Result<SocketKind> parse_socket_kind(std::string_view text);
/// The name parse_socket_kind accepts.
[[nodiscard]] std::string_view socket_kind_name(SocketKind kind);

/// Packet types (skb->pkt_type).
enum PktType : std::uint8_t {
    kPacketHost = 0,
    kPacketBroadcast = 1,
    kPacketMulticast = 2,
    kPacketOtherHost = 3,
    kPacketOutgoing = 4,
};

/// Address families as ctx->sk->family reports them.
inline constexpr std::uint16_t kAfUnspec = 0;
inline constexpr std::uint16_t kAfInet = 2;
inline constexpr std::uint16_t kAfInet6 = 10;

/// Socket states (skc_state) that ctx->sk->state reports.
inline constexpr std::uint8_t kTcpEstablished = 1;
inline constexpr std::uint8_t kTcpClose = 7;
inline constexpr std::uint8_t kTcpListen = 10;

/// The socket ctx->sk points to, as `struct bpf_sock` reads it (spec §1.5). Addresses are the
/// network-order bytes; ports are host-order numbers (src_port reads host order, dst_port network
/// order, as the kernel stores them). "src" is the socket's local end, "dst" its peer.
struct SockInfo {
    std::uint32_t bound_dev_if = 0;           ///< SO_BINDTODEVICE ifindex, 0 if unbound
    std::uint16_t family = kAfUnspec;         ///< kAfInet, kAfInet6 or kAfUnspec
    std::array<std::uint8_t, 4> src_ip4{};    ///< local IPv4 address (skc_rcv_saddr)
    std::array<std::uint8_t, 16> src_ip6{};   ///< local IPv6 address
    std::uint16_t src_port = 0;               ///< local port (skc_num)
    std::uint16_t dst_port = 0;               ///< peer port (skc_dport)
    std::array<std::uint8_t, 4> dst_ip4{};    ///< peer IPv4 address (skc_daddr)
    std::array<std::uint8_t, 16> dst_ip6{};   ///< peer IPv6 address
    std::uint8_t state = kTcpClose;           ///< skc_state (kTcpEstablished, kTcpClose, kTcpListen, ...)
    std::int32_t rx_queue_mapping = -1;  ///< -1: no receive queue recorded (reads as all ones)
};

/// sk_buff metadata that __sk_buff fields expose. Values are stored as the kernel stores them:
/// `protocol` and `vlan_proto` hold the network-order 16 bits as a little-endian host read
/// gives them (IPv4 = 0x0008), `vlan_tci` in host order.
struct SkbMeta {
    std::uint32_t pkt_type = kPacketHost;
    std::uint32_t mark = 0;
    std::uint16_t queue_mapping = 0;
    std::uint16_t protocol = 0;
    std::uint16_t vlan_tci = 0;
    std::uint16_t vlan_proto = 0;
    /// The device's type (ARPHRD_*, skb->dev->type; classic SKF_AD_HATYPE). 772 is loopback,
    /// the device runs are taken on unless the capture names another.
    std::uint16_t dev_type = 772;
    std::uint32_t priority = 0;
    std::uint32_t ingress_ifindex = 0;
    std::uint32_t ifindex = 0;
    std::uint16_t tc_index = 0;
    std::uint32_t hash = 0;
    std::uint32_t napi_id = 0;
    std::uint16_t gso_segs = 0;
    std::uint16_t gso_size = 0;
    std::array<std::uint8_t, 20> cb{};
    /// Whether ctx->sk is a socket (protocol sockets, test-run) or NULL (AF_PACKET).
    bool has_sk = false;
    /// The socket ctx->sk points to when has_sk.
    SockInfo sock;
};

/// Sentinel for a header offset that was never set (skb_mac_header_was_set() false).
inline constexpr std::int32_t kNoHeader = -1;

/// One packet as the program sees it. `bytes` holds the whole captured frame, including headers
/// in front of offset 0 (SKF_NET_OFF/SKF_LL_OFF and load_bytes_relative reach them); everything
/// is linear (no paged fragments).
struct Skb {
    std::vector<std::uint8_t> bytes;
    std::uint32_t data = 0;                ///< index in `bytes` of offset 0 (skb->data)
    std::int32_t mac_header = kNoHeader;   ///< index in `bytes` of the MAC header, or kNoHeader
    std::int32_t network_header = 0;       ///< index in `bytes` of the network header
    std::uint32_t trim_floor = 0;          ///< smallest length a non-zero return trims to (cap)
    SkbMeta meta;

    /// skb->len: bytes from offset 0 to the end.
    [[nodiscard]] std::uint32_t len() const { return static_cast<std::uint32_t>(bytes.size()) - data; }
};

/// SKF_NET_OFF and SKF_LL_OFF (include/uapi/linux/filter.h): offsets below 0 that select the
/// network and link-layer headers in LD_ABS/LD_IND (eBPF) and classic packet loads.
inline constexpr std::int32_t kSkfNetOff = -0x100000;
inline constexpr std::int32_t kSkfLlOff = -0x200000;

/// Where in `skb.bytes` a packet load of `size` bytes at offset `k` reads, as the kernel's
/// bpf_skb_load_helper_{8,16,32} translate it (spec §2.2): k ≥ 0 from skb->data, SKF_NET_OFF + n
/// from the network header, SKF_LL_OFF + n from the MAC header (if set); -1 when the load fails
/// and the program ends with 0.
[[nodiscard]] inline std::int64_t packet_load_pos(const Skb& skb, std::int32_t k, std::uint32_t size) {
    std::int64_t pos = 0;
    if (k >= 0) [[likely]] {
        pos = static_cast<std::int64_t>(skb.data) + k;
    } else if (k >= kSkfNetOff) {
        pos = static_cast<std::int64_t>(skb.network_header) + (k - kSkfNetOff);
    } else if (k >= kSkfLlOff && skb.mac_header != kNoHeader) {
        pos = static_cast<std::int64_t>(skb.mac_header) + (k - kSkfLlOff);
    } else {
        return -1;
    }
    // Everything in Skb::bytes is linear, so the kernel's "headlen - off >= n, else
    // skb_copy_bits inside [0, len)" is one range test over the buffer.
    if (pos < 0 || pos + size > static_cast<std::int64_t>(skb.bytes.size())) {
        return -1;
    }
    return pos;
}

/// Bytes the socket keeps for a return value `ret` (spec §3.1, §3.2): 0 drops, otherwise
/// min(len, max(ret, trim_floor)).
[[nodiscard]] std::uint32_t kept_bytes(const Skb& skb, std::uint32_t ret);

}  // namespace sockfilter::runtime
