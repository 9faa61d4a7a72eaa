// SPDX-License-Identifier: MIT
// Map contents in and out of a run: preloading from JSON (`sockfilter run --map-init`) and printing
// after it (`sockfilter run --maps`).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "runtime/instance.h"
#include "runtime/maps/dump.h"
#include "tools/btf_format.h"
#include "support/result.h"

namespace sockfilter::tools {

/// Prints every map: name, type, and each key with its value in hex (per-CPU maps: one value per
/// CPU; prog arrays: the program name), and, where `btf` is given and the map's definition names
/// BTF types, the key and value decoded (`key_btf`, `value_btf` / `values_btf` in JSON). Ring
/// buffers and perf event arrays print what was left unread. JSON prints one object per map.
void print_maps(runtime::Instance& instance, bool json, const BtfFormatter* btf);

/// The entries a `--map-init` file gives one map.
struct MapInit {
    std::size_t map = 0;                     ///< index in the instance (= the object's map index)
    std::vector<runtime::MapEntry> entries;  ///< keys (empty for queues and stacks) and syscall-side values
};

/// Reads the JSON file `path`: `{"map": [{"key": "hex", "value": "hex"}, ...], ...}`, per-CPU maps
/// with `"values": ["hex", ...]` (one per CPU of `instance`), queues and stacks with `"value"` only
/// (pushed in order); checked against the instance's maps (names, types, sizes). Errors name the
/// file, the map and the entry.
[[nodiscard]] Result<std::vector<MapInit>> read_map_init(const runtime::Instance& instance, const std::string& path);

/// Writes what read_map_init read into the instance's maps (BPF_ANY updates; queues and stacks:
/// pushes). Errors name the map and the entry.
[[nodiscard]] Result<void> apply_map_init(runtime::Instance& instance, const std::vector<MapInit>& inits);

/// Preloads maps from the JSON file `path` (read_map_init, then apply_map_init). Entries are written with
/// BPF_MAP_UPDATE_ELEM's rules (BPF_ANY), so an array index out of range or a frozen `.rodata`
/// fails.
[[nodiscard]] Result<void> init_maps(runtime::Instance& instance, const std::string& path);

}  // namespace sockfilter::tools
