// SPDX-License-Identifier: MIT
// Helpers over memory a program names by address (spec §5.3): bpf_probe_read_user/kernel(_str),
// which here may read only the program's own regions (anything else is the kernel's failed
// non-faulting copy: -EFAULT, buffer zeroed), and bpf_kptr_xchg, whose only possible operand in a
// socket filter is NULL (no kfunc available to the type acquires a kernel object), and the cgroup
// storage helpers, whose cgroup argument can likewise only be NULL in a socket filter.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "runtime/helpers/impl.h"
#include "runtime/maps/cgrp_storage.h"
#include "support/bytes.h"

namespace sockfilter::runtime::helpers {

namespace {

std::uint64_t probe_read(CallEnv& env, std::string_view name, std::uint64_t dst_addr, std::uint64_t size_arg,
                         std::uint64_t src) {
    const auto size = static_cast<std::uint32_t>(size_arg);
    std::uint8_t* dst = writable(env, name, 1, "dst", dst_addr, size);
    if (dst == nullptr || size == 0) {
        return 0;
    }
    if (!env.memory->readable(src, size)) {
        std::fill_n(dst, size, std::uint8_t{0});
        return neg(kEfault);
    }
    std::memmove(dst, reinterpret_cast<const std::uint8_t*>(static_cast<std::uintptr_t>(src)), size);
    return 0;
}

std::uint64_t probe_read_str(CallEnv& env, std::string_view name, std::uint64_t dst_addr, std::uint64_t size_arg,
                             std::uint64_t src) {
    const auto size = static_cast<std::uint32_t>(size_arg);
    std::uint8_t* dst = writable(env, name, 1, "dst", dst_addr, size);
    if (dst == nullptr || size == 0) {
        return 0;
    }
    // strncpy_from_*_nofault: at most size - 1 bytes and a NUL; the length with the NUL.
    for (std::uint32_t n = 0; n < size; ++n) {
        if (n == size - 1) {
            dst[n] = 0;
            return size;
        }
        if (!env.memory->readable(src + n, 1)) {
            std::fill_n(dst, size, std::uint8_t{0});
            return neg(kEfault);
        }
        dst[n] = *reinterpret_cast<const std::uint8_t*>(static_cast<std::uintptr_t>(src + n));
        if (dst[n] == 0) {
            return std::uint64_t{n} + 1;
        }
    }
    return size;
}

}  // namespace

std::uint64_t probe_read_user(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t,
                              std::uint64_t) {
    return probe_read(env, "bpf_probe_read_user", r1, r2, r3);
}

std::uint64_t probe_read_kernel(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t,
                                std::uint64_t) {
    return probe_read(env, "bpf_probe_read_kernel", r1, r2, r3);
}

std::uint64_t probe_read_user_str(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3,
                                  std::uint64_t, std::uint64_t) {
    return probe_read_str(env, "bpf_probe_read_user_str", r1, r2, r3);
}

std::uint64_t probe_read_kernel_str(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3,
                                    std::uint64_t, std::uint64_t) {
    return probe_read_str(env, "bpf_probe_read_kernel_str", r1, r2, r3);
}

std::uint64_t kptr_xchg(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t, std::uint64_t,
                        std::uint64_t) {
    constexpr std::string_view kName = "bpf_kptr_xchg";
    std::uint8_t* field = writable(env, kName, 1, "kptr field", r1, 8);
    if (field == nullptr) {
        return 0;
    }
    if (r2 != 0) {
        env.fault = fmt::format("{}: R2 ({:#x}) is not NULL, and no referenced kernel object exists in userspace",
                                kName, r2);
        return 0;
    }
    const auto old = load_le<std::uint64_t>(field);
    store_le<std::uint64_t>(field, 0);
    return old;
}

namespace {

/// The cgroup-storage map in `r1` and the cgroup argument `r2` (NULL or a fault); null map on fault.
CgrpStorageMap* cgrp_args(CallEnv& env, std::string_view name, std::uint64_t r1, std::uint64_t r2) {
    Map* m = map_arg(env, name, 1, r1);
    if (m == nullptr) {
        return nullptr;
    }
    auto* storage = map_as<CgrpStorageMap>(*m);
    if (storage == nullptr) {
        env.fault = fmt::format("{}: R1 is not a cgrp_storage map", name);
        return nullptr;
    }
    if (r2 != 0) {
        // Only a perfmon BTF walk from the current task reaches a struct cgroup, and the helpers
        // that start one have no userspace object: a non-NULL value cannot be a cgroup.
        env.fault = fmt::format("{}: R2 ({:#x}) is not a struct cgroup pointer (socket filters here can pass only "
                                "NULL)",
                                name, r2);
        return nullptr;
    }
    return storage;
}

}  // namespace

std::uint64_t cgrp_storage_get(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t, std::uint64_t,
                               std::uint64_t) {
    // Unknown flags and a NULL cgroup both give NULL.
    (void)cgrp_args(env, "bpf_cgrp_storage_get", r1, r2);
    return 0;
}

std::uint64_t cgrp_storage_delete(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t, std::uint64_t,
                                  std::uint64_t) {
    return cgrp_args(env, "bpf_cgrp_storage_delete", r1, r2) == nullptr ? 0 : neg(kEinval);
}

}  // namespace sockfilter::runtime::helpers
