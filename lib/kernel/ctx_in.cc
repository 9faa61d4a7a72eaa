// SPDX-License-Identifier: MIT
// Overrides written at the offsets of struct __sk_buff (include/uapi/linux/bpf.h, 6.18).
#include "kernel/ctx_in.h"

#include "support/bytes.h"

namespace sockfilter::kernel {

namespace {

constexpr std::size_t kMarkOff = 8;
constexpr std::size_t kPriorityOff = 32;
constexpr std::size_t kIngressIfindexOff = 36;
constexpr std::size_t kIfindexOff = 40;
constexpr std::size_t kCbOff = 48;
constexpr std::size_t kGsoSegsOff = 164;
constexpr std::size_t kGsoSizeOff = 176;

}  // namespace

std::optional<std::array<std::uint8_t, kSkBuffSize>> test_run_ctx(const runtime::CtxOverrides& o) {
    std::array<std::uint8_t, kSkBuffSize> ctx{};
    bool any = false;
    auto set = [&](const std::optional<std::uint32_t>& v, std::size_t off) {
        if (v) {
            store_le<std::uint32_t>(ctx.data() + off, *v);
            any = true;
        }
    };
    set(o.mark, kMarkOff);
    set(o.priority, kPriorityOff);
    set(o.ingress_ifindex, kIngressIfindexOff);
    set(o.ifindex, kIfindexOff);
    for (std::size_t i = 0; i < o.cb.size(); ++i) {
        set(o.cb[i], kCbOff + 4 * i);
    }
    set(o.gso_segs, kGsoSegsOff);
    set(o.gso_size, kGsoSizeOff);
    if (!any) {
        return std::nullopt;
    }
    return ctx;
}

}  // namespace sockfilter::kernel
