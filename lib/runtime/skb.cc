// SPDX-License-Identifier: MIT
// Socket kinds and the return-value rule.
#include "runtime/skb.h"

#include <algorithm>
#include <array>

namespace sockfilter::runtime {

namespace {
constexpr std::array<std::pair<std::string_view, SocketKind>, 6> kKinds = {{
    {"packet", SocketKind::Packet},
    {"packet-dgram", SocketKind::PacketDgram},
    {"raw", SocketKind::Raw},
    {"udp", SocketKind::Udp},
    {"tcp", SocketKind::Tcp},
    {"test-run", SocketKind::TestRun},
}};
}  // namespace

Result<SocketKind> parse_socket_kind(std::string_view text) {
    for (const auto& [name, kind] : kKinds) {
        if (name == text) {
            return kind;
        }
    }
    return fail(Errc::InvalidArgument, "unknown socket kind '{}' (expected packet, packet-dgram, raw, udp, tcp or test-run)",
                text);
}

std::string_view socket_kind_name(SocketKind kind) {
    for (const auto& [name, k] : kKinds) {
        if (k == kind) {
            return name;
        }
    }
    return "?";
}

std::uint32_t kept_bytes(const Skb& skb, std::uint32_t ret) {
    if (ret == 0) {
        return 0;
    }
    return std::min(skb.len(), std::max(ret, skb.trim_floor));
}

}  // namespace sockfilter::runtime
