// SPDX-License-Identifier: MIT
// The kernel's checks of a classic program (bpf_check_basics_ok, bpf_check_classic,
// check_load_and_stores and the jump range of bpf_convert_filter; spec §7.2, §7.3).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "cbpf/insn.h"
#include "support/result.h"

namespace sockfilter::cbpf {

/// Whether the kernel accepts `code` for a socket filter (chk_code_allowed; spec §7.2).
[[nodiscard]] bool code_allowed(std::uint16_t code);

/// Checks `filter` as SO_ATTACH_FILTER does; on success the program runs on the interpreter and
/// converts. Every rejection is the kernel's EINVAL (Error::sys_errno), with Errc::Rejected,
/// the pc of the offending instruction and why, e.g.
/// `pc 4: ld M[3] reads a scratch slot not stored on every path to it`. The socket's memory
/// charge (ENOMEM for very large conversions, spec §9.1) is not checked: it depends on the
/// socket's sysctl_optmem_max.
[[nodiscard]] Result<void> validate(std::span<const Insn> filter);

/// How many eBPF instructions the kernel's bpf_convert_filter emits for `insn` on x86-64
/// (efficient unaligned access; spec §7.6). The kernel rejects a program whose converted jumps
/// do not fit a 16-bit offset; validate() checks that with these sizes.
[[nodiscard]] std::uint32_t kernel_expansion(const Insn& insn);

}  // namespace sockfilter::cbpf
