// SPDX-License-Identifier: MIT
// The ancillary loads that are kernel functions rather than fields: the netlink attribute
// searches (bpf_skb_get_nlattr[_nest]) and the flow dissector's payload offset (skb_get_poff).
#include <algorithm>
#include <optional>

#include "cbpf/interpreter.h"
#include "support/bytes.h"

namespace sockfilter::cbpf {

namespace {

constexpr std::uint32_t kNlaHdrLen = 4;
constexpr std::uint16_t kNlaTypeMask = 0x3fff;  // ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER)

/// nla_find: the first attribute of type `type` in the `len` bytes at `pos`, as an index into
/// the skb's bytes. Attribute headers are host order (u16 nla_len, u16 nla_type).
std::optional<std::size_t> nla_find(const std::vector<std::uint8_t>& b, std::size_t pos, std::int64_t len,
                                    std::uint32_t type) {
    while (len >= static_cast<std::int64_t>(kNlaHdrLen)) {
        const std::uint16_t nla_len = load_le<std::uint16_t>(&b[pos]);
        if (nla_len < kNlaHdrLen || nla_len > len) {
            break;
        }
        if (static_cast<std::int32_t>(load_le<std::uint16_t>(&b[pos + 2]) & kNlaTypeMask) ==
            static_cast<std::int32_t>(type)) {
            return pos;
        }
        const std::uint32_t step = (nla_len + 3U) & ~3U;  // NLA_ALIGN
        len -= step;
        pos += step;
    }
    return std::nullopt;
}

}  // namespace

std::uint32_t nlattr(const runtime::Skb& skb, std::uint32_t a, std::uint32_t x) {
    const std::uint32_t len = skb.len();
    if (len < kNlaHdrLen || a > len - kNlaHdrLen) {
        return 0;
    }
    auto found = nla_find(skb.bytes, skb.data + a, static_cast<std::int64_t>(len) - a, x);
    return found ? static_cast<std::uint32_t>(*found - skb.data) : 0;
}

std::uint32_t nlattr_nest(const runtime::Skb& skb, std::uint32_t a, std::uint32_t x) {
    const std::uint32_t len = skb.len();
    if (len < kNlaHdrLen || a > len - kNlaHdrLen) {
        return 0;
    }
    const std::size_t pos = skb.data + a;
    const std::uint16_t nla_len = load_le<std::uint16_t>(&skb.bytes[pos]);
    if (nla_len > len - a) {
        return 0;
    }
    auto found = nla_find(skb.bytes, pos + kNlaHdrLen, static_cast<std::int64_t>(nla_len) - kNlaHdrLen, x);
    return found ? static_cast<std::uint32_t>(*found - skb.data) : 0;
}

namespace {

constexpr std::uint16_t kEthIp = 0x0800;
constexpr std::uint16_t kEthIpv6 = 0x86dd;
constexpr std::uint16_t kEthArp = 0x0806;
constexpr std::uint16_t kEthRarp = 0x8035;
constexpr std::uint16_t kEth8021q = 0x8100;
constexpr std::uint16_t kEth8021ad = 0x88a8;

/// What __skb_flow_dissect reports for the basic keys: the transport header offset from
/// skb->data, the transport protocol, and the fragment flags.
struct Dissected {
    std::int64_t thoff = 0;
    std::uint8_t ip_proto = 0;
    bool fragment = false;
    bool first_fragment = false;
};

/// The flow dissector without a BPF flow dissector and with no flags (what skb_get_poff uses):
/// VLAN tags, IPv4 (options, fragments, IP-in-IP), IPv6 (hop-by-hop, routing, destination
/// options and fragment headers, IPv6-in-IPv6), ARP. Anything else fails, as the kernel's
/// dissector does for protocols it does not parse (docs/SEMANTICS.md).
std::optional<Dissected> dissect(const runtime::Skb& skb) {
    const auto& b = skb.bytes;
    const auto end = static_cast<std::int64_t>(b.size());
    const auto data = static_cast<std::int64_t>(skb.data);
    std::int64_t nh = skb.network_header;  // index in bytes
    auto have = [&](std::int64_t pos, std::int64_t n) { return pos >= 0 && pos + n <= end; };
    std::uint16_t proto = static_cast<std::uint16_t>((skb.meta.protocol >> 8) | (skb.meta.protocol << 8));
    Dissected d;
    for (int depth = 0; depth < 16; ++depth) {
        if (proto == kEth8021q || proto == kEth8021ad) {
            if (!have(nh, 4)) {
                return std::nullopt;
            }
            proto = load_be<std::uint16_t>(&b[nh + 2]);
            nh += 4;
            continue;
        }
        if (proto == kEthArp || proto == kEthRarp) {
            d.thoff = nh - data;
            return d;
        }
        std::uint8_t ip_proto = 0;
        if (proto == kEthIp) {
            if (!have(nh, 20)) {
                return std::nullopt;
            }
            const std::uint8_t ihl = b[nh] & 0x0f;
            if (ihl < 5) {
                return std::nullopt;
            }
            ip_proto = b[nh + 9];
            const std::uint16_t frag = load_be<std::uint16_t>(&b[nh + 6]);
            nh += ihl * 4;
            if ((frag & 0x3fff) != 0) {  // IP_MF | IP_OFFSET
                d.fragment = true;
                d.first_fragment = (frag & 0x1fff) == 0;
                d.thoff = nh - data;
                d.ip_proto = ip_proto;
                return d;
            }
        } else if (proto == kEthIpv6) {
            if (!have(nh, 40)) {
                return std::nullopt;
            }
            ip_proto = b[nh + 6];
            nh += 40;
        } else {
            return std::nullopt;
        }
        // The transport-protocol loop: IPv6 extension headers and tunnels dissect again.
        for (;;) {
            if (proto == kEthIpv6 && (ip_proto == 0 || ip_proto == 43 || ip_proto == 60)) {
                if (!have(nh, 2)) {
                    return std::nullopt;
                }
                ip_proto = b[nh];
                nh += (b[nh + 1] + 1) * 8;
                continue;
            }
            if (proto == kEthIpv6 && ip_proto == 44) {
                if (!have(nh, 8)) {
                    return std::nullopt;
                }
                const std::uint16_t off = load_be<std::uint16_t>(&b[nh + 2]);
                d.fragment = true;
                d.first_fragment = (off & 0xfff8) == 0;
                ip_proto = b[nh];
                nh += 8;
                d.thoff = nh - data;
                d.ip_proto = ip_proto;
                return d;
            }
            break;
        }
        if (ip_proto == 4 || ip_proto == 41) {  // IP-in-IP, IPv6-in-IP: dissect the inner header
            proto = ip_proto == 4 ? kEthIp : kEthIpv6;
            continue;
        }
        d.thoff = nh - data;
        d.ip_proto = ip_proto;
        return d;
    }
    return std::nullopt;
}

}  // namespace

std::uint32_t payload_offset(const runtime::Skb& skb) {
    auto d = dissect(skb);
    if (!d) {
        return 0;
    }
    // key_control->thoff = min(nhoff, skb->len), a u16.
    std::int64_t poff = std::min<std::int64_t>(d->thoff, skb.len()) & 0xffff;
    if (d->fragment && !d->first_fragment) {
        return static_cast<std::uint32_t>(poff);
    }
    switch (d->ip_proto) {
        case 6: {  // TCP: the data offset nibble, at least the 20-byte header
            const std::int64_t at = static_cast<std::int64_t>(skb.data) + poff + 12;
            if (at < 0 || at >= static_cast<std::int64_t>(skb.bytes.size())) {
                return static_cast<std::uint32_t>(poff);
            }
            poff += std::max<std::uint32_t>(20, (skb.bytes[static_cast<std::size_t>(at)] & 0xf0U) >> 2);
            break;
        }
        case 17: case 136: poff += 8; break;  // UDP, UDP-Lite
        case 1: case 58: case 2: poff += 8; break;  // ICMP, ICMPv6, IGMP
        case 33: poff += 16; break;  // DCCP
        case 132: poff += 12; break;  // SCTP
        default: break;
    }
    return static_cast<std::uint32_t>(poff);
}

}  // namespace sockfilter::cbpf
