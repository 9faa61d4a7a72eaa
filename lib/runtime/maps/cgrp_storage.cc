// SPDX-License-Identifier: MIT
// Cgroup local storage.
#include "runtime/maps/cgrp_storage.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "support/bytes.h"

namespace sockfilter::runtime {

namespace {

constexpr std::uint32_t kStorageFlags = program::kMapNoPrealloc | kMapClone;
/// BPF_LOCAL_STORAGE_MAX_VALUE_SIZE: U16_MAX - sizeof(struct bpf_local_storage_elem) (128).
constexpr std::uint32_t kMaxValueSize = 0xffff - 128;
constexpr std::size_t kNoSlot = SIZE_MAX;

}  // namespace

detail::CreateCheck CgrpStorageMap::check(const program::MapSpec& spec) {
    if ((spec.map_flags & ~kStorageFlags) != 0 || (spec.map_flags & program::kMapNoPrealloc) == 0) {
        return detail::Refusal{EINVAL, fmt::format("map_flags must be BPF_F_NO_PREALLOC, optionally | BPF_F_CLONE "
                                                   "(got {:#x})", spec.map_flags)};
    }
    if (spec.max_entries != 0 || spec.key_size != 4 || spec.value_size == 0) {
        return detail::Refusal{EINVAL, fmt::format("max_entries must be 0, key_size 4, value_size not 0 (got {}, {}, {})",
                                                   spec.max_entries, spec.key_size, spec.value_size)};
    }
    if (spec.btf_key_type_id == 0 || spec.btf_value_type_id == 0) {
        return detail::Refusal{EINVAL, "BTF key and value types are required"};
    }
    if (spec.value_size > kMaxValueSize) {
        return detail::Refusal{E2BIG, fmt::format("value_size {} exceeds {}", spec.value_size, kMaxValueSize)};
    }
    return std::nullopt;
}

CgrpStorageMap::CgrpStorageMap(const program::MapSpec& spec, const MapOptions& options)
    : Map(spec, options, std::size_t{options.cgroup_slots} * detail::round8(spec.value_size)),
      owners_(options.cgroup_slots, 0) {}

std::size_t CgrpStorageMap::find(std::uint64_t cgroup_id) const {
    const auto it = std::find(owners_.begin(), owners_.end(), cgroup_id);
    return it == owners_.end() ? kNoSlot : static_cast<std::size_t>(it - owners_.begin());
}

std::uint32_t CgrpStorageMap::size() const {
    return static_cast<std::uint32_t>(owners_.size() - static_cast<std::size_t>(std::count(owners_.begin(), owners_.end(), 0U)));
}

std::uint8_t* CgrpStorageMap::storage_get(std::uint64_t cgroup_id, const std::uint8_t* init, std::uint64_t flags) {
    if ((flags & ~kLocalStorageGetCreate) != 0 || cgroup_id == 0) {
        return nullptr;
    }
    if (const std::size_t s = find(cgroup_id); s != kNoSlot) {
        return value_at(s);
    }
    if ((flags & kLocalStorageGetCreate) == 0) {
        return nullptr;
    }
    const std::size_t s = find(0);
    if (s == kNoSlot) {
        return nullptr;  // the kernel's allocation failure
    }
    owners_[s] = cgroup_id;
    std::uint8_t* v = value_at(s);
    std::memset(v, 0, stride());
    if (init != nullptr) {
        std::memcpy(v, init, value_size());
    }
    return v;
}

std::int64_t CgrpStorageMap::storage_delete(std::uint64_t cgroup_id) {
    if (cgroup_id == 0) {
        return -EINVAL;
    }
    const std::size_t s = find(cgroup_id);
    if (s == kNoSlot) {
        return -ENOENT;
    }
    owners_[s] = 0;
    return 0;
}

std::int64_t CgrpStorageMap::remove(const std::uint8_t* key) { return storage_delete(load_le<std::uint32_t>(key)); }

std::int64_t CgrpStorageMap::get_next_key(const std::uint8_t*, std::uint8_t*) { return -kEnotsupp; }

std::int64_t CgrpStorageMap::do_lookup_user(const std::uint8_t* key, std::uint8_t* value) {
    const std::uint32_t id = load_le<std::uint32_t>(key);
    const std::size_t s = id == 0 ? kNoSlot : find(id);
    if (s == kNoSlot) {
        return -ENOENT;
    }
    std::memcpy(value, value_at(s), value_size());
    return 0;
}

std::int64_t CgrpStorageMap::do_update_user(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags) {
    if ((flags & ~kBpfFLock) > kBpfExist || (flags & kBpfFLock) != 0) {
        return -EINVAL;
    }
    const std::uint32_t id = load_le<std::uint32_t>(key);
    if (id == 0) {
        return -EBADF;
    }
    std::size_t s = find(id);
    if (s != kNoSlot && flags == kBpfNoExist) {
        return -EEXIST;
    }
    if (s == kNoSlot && flags == kBpfExist) {
        return -ENOENT;
    }
    if (s == kNoSlot) {
        s = find(0);
        if (s == kNoSlot) {
            return -ENOMEM;
        }
        owners_[s] = id;
        std::memset(value_at(s), 0, stride());
    }
    std::memcpy(value_at(s), value, value_size());
    return 0;
}

}  // namespace sockfilter::runtime
