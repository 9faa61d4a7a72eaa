// SPDX-License-Identifier: MIT
// The BPF_PROG_TEST_RUN ctx_in that presets the same `__sk_buff` fields as `--ctx` overrides do on
// our side (runtime::make_skb with SocketKind::TestRun).
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "kernel/bpf.h"
#include "runtime/packet.h"

namespace sockfilter::kernel {

/// A `struct __sk_buff` with the overridden fields BPF_PROG_TEST_RUN accepts (mark, priority,
/// ingress_ifindex, ifindex, cb0..cb4, gso_segs, gso_size) at their offsets, everything else 0;
/// nullopt when `o` sets none of them. The other overrides are not representable: make_skb refuses
/// them for test-run, so callers build the skb first.
[[nodiscard]] std::optional<std::array<std::uint8_t, kSkBuffSize>> test_run_ctx(const runtime::CtxOverrides& o);

}  // namespace sockfilter::kernel
