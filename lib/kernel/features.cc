// SPDX-License-Identifier: MIT
// Feature probes: capabilities from /proc/self/status, sysctls from /proc/sys, bpffs by statfs.
#include "kernel/features.h"

#include <sys/statfs.h>
#include <sys/utsname.h>

#include <cstdint>
#include <fstream>
#include <sstream>

namespace sockfilter::kernel {

namespace {

/// BPF_FS_MAGIC (include/uapi/linux/magic.h).
constexpr std::uint64_t kBpfFsMagic = 0xcafe4a11;

/// Capability bits (include/uapi/linux/capability.h).
constexpr int kCapNetAdmin = 12;
constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

std::optional<int> read_sysctl(const char* path) {
    std::ifstream f(path);
    int v = 0;
    if (f >> v) {
        return v;
    }
    return std::nullopt;
}

/// The effective capability set (CapEff of /proc/self/status), or 0 if unreadable.
std::uint64_t effective_caps() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.starts_with("CapEff:")) {
            std::istringstream in(line.substr(7));
            std::uint64_t caps = 0;
            in >> std::hex >> caps;
            return caps;
        }
    }
    return 0;
}

}  // namespace

const char* privilege_name(BpfPrivilege p) {
    switch (p) {
        case BpfPrivilege::None: return "none";
        case BpfPrivilege::Bpf: return "bpf";
        case BpfPrivilege::Root: return "root";
    }
    return "none";
}

bool on_bpffs(const std::string& path) {
    struct statfs sfs{};
    return ::statfs(path.c_str(), &sfs) == 0 && static_cast<std::uint64_t>(sfs.f_type) == kBpfFsMagic;
}

Result<Features> probe_features() {
    Features f;
    auto p = probe();
    if (!p) {
        return tl::unexpected(std::move(p.error()));
    }
    f.bpf = std::move(*p);
    const std::uint64_t caps = effective_caps();
    auto has = [caps](int bit) { return ((caps >> bit) & 1U) != 0; };
    for (const auto& [bit, name] : {std::pair{kCapSysAdmin, "CAP_SYS_ADMIN"}, std::pair{kCapBpf, "CAP_BPF"},
                                    std::pair{kCapPerfmon, "CAP_PERFMON"}, std::pair{kCapNetAdmin, "CAP_NET_ADMIN"}}) {
        if (has(bit)) {
            f.capabilities += (f.capabilities.empty() ? "" : " ") + std::string(name);
        }
    }
    // bpf_capable() and perfmon_capable() (include/linux/capability.h) both accept CAP_SYS_ADMIN.
    const bool bpf_capable = has(kCapBpf) || has(kCapSysAdmin);
    const bool perfmon_capable = has(kCapPerfmon) || has(kCapSysAdmin);
    f.privilege = !bpf_capable ? BpfPrivilege::None : perfmon_capable ? BpfPrivilege::Root : BpfPrivilege::Bpf;
    f.jit_enable = read_sysctl("/proc/sys/net/core/bpf_jit_enable");
    f.jit_harden = read_sysctl("/proc/sys/net/core/bpf_jit_harden");
    f.unprivileged_bpf_disabled = read_sysctl("/proc/sys/kernel/unprivileged_bpf_disabled");
    f.bpffs_mounted = on_bpffs(kBpffsPath);
    struct utsname u{};
    if (::uname(&u) == 0) {
        f.kernel_release = u.release;
    }
    return f;
}

}  // namespace sockfilter::kernel
