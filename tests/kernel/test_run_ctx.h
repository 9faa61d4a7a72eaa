// SPDX-License-Identifier: MIT
// The BPF_PROG_TEST_RUN ctx_in that presets the same context fields as make_skb's CtxOverrides,
// for differential tests that run one packet on both sides.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "kernel/bpf.h"
#include "runtime/packet.h"

namespace sockfilter::testing {

/// The __sk_buff to pass as ctx_in for `o` (mark, priority, ingress_ifindex, ifindex, cb[],
/// gso_segs, gso_size: the fields test-run takes), or nullopt when `o` sets none of them.
inline std::optional<std::array<std::uint8_t, kernel::kSkBuffSize>> test_run_ctx(const runtime::CtxOverrides& o) {
    std::array<std::uint8_t, kernel::kSkBuffSize> ctx{};
    bool any = false;
    auto set = [&](const std::optional<std::uint32_t>& v, std::size_t off) {
        if (v) {
            for (std::size_t i = 0; i < 4; ++i) {
                ctx[off + i] = static_cast<std::uint8_t>(*v >> (8 * i));
            }
            any = true;
        }
    };
    set(o.mark, 8);
    set(o.priority, 32);
    set(o.ingress_ifindex, 36);
    set(o.ifindex, 40);
    for (std::size_t i = 0; i < 5; ++i) {
        set(o.cb[i], 48 + 4 * i);
    }
    set(o.gso_segs, 164);
    set(o.gso_size, 176);
    if (!any) {
        return std::nullopt;
    }
    return ctx;
}

}  // namespace sockfilter::testing
