// SPDX-License-Identifier: MIT
// Helpers that read the packet and its socket (spec §1.5-§1.7, §5.3): skb_load_bytes,
// skb_load_bytes_relative, get_socket_cookie, get_socket_uid, get_netns_cookie.
#include <algorithm>
#include <cstring>

#include "runtime/helpers/impl.h"
#include "runtime/instance.h"

namespace sockfilter::runtime::helpers {

namespace {

/// BPF_HDR_START_MAC and BPF_HDR_START_NET.
constexpr std::uint64_t kHdrStartMac = 0;
constexpr std::uint64_t kHdrStartNet = 1;
/// INT_MAX: bpf_skb_load_bytes refuses larger offsets before looking at the packet.
constexpr std::uint32_t kIntMax = 0x7fffffff;
/// overflowuid: what get_socket_uid reports without a full socket.
constexpr std::uint64_t kOverflowUid = 65534;
/// The netns cookie of init_net, the namespace every simulated socket lives in.
constexpr std::uint64_t kInitNetCookie = 1;

/// FNV-1a over `bytes`, continuing from `h`.
std::uint64_t fnv1a(std::uint64_t h, const void* bytes, std::size_t n) {
    const auto* p = static_cast<const std::uint8_t*>(bytes);
    for (std::size_t i = 0; i < n; ++i) {
        h = (h ^ p[i]) * 0x100000001b3ULL;
    }
    return h;
}

}  // namespace

std::uint64_t skb_load_bytes(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t r4,
                             std::uint64_t) {
    constexpr std::string_view kName = "bpf_skb_load_bytes";
    const Skb* skb = ctx_arg(env, kName, 1, r1);
    if (skb == nullptr) {
        return 0;
    }
    const auto offset = static_cast<std::uint32_t>(r2);
    const auto len = static_cast<std::uint32_t>(r4);
    std::uint8_t* to = writable(env, kName, 3, "to", r3, len);
    if (to == nullptr) {
        return 0;
    }
    // skb_header_pointer: the bytes must lie inside [data, data + len).
    if (offset > kIntMax || std::uint64_t{offset} + len > skb->len()) {
        std::fill_n(to, len, std::uint8_t{0});
        return neg(kEfault);
    }
    std::copy_n(skb->bytes.data() + skb->data + offset, len, to);
    return 0;
}

std::uint64_t skb_load_bytes_relative(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3,
                                      std::uint64_t r4, std::uint64_t r5) {
    constexpr std::string_view kName = "bpf_skb_load_bytes_relative";
    const Skb* skb = ctx_arg(env, kName, 1, r1);
    if (skb == nullptr) {
        return 0;
    }
    const auto offset = static_cast<std::uint32_t>(r2);
    const auto len = static_cast<std::uint32_t>(r4);
    const auto start_header = static_cast<std::uint32_t>(r5);
    std::uint8_t* to = writable(env, kName, 3, "to", r3, len);
    if (to == nullptr) {
        return 0;
    }
    std::int64_t start = -1;
    if (start_header == kHdrStartMac) {
        start = skb->mac_header;
    } else if (start_header == kHdrStartNet) {
        start = skb->network_header;
    }
    // Only the end of the linear data bounds the read (skb_tail_pointer); bytes in front of
    // skb->data are reachable.
    if (offset > 0xffff || start < 0 ||
        static_cast<std::uint64_t>(start) + offset + len > skb->bytes.size()) {
        std::fill_n(to, len, std::uint8_t{0});
        return neg(kEfault);
    }
    std::copy_n(skb->bytes.data() + start + offset, len, to);
    return 0;
}

std::uint64_t get_socket_cookie(CallEnv& env, std::uint64_t r1, std::uint64_t, std::uint64_t, std::uint64_t,
                                std::uint64_t) {
    const Skb* skb = ctx_arg(env, "bpf_get_socket_cookie", 1, r1);
    if (skb == nullptr || !skb->meta.has_sk) {
        return 0;
    }
    // The kernel numbers sockets from a global counter as cookies are first asked for. Here a
    // socket is known only by what ctx->sk shows, so its cookie is a hash of that (family,
    // addresses, ports) and the instance's seed: the same for every packet of one socket, never 0.
    const SockInfo& s = skb->meta.sock;
    std::uint64_t h = 0xcbf29ce484222325ULL;
    if (env.instance != nullptr) {
        const std::uint64_t seed = env.instance->options().seed;
        h = fnv1a(h, &seed, sizeof seed);
    }
    h = fnv1a(h, &s.family, sizeof s.family);
    h = fnv1a(h, s.src_ip4.data(), s.src_ip4.size());
    h = fnv1a(h, s.src_ip6.data(), s.src_ip6.size());
    h = fnv1a(h, &s.src_port, sizeof s.src_port);
    h = fnv1a(h, s.dst_ip4.data(), s.dst_ip4.size());
    h = fnv1a(h, s.dst_ip6.data(), s.dst_ip6.size());
    h = fnv1a(h, &s.dst_port, sizeof s.dst_port);
    return h == 0 ? 1 : h;
}

std::uint64_t get_socket_uid(CallEnv& env, std::uint64_t r1, std::uint64_t, std::uint64_t, std::uint64_t,
                             std::uint64_t) {
    const Skb* skb = ctx_arg(env, "bpf_get_socket_uid", 1, r1);
    if (skb == nullptr || !skb->meta.has_sk) {
        return kOverflowUid;
    }
    return env.instance == nullptr ? 0 : env.instance->options().socket_uid;
}

std::uint64_t get_netns_cookie(CallEnv& env, std::uint64_t r1, std::uint64_t, std::uint64_t, std::uint64_t,
                               std::uint64_t) {
    // ARG_PTR_TO_CTX_OR_NULL: NULL asks for init_net's cookie, the context for the socket's
    // namespace; both are init_net here.
    if (r1 != 0 && ctx_arg(env, "bpf_get_netns_cookie", 1, r1) == nullptr) {
        return 0;
    }
    return kInitNetCookie;
}

}  // namespace sockfilter::runtime::helpers
