// SPDX-License-Identifier: MIT
// Classic socket filters on real sockets: SO_ATTACH_FILTER and the read-back SO_GET_FILTER
// (net/core/filter.c sk_attach_filter and sk_get_filter; spec §4, §7).
#pragma once

#include <span>

#include "cbpf/insn.h"
#include "support/result.h"

namespace sockfilter::kernel {

/// setsockopt(SO_ATTACH_FILTER): attaches the classic program `filter` to `sock`, replacing any
/// filter it had. The kernel checks it as cbpf::validate does and keeps a copy of the original
/// instructions for SO_GET_FILTER. Errors: Errc::Kernel with the errno — EINVAL for a program the
/// kernel rejects (call cbpf::validate first for the reason), EPERM when the socket's filter is
/// locked, ENOMEM when the program exceeds the socket's option memory (net.core.optmem_max).
[[nodiscard]] Result<void> attach_filter(int sock, std::span<const cbpf::Insn> filter);

/// What SO_GET_FILTER says about a socket's filter.
struct SocketFilter {
    enum class Kind {
        None,     ///< no filter is attached
        Classic,  ///< a classic filter (SO_ATTACH_FILTER): `filter` holds it exactly as attached
        Ebpf,     ///< an eBPF filter (SO_ATTACH_BPF): the kernel keeps no classic original (EACCES)
    };
    Kind kind = Kind::None;
    cbpf::Filter filter;
};

/// getsockopt(SO_GET_FILTER): the classic program attached to `sock`. The option's length counts
/// instructions, not bytes: a first call with length 0 asks for the count, a second copies that
/// many (repeated if the filter grew in between, which the kernel answers with EINVAL).
/// Errors: Errc::Kernel with the errno (ENOTSOCK for a descriptor that is not a socket).
[[nodiscard]] Result<SocketFilter> get_filter(int sock);

}  // namespace sockfilter::kernel
