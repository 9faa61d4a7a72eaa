// SPDX-License-Identifier: MIT
// Socket filters on real sockets: attach, detach and lock (SOL_SOCKET options, spec §4), and
// borrowing a socket of another process through pidfd_open + pidfd_getfd.
#pragma once

#include <sys/types.h>

#include "kernel/fd.h"
#include "support/result.h"

namespace sockfilter::kernel {

/// setsockopt(SO_ATTACH_BPF): attaches the loaded socket filter `prog` to `sock`, replacing any
/// filter it had. Errors: Errc::Kernel with the errno (EPERM when the socket's filter is locked).
[[nodiscard]] Result<void> attach_bpf(int sock, const Fd& prog);

/// setsockopt(SO_DETACH_BPF): removes the socket's filter, eBPF or classic. ENOENT when it has none.
[[nodiscard]] Result<void> detach_filter(int sock);

/// setsockopt(SO_LOCK_FILTER, 1): the socket's filter can no longer be changed or removed.
[[nodiscard]] Result<void> lock_filter(int sock);

/// A duplicate of file descriptor `fd` of process `pid` (pidfd_open + pidfd_getfd; needs
/// PTRACE_MODE_ATTACH_REALCREDS over the process, CAP_SYS_PTRACE for another user's). Errors
/// name what is missing: no such process (ESRCH), no such fd (EBADF), not permitted (EPERM; the
/// message names the ptrace rule), all Errc::Kernel with `sys_errno`; Errc::InvalidArgument when
/// the fd is not a socket or `pid`/`fd` are out of range; Errc::NotSupported without pidfd_getfd.
[[nodiscard]] Result<Fd> socket_of_process(pid_t pid, int fd);

}  // namespace sockfilter::kernel
