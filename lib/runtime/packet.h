// SPDX-License-Identifier: MIT
// Building the sk_buff a socket filter sees from a captured frame: where offset 0 is for each
// socket kind, the metadata __sk_buff exposes, ctx->sk, and `--ctx` overrides (spec §1.5, §1.7;
// docs/SEMANTICS.md says where every value comes from).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "runtime/skb.h"
#include "support/result.h"

namespace sockfilter::runtime {

/// Link types make_skb understands, as DLT values (what libpcap's pcap_datalink returns).
namespace dlt {
inline constexpr int kNull = 0;          ///< BSD loopback: 4-byte address family, host order
inline constexpr int kEn10mb = 1;        ///< Ethernet
inline constexpr int kRaw = 12;          ///< raw IP (DLT_RAW on Linux; LINKTYPE_RAW 101 files read as 12)
inline constexpr int kRawOpenBsd = 14;   ///< raw IP (DLT_RAW on OpenBSD)
inline constexpr int kLinktypeRaw = 101; ///< raw IP (the LINKTYPE value, accepted as well)
inline constexpr int kLoop = 108;        ///< OpenBSD loopback: 4-byte address family, network order
inline constexpr int kLinuxSll = 113;    ///< Linux cooked capture v1
inline constexpr int kIpv4 = 228;        ///< raw IPv4
inline constexpr int kIpv6 = 229;        ///< raw IPv6
inline constexpr int kLinuxSll2 = 276;   ///< Linux cooked capture v2
}  // namespace dlt

/// ifindex and ingress_ifindex when the capture does not say (the loopback device, where the
/// spec's measurements were taken); SLL2 captures carry their own.
inline constexpr std::uint32_t kDefaultIfindex = 1;

/// Values given with `--ctx key=value,...`; each one replaces what make_skb derived.
struct CtxOverrides {
    std::optional<std::uint32_t> mark;             ///< skb->mark
    std::optional<std::uint32_t> priority;         ///< skb->priority
    std::optional<std::uint32_t> pkt_type;         ///< 0..7
    std::optional<std::uint32_t> hash;             ///< skb->hash
    std::optional<std::uint32_t> queue_mapping;    ///< 16 bits
    std::optional<std::uint32_t> ifindex;          ///< the device's ifindex
    std::optional<std::uint32_t> ingress_ifindex;  ///< skb->skb_iif
    std::optional<std::uint32_t> napi_id;          ///< skb->napi_id
    std::optional<std::uint32_t> tc_index;         ///< 16 bits
    std::optional<std::uint32_t> gso_segs;         ///< 16 bits
    std::optional<std::uint32_t> gso_size;         ///< 16 bits
    std::optional<std::uint32_t> vlan_tci;         ///< 16 bits
    std::array<std::optional<std::uint32_t>, 5> cb;  ///< cb0..cb4

    /// Writes the overridden values into `meta`.
    void apply(SkbMeta& meta) const;
};

/// Parses "mark=1,ifindex=3,cb0=7" (values decimal or 0x hex; empty text = no overrides). Errors
/// name the bad key or value and list the valid keys.
[[nodiscard]] Result<CtxOverrides> parse_ctx_overrides(std::string_view text);

/// Whether BPF_PROG_TEST_RUN's ctx_in can set every field `overrides` sets (mark, priority, ifindex,
/// ingress_ifindex, cb0..cb4, gso_segs, gso_size); the error names the first one it cannot.
[[nodiscard]] Result<void> check_test_run_overrides(const CtxOverrides& overrides);

/// Builds the sk_buff a socket of `kind` runs its filter on when `frame`, a captured packet of
/// link type `linktype` (a dlt:: value), arrives. Errors: a link type it does not know, a frame
/// too short for its link header, and (for raw, udp, tcp) a packet that socket can never receive
/// (not IP, not its protocol, truncated, a fragment, not addressed to this host). `overrides` are
/// applied last. For test-run, overrides BPF_PROG_TEST_RUN cannot set are an error.
[[nodiscard]] Result<Skb> make_skb(std::span<const std::uint8_t> frame, int linktype, SocketKind kind,
                                   const CtxOverrides& overrides = {});

/// make_skb for `--packet HEX`: the hex digits (parse_hex syntax) are an Ethernet frame.
[[nodiscard]] Result<Skb> make_skb_from_hex(std::string_view hex, SocketKind kind, const CtxOverrides& overrides = {});

/// Whether a load of `size` bytes at `off` from a PTR_TO_SOCK_COMMON (ctx->sk after its NULL
/// check) is allowed (spec §1.5); if not, the kernel says
/// `R<n> invalid sock_common access off=<off> size=<size>`. Stores are never allowed
/// (`R<n> cannot write into sock_common`).
[[nodiscard]] bool check_sock_access(std::int32_t off, std::uint32_t size);

/// The value an allowed load of `size` bytes at `off` from ctx->sk returns, with the kernel's
/// field conversion and narrow-load rules (struct bpf_sock, spec §1.4-§1.5). Not sign-extended;
/// an LDSX caller extends the result. Requires skb.meta.has_sk.
[[nodiscard]] std::uint64_t read_sock(const Skb& skb, std::int32_t off, std::uint32_t size);

}  // namespace sockfilter::runtime
