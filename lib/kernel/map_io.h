// SPDX-License-Identifier: MIT
// Reading a kernel map back (every key/value pair, or a queue's values) and writing entries into
// it, in the same form as runtime::read_entries, so our maps and the kernel's can be compared.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kernel/fd.h"
#include "program/object.h"
#include "runtime/maps/dump.h"
#include "support/result.h"

namespace sockfilter::kernel {

/// What BPF_OBJ_GET_INFO_BY_FD says about a map.
struct MapInfo {
    program::MapType type = program::MapType::Unspec;
    std::uint32_t key_size = 0;
    std::uint32_t value_size = 0;
    std::uint32_t max_entries = 0;
    std::uint32_t map_flags = 0;
    std::uint32_t id = 0;
    std::string name;  ///< the kernel's (at most 15 characters)
};

/// The map's info. Errors: Errc::Kernel with the errno.
[[nodiscard]] Result<MapInfo> map_info(const Fd& map);

/// The number of possible CPUs (libbpf_num_possible_cpus): how many copies a per-CPU map keeps.
[[nodiscard]] Result<std::uint32_t> possible_cpus();

/// Bytes of one syscall-side value: value_size, or for per-CPU maps
/// round_up(value_size, 8) × possible_cpus().
[[nodiscard]] Result<std::size_t> user_value_size(const MapInfo& info);

/// Every key/value pair (BPF_MAP_GET_NEXT_KEY from the first key, BPF_MAP_LOOKUP_ELEM of each), in
/// the kernel's iteration order; a key deleted between the two calls is skipped. Errors:
/// Errc::Kernel naming the failing command.
[[nodiscard]] Result<std::vector<runtime::MapEntry>> read_entries(const Fd& map);

/// Every value of a queue or stack in pop order (BPF_MAP_LOOKUP_AND_DELETE_ELEM until ENOENT), with
/// empty keys; the map is empty afterwards.
[[nodiscard]] Result<std::vector<runtime::MapEntry>> drain_values(const Fd& map);

/// BPF_MAP_UPDATE_ELEM(key, value, BPF_ANY), or for a queue or stack (empty `key`) a push.
/// `value` has user_value_size() bytes. Errors: Errc::Kernel with the errno.
[[nodiscard]] Result<void> write_entry(const Fd& map, std::span<const std::uint8_t> key,
                                       std::span<const std::uint8_t> value);

}  // namespace sockfilter::kernel
