// SPDX-License-Identifier: MIT
// A map's contents as the bpf() syscall shows them (key/value pairs, or a queue's values), and the
// comparison of two such dumps: what `sockfilter run --maps` prints and `sockfilter diff` compares
// with the kernel's maps.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "runtime/maps/map.h"

namespace sockfilter::runtime {

/// One element: its key (empty for queues and stacks) and its value as BPF_MAP_LOOKUP_ELEM
/// returns it (per-CPU maps: every CPU's copy, each padded to 8 bytes).
struct MapEntry {
    std::vector<std::uint8_t> key;
    std::vector<std::uint8_t> value;

    friend auto operator<=>(const MapEntry&, const MapEntry&) = default;
};

/// Every key/value pair of a keyed map, walking get_next_key from the first key and reading each
/// value with the syscall-side lookup, in the map's iteration order (as `bpftool map dump`).
[[nodiscard]] std::vector<MapEntry> read_entries(Map& m);

/// Every value of a queue or stack in pop order, with empty keys; the map is empty afterwards.
[[nodiscard]] std::vector<MapEntry> drain_values(Map& m);

/// Where two dumps of one map first differ.
struct EntryMismatch {
    /// Ordered dumps: the position of the first differing value; keyed dumps: unused (0).
    std::size_t position = 0;
    /// Keyed dumps: the smallest key (bytewise) whose entry differs.
    std::vector<std::uint8_t> key;
    /// The value each side has there; nullopt when that side has no such entry.
    std::optional<std::vector<std::uint8_t>> first;
    std::optional<std::vector<std::uint8_t>> second;
};

/// Compares two dumps of a map: keyed dumps as sets of key/value pairs (iteration order ignored:
/// hash maps seeded differently list the same set in different orders), `ordered` dumps (queue
/// and stack values) position by position. nullopt when they are equal.
[[nodiscard]] std::optional<EntryMismatch> compare_entries(std::vector<MapEntry> first, std::vector<MapEntry> second,
                                                           bool ordered);

}  // namespace sockfilter::runtime
