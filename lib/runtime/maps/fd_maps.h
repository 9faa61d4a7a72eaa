// SPDX-License-Identifier: MIT
// The maps whose values the kernel takes as file descriptors: prog_array (programs for
// bpf_tail_call), perf_event_array (perf event sinks for bpf_perf_event_output), array_of_maps
// and hash_of_maps (inner maps). Here slots hold program indices, simulated sinks and Map
// pointers instead of descriptors.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <vector>

#include "runtime/maps/hash_map.h"
#include "runtime/maps/map.h"
#include "runtime/maps/map_internal.h"

namespace sockfilter::runtime {

/// fd_array_map_alloc_check (+ the inner map rules of array_of_maps): value_size 4, no
/// BPF_F_RDONLY_PROG/WRONLY_PROG, then the array rules.
[[nodiscard]] detail::CreateCheck check_fd_array(const program::MapSpec& spec);

/// BPF_MAP_TYPE_PROG_ARRAY: u32 index -> program index (the caller's numbering, e.g. the
/// position of the program in its Object), -1 when empty.
class ProgArrayMap final : public Map {
public:
    /// Whether this class implements `type`.
    [[nodiscard]] static bool implements(program::MapType type) { return type == program::MapType::ProgArray; }

    /// Builds the array with every slot empty.
    ProgArrayMap(const program::MapSpec& spec, const MapOptions& options);

    /// The program in slot `index` for bpf_tail_call, or -1 (empty or out of range).
    [[nodiscard]] std::int32_t program_at(std::uint32_t index) const;
    /// Empties the slot: -E2BIG past the end, -ENOENT when already empty.
    [[nodiscard]] std::int64_t remove(const std::uint8_t* key) override;
    /// Index order, as an array.
    [[nodiscard]] std::int64_t get_next_key(const std::uint8_t* key, std::uint8_t* next_key) override;

protected:
    /// The value is the program index (u32); flags other than BPF_ANY: -EINVAL; -E2BIG past the end.
    [[nodiscard]] std::int64_t do_update_user(const std::uint8_t* key, const std::uint8_t* value,
                                              std::uint64_t flags) override;
    /// The program index (the kernel returns the program's id); -ENOENT when empty.
    [[nodiscard]] std::int64_t do_lookup_user(const std::uint8_t* key, std::uint8_t* value) override;

private:
    std::vector<std::int32_t> slots_;
};

/// bpf_perf_event_output flags.
inline constexpr std::uint64_t kPerfIndexMask = 0xffffffffULL;
/// See kPerfIndexMask (BPF_F_CURRENT_CPU).
inline constexpr std::uint64_t kPerfCurrentCpu = kPerfIndexMask;
/// See kPerfIndexMask (BPF_F_CTXLEN_MASK): packet bytes appended after the data.
inline constexpr std::uint64_t kPerfCtxLenMask = 0xfffffULL << 32;

/// BPF_MAP_TYPE_PERF_EVENT_ARRAY: each slot may hold a simulated perf event (type
/// PERF_TYPE_SOFTWARE/PERF_COUNT_SW_BPF_OUTPUT) bound to one CPU, with a bounded record buffer.
class PerfEventArrayMap final : public Map {
public:
    /// Whether this class implements `type`.
    [[nodiscard]] static bool implements(program::MapType type) { return type == program::MapType::PerfEventArray; }

    /// Builds the array with every slot empty.
    PerfEventArrayMap(const program::MapSpec& spec, const MapOptions& options);

    /// bpf_perf_event_output: appends `data` followed by the first ctxlen (flags bits 32-51)
    /// bytes of `packet` to the event in slot (flags & 0xffffffff, or the current CPU for
    /// BPF_F_CURRENT_CPU). -EINVAL (other flag bits), -EFAULT (ctxlen > packet size), -E2BIG
    /// (index), -ENOENT (empty slot), -EOPNOTSUPP (event bound to another CPU), -ENOSPC (buffer
    /// full; the record is counted as lost).
    [[nodiscard]] std::int64_t output(std::uint64_t flags, std::span<const std::uint8_t> data,
                                      std::span<const std::uint8_t> packet);
    /// Takes the records slot `index` holds, oldest first (each the raw sample's bytes).
    [[nodiscard]] std::vector<std::vector<std::uint8_t>> read(std::uint32_t index);
    /// Records slot `index` lost because its buffer was full.
    [[nodiscard]] std::uint64_t lost(std::uint32_t index) const;
    /// Empties the slot: -E2BIG past the end, -ENOENT when already empty.
    [[nodiscard]] std::int64_t remove(const std::uint8_t* key) override;
    /// Index order, as an array.
    [[nodiscard]] std::int64_t get_next_key(const std::uint8_t* key, std::uint8_t* next_key) override;

protected:
    /// Installs an event bound to CPU `value` (u32) in the slot (the kernel takes a perf event
    /// fd); -EINVAL (flags other than BPF_ANY), -E2BIG (index), -EBADF (no such CPU).
    [[nodiscard]] std::int64_t do_update_user(const std::uint8_t* key, const std::uint8_t* value,
                                              std::uint64_t flags) override;
    /// -ENOTSUPP, as the kernel (no syscall-side lookup for perf event arrays).
    [[nodiscard]] std::int64_t do_lookup_user(const std::uint8_t* key, std::uint8_t* value) override;

private:
    struct Sink {
        bool present = false;
        std::uint32_t cpu = 0;
        std::size_t bytes = 0;
        std::uint64_t lost = 0;
        std::deque<std::vector<std::uint8_t>> records;
    };
    std::vector<Sink> sinks_;
};

/// The two map-in-map types: values are inner maps, checked against the inner map the outer was
/// created with (bpf_map_meta_equal: type, key and value size, flags; array inner maps also
/// max_entries unless they were created with BPF_F_INNER_MAP).
class MapOfMaps : public Map {
public:
    /// Whether this class implements `type`.
    [[nodiscard]] static bool implements(program::MapType type) {
        return type == program::MapType::ArrayOfMaps || type == program::MapType::HashOfMaps;
    }
    /// Whether `inner` may be stored in this map.
    [[nodiscard]] bool compatible(const Map& inner) const;
    /// bpf_map_lookup_elem on a map-in-map: the inner map, or null.
    [[nodiscard]] virtual Map* lookup_map(const std::uint8_t* key) = 0;
    /// BPF_MAP_UPDATE_ELEM with an inner map (the caller keeps it alive while it is stored):
    /// -EBADF (null), -EINVAL (incompatible, flags), and the outer type's own errors.
    [[nodiscard]] virtual std::int64_t update_map(const std::uint8_t* key, Map* inner, std::uint64_t flags) = 0;

protected:
    /// Builds the outer map with `arena_bytes` of arena.
    MapOfMaps(const program::MapSpec& spec, const MapOptions& options, std::size_t arena_bytes)
        : Map(spec, options, arena_bytes) {}
    /// -EBADF: the syscall's value is a descriptor, which only update_map can stand in for.
    [[nodiscard]] std::int64_t do_update_user(const std::uint8_t* key, const std::uint8_t* value,
                                              std::uint64_t flags) override;
    /// The inner map's id (u32), or -ENOENT.
    [[nodiscard]] std::int64_t do_lookup_user(const std::uint8_t* key, std::uint8_t* value) override;
};

/// BPF_MAP_TYPE_ARRAY_OF_MAPS.
class ArrayOfMapsMap final : public MapOfMaps {
public:
    /// Whether this class implements `type`.
    [[nodiscard]] static bool implements(program::MapType type) { return type == program::MapType::ArrayOfMaps; }

    /// Builds the array with every slot empty.
    ArrayOfMapsMap(const program::MapSpec& spec, const MapOptions& options);

    /// Null past the end or when empty.
    [[nodiscard]] Map* lookup_map(const std::uint8_t* key) override;
    /// Flags other than BPF_ANY: -EINVAL; -E2BIG past the end.
    [[nodiscard]] std::int64_t update_map(const std::uint8_t* key, Map* inner, std::uint64_t flags) override;
    /// -E2BIG past the end, -ENOENT when empty.
    [[nodiscard]] std::int64_t remove(const std::uint8_t* key) override;
    /// Index order, as an array.
    [[nodiscard]] std::int64_t get_next_key(const std::uint8_t* key, std::uint8_t* next_key) override;

private:
    std::vector<Map*> slots_;
};

/// BPF_MAP_TYPE_HASH_OF_MAPS: a hash (same buckets and order as HashMap) whose values are inner maps.
class HashOfMapsMap final : public MapOfMaps {
public:
    /// Whether this class implements `type`.
    [[nodiscard]] static bool implements(program::MapType type) { return type == program::MapType::HashOfMaps; }
    /// fd_htab_map_alloc_check and the inner map rules.
    [[nodiscard]] static detail::CreateCheck check(const program::MapSpec& spec);

    /// Builds the empty map.
    HashOfMapsMap(const program::MapSpec& spec, const MapOptions& options);

    /// Null when absent.
    [[nodiscard]] Map* lookup_map(const std::uint8_t* key) override;
    /// The hash update rules (BPF_ANY/NOEXIST/EXIST, -E2BIG when full).
    [[nodiscard]] std::int64_t update_map(const std::uint8_t* key, Map* inner, std::uint64_t flags) override;
    /// 0 or -ENOENT.
    [[nodiscard]] std::int64_t remove(const std::uint8_t* key) override;
    /// The hash order.
    [[nodiscard]] std::int64_t get_next_key(const std::uint8_t* key, std::uint8_t* next_key) override;

private:
    std::unique_ptr<HashMap> table_;  // values: the inner Map's address, 8 bytes
};

}  // namespace sockfilter::runtime
