// SPDX-License-Identifier: MIT
// What this machine and process may do with BPF: whether bpf() is permitted and with which
// privilege tier, the JIT setting, kernel.unprivileged_bpf_disabled, whether bpffs is mounted.
#pragma once

#include <optional>
#include <string>

#include "kernel/bpf.h"
#include "support/result.h"

namespace sockfilter::kernel {

/// Which helpers and program features the kernel grants a loader (bpf_capable, perfmon_capable):
/// the tiers `sockfilter run --privilege` names.
enum class BpfPrivilege {
    None,  ///< no CAP_BPF or CAP_SYS_ADMIN: unprivileged loads, when kernel.unprivileged_bpf_disabled is 0
    Bpf,   ///< CAP_BPF (or CAP_SYS_ADMIN) without CAP_PERFMON: `--privilege bpf`
    Root,  ///< CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN: every helper (`--privilege root`)
};

/// The `--privilege` name of a tier: "none", "bpf", "root".
[[nodiscard]] const char* privilege_name(BpfPrivilege p);

/// Everything probe_features finds out.
struct Features {
    Probe bpf;                                         ///< whether a socket filter loads (probe())
    BpfPrivilege privilege = BpfPrivilege::None;       ///< from the effective capabilities
    std::string capabilities;                          ///< the BPF-related effective capabilities, e.g. "CAP_SYS_ADMIN CAP_BPF"
    std::optional<int> jit_enable;                     ///< net.core.bpf_jit_enable (0 off, 1 on, 2 on + debug); nullopt if unreadable
    std::optional<int> jit_harden;                     ///< net.core.bpf_jit_harden
    std::optional<int> unprivileged_bpf_disabled;      ///< kernel.unprivileged_bpf_disabled (0, 1, 2)
    bool bpffs_mounted = false;                        ///< a bpf filesystem is mounted at kBpffsPath
    std::string kernel_release;                        ///< uname -r
};

/// Where pinning expects the bpf filesystem.
inline constexpr const char* kBpffsPath = "/sys/fs/bpf";

/// Whether `path` (a file or directory that exists) lies on a bpf filesystem (statfs f_type ==
/// BPF_FS_MAGIC).
[[nodiscard]] bool on_bpffs(const std::string& path);

/// Probes everything Features lists. Unreadable settings are nullopt, not errors; the only error is
/// probe()'s (a probe load that fails for a reason other than permission).
[[nodiscard]] Result<Features> probe_features();

}  // namespace sockfilter::kernel
