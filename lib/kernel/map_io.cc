// SPDX-License-Identifier: MIT
// Map read-back and writes through libbpf's syscall wrappers.
#include "kernel/map_io.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>

namespace sockfilter::kernel {

namespace {

tl::unexpected<Error> kernel_error(int err, std::string message) {
    return tl::unexpected<Error>(Error{Errc::Kernel, std::move(message), {}, {}, err});
}

bool percpu(program::MapType t) {
    using program::MapType;
    return t == MapType::PercpuArray || t == MapType::PercpuHash || t == MapType::LruPercpuHash ||
           t == MapType::PercpuCgroupStorage;
}

}  // namespace

Result<MapInfo> map_info(const Fd& map) {
    bpf_map_info info{};
    std::uint32_t len = sizeof info;
    if (const int rc = bpf_obj_get_info_by_fd(map.get(), &info, &len); rc != 0) {
        return kernel_error(-rc, fmt::format("BPF_OBJ_GET_INFO_BY_FD: {}", std::strerror(-rc)));
    }
    MapInfo out;
    out.type = static_cast<program::MapType>(info.type);
    out.key_size = info.key_size;
    out.value_size = info.value_size;
    out.max_entries = info.max_entries;
    out.map_flags = info.map_flags;
    out.id = info.id;
    out.name = info.name;
    return out;
}

Result<std::uint32_t> possible_cpus() {
    const int n = libbpf_num_possible_cpus();
    if (n <= 0) {
        return kernel_error(-n, fmt::format("cannot read the possible CPUs: {}", std::strerror(-n)));
    }
    return static_cast<std::uint32_t>(n);
}

Result<std::size_t> user_value_size(const MapInfo& info) {
    if (!percpu(info.type)) {
        return std::size_t{info.value_size};
    }
    auto cpus = possible_cpus();
    if (!cpus) {
        return tl::unexpected(std::move(cpus.error()));
    }
    return ((std::size_t{info.value_size} + 7) & ~std::size_t{7}) * *cpus;
}

Result<std::vector<runtime::MapEntry>> read_entries(const Fd& map) {
    auto info = map_info(map);
    if (!info) {
        return tl::unexpected(std::move(info.error()));
    }
    auto vsize = user_value_size(*info);
    if (!vsize) {
        return tl::unexpected(std::move(vsize.error()));
    }
    std::vector<runtime::MapEntry> out;
    std::vector<std::uint8_t> key(info->key_size), next(info->key_size), value(*vsize);
    const void* prev = nullptr;
    for (;;) {
        if (const int rc = bpf_map_get_next_key(map.get(), prev, next.data()); rc != 0) {
            if (rc == -ENOENT) {
                break;
            }
            return kernel_error(-rc, fmt::format("BPF_MAP_GET_NEXT_KEY: {}", std::strerror(-rc)));
        }
        key = next;
        prev = key.data();
        const int rc = bpf_map_lookup_elem(map.get(), key.data(), value.data());
        if (rc == -ENOENT) {
            continue;
        }
        if (rc != 0) {
            return kernel_error(-rc, fmt::format("BPF_MAP_LOOKUP_ELEM: {}", std::strerror(-rc)));
        }
        out.push_back({key, value});
    }
    return out;
}

Result<std::vector<runtime::MapEntry>> drain_values(const Fd& map) {
    auto info = map_info(map);
    if (!info) {
        return tl::unexpected(std::move(info.error()));
    }
    std::vector<runtime::MapEntry> out;
    std::vector<std::uint8_t> value(info->value_size);
    for (;;) {
        const int rc = bpf_map_lookup_and_delete_elem(map.get(), nullptr, value.data());
        if (rc == -ENOENT) {
            return out;
        }
        if (rc != 0) {
            return kernel_error(-rc, fmt::format("BPF_MAP_LOOKUP_AND_DELETE_ELEM: {}", std::strerror(-rc)));
        }
        out.push_back({{}, value});
    }
}

Result<void> write_entry(const Fd& map, std::span<const std::uint8_t> key, std::span<const std::uint8_t> value) {
    const int rc = bpf_map_update_elem(map.get(), key.empty() ? nullptr : key.data(), value.data(), BPF_ANY);
    if (rc != 0) {
        return kernel_error(-rc, fmt::format("BPF_MAP_UPDATE_ELEM: {}", std::strerror(-rc)));
    }
    return {};
}

}  // namespace sockfilter::kernel
