// SPDX-License-Identifier: MIT
// Names of map types.
#include "program/object.h"

#include <array>
#include <string_view>

namespace sockfilter::program {

std::string map_type_name(MapType type) {
    static constexpr std::array<std::string_view, 34> kNames = {
        "unspec",          "hash",           "array",           "prog_array",         "perf_event_array",
        "percpu_hash",     "percpu_array",   "stack_trace",     "cgroup_array",       "lru_hash",
        "lru_percpu_hash", "lpm_trie",       "array_of_maps",   "hash_of_maps",       "devmap",
        "sockmap",         "cpumap",         "xskmap",          "sockhash",           "cgroup_storage",
        "reuseport_sockarray", "percpu_cgroup_storage", "queue", "stack",             "sk_storage",
        "devmap_hash",     "struct_ops",     "ringbuf",         "inode_storage",      "task_storage",
        "bloom_filter",    "user_ringbuf",   "cgrp_storage",    "arena",
    };
    const auto i = static_cast<std::uint32_t>(type);
    return i < kNames.size() ? std::string(kNames[i]) : "map_type_" + std::to_string(i);
}

}  // namespace sockfilter::program
