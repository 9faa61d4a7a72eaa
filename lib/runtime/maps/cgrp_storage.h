// SPDX-License-Identifier: MIT
// BPF_MAP_TYPE_CGRP_STORAGE (kernel/bpf/bpf_cgrp_storage.c): one value per cgroup, created on
// demand by bpf_cgrp_storage_get with BPF_LOCAL_STORAGE_GET_F_CREATE.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/maps/map.h"
#include "runtime/maps/map_internal.h"

namespace sockfilter::runtime {

/// bpf_cgrp_storage_get flag.
inline constexpr std::uint64_t kLocalStorageGetCreate = 1;

/// Cgroup local storage keyed by cgroup id. The kernel has no max_entries for it (one value per
/// cgroup that exists); here MapOptions::cgroup_slots values are preallocated in the arena.
/// The syscall side takes a 4-byte key, a cgroup fd in the kernel: here the cgroup id.
class CgrpStorageMap final : public Map {
public:
    /// Whether this class implements `type`.
    [[nodiscard]] static bool implements(program::MapType type) { return type == program::MapType::CgrpStorage; }
    /// bpf_local_storage_map_alloc_check: BPF_F_NO_PREALLOC required, max_entries 0, key_size 4,
    /// BTF key and value types required.
    [[nodiscard]] static detail::CreateCheck check(const program::MapSpec& spec);

    /// Builds the empty storage.
    CgrpStorageMap(const program::MapSpec& spec, const MapOptions& options);

    /// bpf_cgrp_storage_get: the cgroup's value, created from `init` (null: zeroes) when absent and
    /// `flags` has BPF_LOCAL_STORAGE_GET_F_CREATE. Null for a cgroup id of 0 (no cgroup), other
    /// flag bits, an absent value without F_CREATE, or no free slot.
    [[nodiscard]] std::uint8_t* storage_get(std::uint64_t cgroup_id, const std::uint8_t* init, std::uint64_t flags);
    /// bpf_cgrp_storage_delete: -EINVAL (cgroup id 0), -ENOENT, or 0.
    [[nodiscard]] std::int64_t storage_delete(std::uint64_t cgroup_id);

    /// Deletes the value of the cgroup whose id is the u32 key.
    [[nodiscard]] std::int64_t remove(const std::uint8_t* key) override;
    /// -ENOTSUPP: local storage cannot be iterated.
    [[nodiscard]] std::int64_t get_next_key(const std::uint8_t* key, std::uint8_t* next_key) override;

    /// Number of cgroups with a value.
    [[nodiscard]] std::uint32_t size() const;

protected:
    [[nodiscard]] std::int64_t do_lookup_user(const std::uint8_t* key, std::uint8_t* value) override;
    [[nodiscard]] std::int64_t do_update_user(const std::uint8_t* key, const std::uint8_t* value,
                                              std::uint64_t flags) override;

private:
    [[nodiscard]] std::size_t find(std::uint64_t cgroup_id) const;
    [[nodiscard]] std::uint8_t* value_at(std::size_t slot) { return arena().data() + slot * stride(); }

    std::vector<std::uint64_t> owners_;  // cgroup id per slot, 0 = free
};

}  // namespace sockfilter::runtime
