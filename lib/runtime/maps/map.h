// SPDX-License-Identifier: MIT
// The Map abstraction every engine and helper uses: one object per BPF map, created from a
// MapSpec with the kernel's BPF_MAP_CREATE checks, with the kernel's operations and return codes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "program/object.h"
#include "support/result.h"

namespace sockfilter::runtime {

/// Update flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK).
inline constexpr std::uint64_t kBpfAny = 0;
/// See kBpfAny.
inline constexpr std::uint64_t kBpfNoExist = 1;
/// See kBpfAny.
inline constexpr std::uint64_t kBpfExist = 2;
/// See kBpfAny. Needs a bpf_spin_lock in the value, which socket filters cannot have: always -EINVAL.
inline constexpr std::uint64_t kBpfFLock = 4;

/// The kernel-internal ENOTSUPP (524), which the bpf() syscall lets through to userspace for
/// operations a map type does not implement (e.g. BPF_MAP_LOOKUP_AND_DELETE_ELEM on an array).
inline constexpr int kEnotsupp = 524;

/// Map creation flags beyond program::MapFlag that the create checks need.
inline constexpr std::uint32_t kMapNumaNode = 1U << 2;
/// See kMapNumaNode.
inline constexpr std::uint32_t kMapZeroSeed = 1U << 6;
/// See kMapNumaNode.
inline constexpr std::uint32_t kMapPreserveElems = 1U << 11;
/// See kMapNumaNode.
inline constexpr std::uint32_t kMapInnerMap = 1U << 12;
/// See kMapNumaNode (BPF_F_CLONE, local storage).
inline constexpr std::uint32_t kMapClone = 1U << 9;
/// BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG.
inline constexpr std::uint32_t kMapAccessMask = program::kMapRdonly | program::kMapWronly |
                                                program::kMapRdonlyProg | program::kMapWronlyProg;

/// Settings that are not part of a map's definition.
struct MapOptions {
    /// Number of simulated CPUs: per-CPU maps keep this many copies of each value, and the
    /// syscall-side value of a per-CPU map is this many 8-byte-rounded values.
    std::uint32_t cpus = 1;
    /// Hash seed of hash maps and bloom filters (the kernel's random `hashrnd`); maps created
    /// with BPF_F_ZERO_SEED use 0, as the kernel does, and then iterate in the kernel's order.
    std::uint64_t seed = 0;
    /// cgrp_storage has max_entries 0 (one value per cgroup): how many cgroups it can hold here.
    std::uint32_t cgroup_slots = 64;
    /// Bytes of records one perf event sink of a perf_event_array buffers before output fails
    /// with -ENOSPC (the kernel's mmap'd perf buffer; 64 pages by default as in bpftool).
    std::uint32_t perf_buffer_bytes = 64 * 4096;
    /// Upper bound of the memory one map may preallocate; larger maps fail with ENOMEM.
    std::uint64_t max_memory = std::uint64_t{1} << 30;
};

/// One BPF map. Keys and values are passed as raw pointers to key_size()/value_size() bytes (the
/// verifier guarantees the sizes for programs; userspace callers must too). Operations return 0
/// or a negative errno, as the helpers and the bpf() syscall do.
///
/// Program side (helpers): lookup, lookup_percpu, update, remove, push, pop, peek. Syscall side
/// (tools, tests): lookup_user, update_user, remove_user, lookup_and_delete_user, get_next_key.
/// Operations a type does not have return what the kernel returns for them (mostly -EINVAL,
/// -EOPNOTSUPP or -ENOTSUPP, see each type).
///
/// Memory: every value a program can point to lives in arena(), allocated once at creation, so
/// an engine can treat each map as one memory region and every address lookup returns stays
/// valid for the map's lifetime.
class Map {
public:
    Map(const Map&) = delete;
    Map& operator=(const Map&) = delete;
    virtual ~Map() = default;

    /// The definition the map was created from.
    [[nodiscard]] const program::MapSpec& spec() const { return spec_; }
    /// The map type.
    [[nodiscard]] program::MapType type() const { return spec_.type; }
    /// Key size in bytes.
    [[nodiscard]] std::uint32_t key_size() const { return spec_.key_size; }
    /// Value size in bytes (one CPU's value for per-CPU maps).
    [[nodiscard]] std::uint32_t value_size() const { return spec_.value_size; }
    /// max_entries as created.
    [[nodiscard]] std::uint32_t max_entries() const { return spec_.max_entries; }
    /// A process-wide id (from 1), standing in for the kernel's map id (map-in-map lookups).
    [[nodiscard]] std::uint32_t id() const { return id_; }
    /// Number of simulated CPUs.
    [[nodiscard]] std::uint32_t cpus() const { return cpus_; }
    /// Whether values have one copy per CPU.
    [[nodiscard]] bool is_percpu() const;

    /// The simulated CPU the program runs on (0 until set): per-CPU maps use its copy,
    /// perf_event_array checks its events against it.
    [[nodiscard]] std::uint32_t current_cpu() const { return current_cpu_; }
    /// Sets the current CPU; `cpu` must be below MapOptions::cpus.
    void set_current_cpu(std::uint32_t cpu);

    /// The preallocated memory programs may point into (values, ring-buffer records).
    [[nodiscard]] std::span<std::uint8_t> arena() { return arena_; }
    /// Whether programs may write arena() (false for frozen `.rodata` and BPF_F_RDONLY_PROG).
    [[nodiscard]] bool program_writable() const;
    /// Freezes the map (BPF_MAP_FREEZE): syscall-side writes fail with -EPERM from now on.
    void freeze() { frozen_ = true; }

    /// Bytes of one syscall-side value: value_size(), or for per-CPU maps cpus() times
    /// value_size() rounded up to 8.
    [[nodiscard]] std::size_t user_value_size() const;

    /// bpf_map_lookup_elem: the address of the value for `key` in arena() (per-CPU maps: the
    /// current CPU's copy), or null.
    [[nodiscard]] virtual std::uint8_t* lookup(const std::uint8_t* key);
    /// bpf_map_lookup_percpu_elem: the copy of `cpu`, or null (absent, cpu >= cpus(), or a map
    /// that is not per-CPU).
    [[nodiscard]] virtual std::uint8_t* lookup_percpu(const std::uint8_t* key, std::uint32_t cpu);
    /// bpf_map_update_elem from a program (per-CPU maps: the current CPU's copy).
    [[nodiscard]] virtual std::int64_t update(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags);
    /// bpf_map_delete_elem.
    [[nodiscard]] virtual std::int64_t remove(const std::uint8_t* key);
    /// bpf_map_push_elem (queue, stack, bloom filter).
    [[nodiscard]] virtual std::int64_t push(const std::uint8_t* value, std::uint64_t flags);
    /// bpf_map_pop_elem (queue, stack): value_size() bytes written to `value`.
    [[nodiscard]] virtual std::int64_t pop(std::uint8_t* value);
    /// bpf_map_peek_elem: queue/stack copy the head to `value`; a bloom filter reads `value` and
    /// returns 0 if it may be present, -ENOENT if it is not.
    [[nodiscard]] virtual std::int64_t peek(std::uint8_t* value);
    /// BPF_MAP_GET_NEXT_KEY: the key after `key` (null: the first key) in the kernel's order.
    [[nodiscard]] virtual std::int64_t get_next_key(const std::uint8_t* key, std::uint8_t* next_key);

    /// BPF_MAP_LOOKUP_ELEM: copies user_value_size() bytes to `value` (per-CPU maps: every CPU's
    /// copy, each padded to 8 bytes). -EPERM for BPF_F_WRONLY maps.
    [[nodiscard]] std::int64_t lookup_user(const std::uint8_t* key, std::uint8_t* value);
    /// BPF_MAP_UPDATE_ELEM: `value` has user_value_size() bytes. -EPERM for BPF_F_RDONLY or
    /// frozen maps.
    [[nodiscard]] std::int64_t update_user(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags);
    /// BPF_MAP_DELETE_ELEM. -EPERM for BPF_F_RDONLY or frozen maps.
    [[nodiscard]] std::int64_t remove_user(const std::uint8_t* key);
    /// BPF_MAP_LOOKUP_AND_DELETE_ELEM (queue/stack: pop; hash types: copy then delete; others
    /// -ENOTSUPP).
    [[nodiscard]] std::int64_t lookup_and_delete_user(const std::uint8_t* key, std::uint8_t* value,
                                                      std::uint64_t flags);

protected:
    /// `arena_bytes` of zeroed arena are allocated; `cpus` copies for per-CPU types.
    Map(const program::MapSpec& spec, const MapOptions& options, std::size_t arena_bytes);

    /// Syscall-side lookup without the permission check.
    [[nodiscard]] virtual std::int64_t do_lookup_user(const std::uint8_t* key, std::uint8_t* value);
    /// Syscall-side update without the permission check.
    [[nodiscard]] virtual std::int64_t do_update_user(const std::uint8_t* key, const std::uint8_t* value,
                                                      std::uint64_t flags);
    /// Syscall-side lookup-and-delete without the permission checks.
    [[nodiscard]] virtual std::int64_t do_lookup_and_delete_user(const std::uint8_t* key, std::uint8_t* value,
                                                                 std::uint64_t flags);

    /// The CPU whose copy program-side operations use: current_cpu() for per-CPU maps, else 0.
    [[nodiscard]] std::uint32_t value_cpu() const { return cpus_ > 1 ? current_cpu_ : 0; }
    /// Value stride in the arena: value_size() rounded up to 8.
    [[nodiscard]] std::size_t stride() const { return stride_; }
    /// The options the map was created with.
    [[nodiscard]] const MapOptions& options() const { return options_; }

private:
    program::MapSpec spec_;
    MapOptions options_;
    std::uint32_t id_ = 0;
    std::uint32_t cpus_ = 1;
    std::uint32_t current_cpu_ = 0;
    std::size_t stride_ = 0;
    bool frozen_ = false;
    std::vector<std::uint8_t> arena_;
};

/// BPF_MAP_CREATE: checks `spec` as the kernel does for its type (key and value sizes,
/// max_entries, flags, map_extra, inner map) and builds the map, applying `initial_value` to
/// element 0 of global-data arrays and freezing `.rodata`-style specs. A spec the kernel refuses
/// is Errc::InvalidArgument with `sys_errno` = the kernel's errno (EINVAL, E2BIG, ENOTSUPP=524,
/// ENOMEM) and a message naming the map and the rule; a type the kernel has but socket filters
/// cannot use (stack_trace, devmap, sockmap, ...) is Errc::NotSupported.
[[nodiscard]] Result<std::unique_ptr<Map>> create_map(const program::MapSpec& spec, const MapOptions& options = {});

/// `m` as the concrete map class T (RingbufMap, ProgArrayMap, ...) if its type is one T
/// implements, else null.
template <class T>
[[nodiscard]] T* map_as(Map& m) {
    return T::implements(m.type()) ? static_cast<T*>(&m) : nullptr;
}

}  // namespace sockfilter::runtime
