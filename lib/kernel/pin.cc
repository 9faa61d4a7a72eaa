// SPDX-License-Identifier: MIT
// pin: bpffs detection (statfs), mounting /sys/fs/bpf, BPF_OBJ_PIN with errors that say why.
#include "kernel/pin.h"

#include <bpf/bpf.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "kernel/features.h"

namespace sockfilter::kernel {

namespace {

namespace fs = std::filesystem;

tl::unexpected<Error> kernel_error(int err, std::string message) {
    return tl::unexpected<Error>(Error{Errc::Kernel, std::move(message), {}, {}, err});
}

/// Whether `path` names something below the usual bpffs mount point.
bool under_default_bpffs(const fs::path& path) {
    const fs::path root(kBpffsPath);
    auto p = path.begin();
    for (auto r = root.begin(); r != root.end(); ++r, ++p) {
        if (p == path.end() || *p != *r) {
            return false;
        }
    }
    return p != path.end();
}

}  // namespace

Result<Pinned> pin(const Fd& obj, const std::string& path) {
    if (path.empty()) {
        return fail(Errc::InvalidArgument, "pin: empty path");
    }
    std::error_code ec;
    const fs::path target = fs::absolute(fs::path(path), ec).lexically_normal();
    const fs::path dir = target.parent_path();
    Pinned out;
    if (!on_bpffs(dir.string()) && under_default_bpffs(target) && !on_bpffs(kBpffsPath)) {
        if (::mount("bpf", kBpffsPath, "bpf", 0, "mode=0700") != 0) {
            const int err = errno;
            return kernel_error(err, fmt::format("{}: no bpf filesystem is mounted at {}, and mounting one failed: {}",
                                                 path, kBpffsPath, std::strerror(err)));
        }
        out.mounted_bpffs = true;
    }
    if (target.filename().string().find('.') != std::string::npos) {
        return fail(Errc::InvalidArgument, "{}: a bpf filesystem refuses names with '.'", path);
    }
    if (!fs::is_directory(dir, ec)) {
        return fail(Errc::InvalidArgument, "{}: directory {} does not exist", path, dir.string());
    }
    if (!on_bpffs(dir.string())) {
        return fail(Errc::InvalidArgument, "{}: {} is not on a bpf filesystem (pin under {}, or mount one with "
                    "`mount -t bpf bpf {}`)", path, dir.string(), kBpffsPath, dir.string());
    }
    if (const int rc = bpf_obj_pin(obj.get(), target.c_str()); rc != 0) {
        const int err = -rc;
        std::string why = std::strerror(err);
        if (err == EEXIST) {
            why = "it already exists";
        } else if (err == EPERM || err == EACCES) {
            why = std::string("not permitted (") + std::strerror(err) + ")";
        }
        return kernel_error(err, fmt::format("{}: cannot pin (BPF_OBJ_PIN): {}", path, why));
    }
    return out;
}

}  // namespace sockfilter::kernel
