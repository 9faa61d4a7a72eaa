// SPDX-License-Identifier: MIT
// The classic BPF interpreter with the kernel's semantics (spec §7.4, §7.5) over runtime::Skb.
#pragma once

#include <cstdint>
#include <span>

#include "cbpf/insn.h"
#include "runtime/instance.h"
#include "runtime/skb.h"

namespace sockfilter::cbpf {

/// Runs classic programs that validate() accepted. A, X and M[] start at 0; the result is what
/// the filter returns (the number of bytes to keep, 0 = drop), including the early returns the
/// kernel makes: a failed packet load or division by a zero X returns 0, SKF_AD_IFINDEX and
/// SKF_AD_HATYPE without a device (Skb ifindex 0) return A.
class Interpreter {
public:
    /// `instance` supplies SKF_AD_CPU and SKF_AD_RANDOM (the same sources as the eBPF helpers
    /// bpf_get_smp_processor_id and bpf_get_prandom_u32, so a converted program sees the same
    /// values); it must outlive the interpreter.
    Interpreter(std::span<const Insn> filter, runtime::Instance& instance) : filter_(filter), instance_(&instance) {}

    /// One run on `skb`.
    [[nodiscard]] std::uint32_t run(const runtime::Skb& skb) const;

private:
    std::span<const Insn> filter_;
    runtime::Instance* instance_;
};

/// SKF_AD_NLATTR: the offset from skb->data of the first netlink attribute of type `x` at or
/// after offset `a`, else 0 (bpf_skb_get_nlattr).
[[nodiscard]] std::uint32_t nlattr(const runtime::Skb& skb, std::uint32_t a, std::uint32_t x);
/// SKF_AD_NLATTR_NEST: the same search inside the attribute at offset `a` (bpf_skb_get_nlattr_nest).
[[nodiscard]] std::uint32_t nlattr_nest(const runtime::Skb& skb, std::uint32_t a, std::uint32_t x);
/// SKF_AD_PAY_OFFSET: skb_get_poff, the flow dissector's offset of the transport payload from
/// skb->data (0 when the headers cannot be dissected). docs/SEMANTICS.md lists what it dissects.
[[nodiscard]] std::uint32_t payload_offset(const runtime::Skb& skb);

}  // namespace sockfilter::cbpf
