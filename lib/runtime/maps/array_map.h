// SPDX-License-Identifier: MIT
// BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY (kernel/bpf/arraymap.c): max_entries values
// indexed by a u32 key, all present from creation, zero-initialised.
#pragma once

#include <cstdint>

#include "runtime/maps/map.h"
#include "runtime/maps/map_internal.h"

namespace sockfilter::runtime {

/// Array and per-CPU array. Arena layout: element i of CPU c at (i * cpus + c) * stride, stride =
/// value_size rounded up to 8 (the kernel's elem_size), so the syscall-side per-CPU value of
/// element i is one contiguous run.
class ArrayMap final : public Map {
public:
    /// Whether this class implements `type`.
    [[nodiscard]] static bool implements(program::MapType type) {
        return type == program::MapType::Array || type == program::MapType::PercpuArray;
    }
    /// array_map_alloc_check for every array-backed type (fd arrays add their own rules first).
    [[nodiscard]] static detail::CreateCheck check(const program::MapSpec& spec);

    /// Builds the zeroed array and copies `spec.initial_value` into element 0.
    ArrayMap(const program::MapSpec& spec, const MapOptions& options);

    /// Null when the index is >= max_entries.
    [[nodiscard]] std::uint8_t* lookup(const std::uint8_t* key) override;
    /// Per-CPU arrays only.
    [[nodiscard]] std::uint8_t* lookup_percpu(const std::uint8_t* key, std::uint32_t cpu) override;
    /// -EINVAL for flags > BPF_EXIST or BPF_F_LOCK, -E2BIG past the end, -EEXIST for BPF_NOEXIST.
    [[nodiscard]] std::int64_t update(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags) override;
    /// Always -EINVAL: array elements cannot be deleted.
    [[nodiscard]] std::int64_t remove(const std::uint8_t* key) override;
    /// Index order; an index past the end (or null) restarts at 0; the last index gives -ENOENT.
    [[nodiscard]] std::int64_t get_next_key(const std::uint8_t* key, std::uint8_t* next_key) override;

protected:
    [[nodiscard]] std::int64_t do_lookup_user(const std::uint8_t* key, std::uint8_t* value) override;
    [[nodiscard]] std::int64_t do_update_user(const std::uint8_t* key, const std::uint8_t* value,
                                              std::uint64_t flags) override;

private:
    [[nodiscard]] std::uint8_t* element(std::uint32_t index, std::uint32_t cpu);
    [[nodiscard]] std::int64_t check_update(const std::uint8_t* key, std::uint64_t flags) const;
};

}  // namespace sockfilter::runtime
