// SPDX-License-Identifier: MIT
// Pinning a loaded program or map in a bpf filesystem, where other processes (bpftool,
// `sockfilter attach`) open it by path; bpffs is mounted at /sys/fs/bpf when a pin needs it there.
#pragma once

#include <string>

#include "kernel/fd.h"
#include "support/result.h"

namespace sockfilter::kernel {

/// What pin() did besides pinning.
struct Pinned {
    bool mounted_bpffs = false;  ///< it mounted a bpf filesystem at /sys/fs/bpf first
};

/// BPF_OBJ_PIN of `obj` at `path`. When `path` is under /sys/fs/bpf and no bpf filesystem is
/// mounted there, mounts one (mode 0700; needs CAP_SYS_ADMIN). Errors name the path and the
/// reason: Errc::InvalidArgument when its directory does not exist or is not on a bpf filesystem
/// or the name has a '.' (bpffs refuses those),
/// Errc::Kernel with the errno when the mount or BPF_OBJ_PIN fails (EEXIST: the path exists;
/// EPERM/EACCES: not permitted).
[[nodiscard]] Result<Pinned> pin(const Fd& obj, const std::string& path);

}  // namespace sockfilter::kernel
