// SPDX-License-Identifier: MIT
// Array and per-CPU array.
#include "runtime/maps/array_map.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "support/assert.h"
#include "support/bytes.h"

namespace sockfilter::runtime {

namespace {

constexpr std::uint32_t kArrayFlags = kMapNumaNode | program::kMapMmapable | kMapAccessMask | kMapPreserveElems |
                                      kMapInnerMap;

}  // namespace

std::int64_t detail::array_next_key(std::uint32_t max_entries, const std::uint8_t* key, std::uint8_t* next_key) {
    const std::uint32_t index = key != nullptr ? load_le<std::uint32_t>(key) : UINT32_MAX;
    if (index >= max_entries) {
        store_le<std::uint32_t>(next_key, 0);
        return 0;
    }
    if (index == max_entries - 1) {
        return -ENOENT;
    }
    store_le<std::uint32_t>(next_key, index + 1);
    return 0;
}

detail::CreateCheck ArrayMap::check(const program::MapSpec& spec) {
    using program::MapType;
    const bool percpu = spec.type == MapType::PercpuArray;
    if (spec.max_entries == 0) {
        return detail::Refusal{EINVAL, "max_entries must not be 0"};
    }
    if (spec.key_size != 4) {
        return detail::Refusal{EINVAL, fmt::format("key_size must be 4 (got {})", spec.key_size)};
    }
    if (spec.value_size == 0) {
        return detail::Refusal{EINVAL, "value_size must not be 0"};
    }
    if (auto r = detail::check_flag_mask(spec.map_flags, kArrayFlags)) {
        return r;
    }
    if (auto r = detail::check_access_flags(spec.map_flags)) {
        return r;
    }
    if (percpu && (spec.map_flags & kMapNumaNode) != 0) {
        return detail::Refusal{EINVAL, "per-CPU arrays cannot have BPF_F_NUMA_NODE"};
    }
    if (spec.type != MapType::Array && (spec.map_flags & (program::kMapMmapable | kMapInnerMap)) != 0) {
        return detail::Refusal{EINVAL, "only arrays can have BPF_F_MMAPABLE or BPF_F_INNER_MAP"};
    }
    if (spec.type != MapType::PerfEventArray && (spec.map_flags & kMapPreserveElems) != 0) {
        return detail::Refusal{EINVAL, "only perf_event_array can have BPF_F_PRESERVE_ELEMS"};
    }
    if (spec.value_size > INT_MAX) {
        return detail::Refusal{E2BIG, fmt::format("value_size {} exceeds INT_MAX", spec.value_size)};
    }
    if (percpu && detail::round8(spec.value_size) > detail::kPcpuMinUnitSize) {
        return detail::Refusal{E2BIG, fmt::format("per-CPU value_size {} exceeds {} bytes", spec.value_size,
                                                  detail::kPcpuMinUnitSize)};
    }
    return std::nullopt;
}

ArrayMap::ArrayMap(const program::MapSpec& spec, const MapOptions& options)
    : Map(spec, options,
          std::size_t{spec.max_entries} * (spec.type == program::MapType::PercpuArray ? options.cpus : 1U) *
              detail::round8(spec.value_size)) {
    if (!spec.initial_value.empty()) {
        std::memcpy(element(0, 0), spec.initial_value.data(), std::min<std::size_t>(spec.initial_value.size(), value_size()));
    }
}

std::uint8_t* ArrayMap::element(std::uint32_t index, std::uint32_t cpu) {
    SF_ASSERT(index < max_entries() && cpu < cpus());
    const std::size_t copies = is_percpu() ? cpus() : 1;
    return arena().data() + (std::size_t{index} * copies + (is_percpu() ? cpu : 0)) * stride();
}

std::uint8_t* ArrayMap::lookup(const std::uint8_t* key) {
    const auto index = load_le<std::uint32_t>(key);
    return index < max_entries() ? element(index, value_cpu()) : nullptr;
}

std::uint8_t* ArrayMap::lookup_percpu(const std::uint8_t* key, std::uint32_t cpu) {
    const auto index = load_le<std::uint32_t>(key);
    if (!is_percpu() || cpu >= cpus() || index >= max_entries()) {
        return nullptr;
    }
    return element(index, cpu);
}

std::int64_t ArrayMap::check_update(const std::uint8_t* key, std::uint64_t flags) const {
    // array_map_update_elem tolerates BPF_F_LOCK until after the index checks;
    // bpf_percpu_array_update treats it as an unknown flag.
    if ((is_percpu() ? flags : flags & ~kBpfFLock) > kBpfExist) {
        return -EINVAL;
    }
    if (load_le<std::uint32_t>(key) >= max_entries()) {
        return -E2BIG;
    }
    if ((flags & kBpfNoExist) != 0) {
        return -EEXIST;
    }
    if ((flags & kBpfFLock) != 0) {
        return -EINVAL;  // no bpf_spin_lock in socket-filter map values
    }
    return 0;
}

std::int64_t ArrayMap::update(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags) {
    if (const auto rc = check_update(key, flags); rc != 0) {
        return rc;
    }
    std::memcpy(element(load_le<std::uint32_t>(key), value_cpu()), value, value_size());
    return 0;
}

std::int64_t ArrayMap::remove(const std::uint8_t*) { return -EINVAL; }

std::int64_t ArrayMap::get_next_key(const std::uint8_t* key, std::uint8_t* next_key) {
    return detail::array_next_key(max_entries(), key, next_key);
}

std::int64_t ArrayMap::do_lookup_user(const std::uint8_t* key, std::uint8_t* value) {
    const auto index = load_le<std::uint32_t>(key);
    if (index >= max_entries()) {
        return -ENOENT;
    }
    if (!is_percpu()) {
        std::memcpy(value, element(index, 0), value_size());
        return 0;
    }
    // bpf_percpu_array_copy: each CPU's copy with its padding (copy_map_value_long).
    std::memcpy(value, element(index, 0), stride() * cpus());
    return 0;
}

std::int64_t ArrayMap::do_update_user(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags) {
    if (const auto rc = check_update(key, flags); rc != 0) {
        return rc;
    }
    const auto index = load_le<std::uint32_t>(key);
    if (!is_percpu()) {
        std::memcpy(element(index, 0), value, value_size());
        return 0;
    }
    std::memcpy(element(index, 0), value, stride() * cpus());
    return 0;
}

}  // namespace sockfilter::runtime
