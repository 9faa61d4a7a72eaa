// SPDX-License-Identifier: MIT
// What the map families share privately: the shape of a creation check and the checks every
// type's BPF_MAP_CREATE makes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "program/object.h"
#include "runtime/maps/map.h"

namespace sockfilter::runtime::detail {

/// Why BPF_MAP_CREATE refuses a spec: the errno and the rule, in words.
struct Refusal {
    int err = 0;
    std::string rule;
};

/// The result of a type's creation check: nothing, or the refusal.
using CreateCheck = std::optional<Refusal>;

/// bpf_map_flags_access_ok: not both BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG (EINVAL).
[[nodiscard]] CreateCheck check_access_flags(std::uint32_t flags);

/// Flags outside `allowed` (EINVAL), named in the rule.
[[nodiscard]] CreateCheck check_flag_mask(std::uint32_t flags, std::uint32_t allowed);

/// PCPU_MIN_UNIT_SIZE: the largest 8-byte-rounded value a per-CPU map may have.
inline constexpr std::uint32_t kPcpuMinUnitSize = 32 * 1024;

/// KMALLOC_MAX_SIZE on x86-64 (4 MiB): bounds key and value sizes of several types.
inline constexpr std::uint64_t kKmallocMax = std::uint64_t{4} << 20;

/// Rounds `n` up to a multiple of 8.
[[nodiscard]] constexpr std::uint64_t round8(std::uint64_t n) { return (n + 7) & ~std::uint64_t{7}; }

/// Whether BPF_F_ZERO_SEED was given; the seed hash maps use (0 then, else options.seed).
[[nodiscard]] std::uint32_t hash_seed(const program::MapSpec& spec, const MapOptions& options);

/// Array-order get_next_key (array_map_get_next_key): null or an index past the end gives 0, the
/// last index -ENOENT.
[[nodiscard]] std::int64_t array_next_key(std::uint32_t max_entries, const std::uint8_t* key, std::uint8_t* next_key);

}  // namespace sockfilter::runtime::detail
