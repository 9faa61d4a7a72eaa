// SPDX-License-Identifier: MIT
// The live state behind loaded programs: the maps of an object (created from their specs, prog
// arrays and map-in-maps filled), the deterministic sources helpers read (virtual
// clock, random numbers, CPU id) and the outputs helpers produce (trace_printk lines).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "program/object.h"
#include "runtime/maps/map.h"
#include "support/result.h"

namespace sockfilter::runtime {

/// Settings of an instance.
struct InstanceOptions {
    std::uint32_t cpus = 1;        ///< simulated CPUs (per-CPU maps keep this many copies)
    std::uint64_t seed = 0;        ///< seeds bpf_get_prandom_u32 and hash-map seeds
    std::uint64_t cgroup_id = 1;   ///< the cgroup cgrp_storage helpers see
    std::uint32_t socket_uid = 0;  ///< the owner uid bpf_get_socket_uid reports for a packet with a socket
};

/// One memory region a program may touch besides its stack and context: a map's value arena.
struct MemRegion {
    std::uint64_t lo = 0;
    std::uint64_t len = 0;
    bool writable = false;
};

/// A line or record produced by a helper during a run, tagged with the packet it came from.
struct Output {
    enum class Kind : std::uint8_t { TracePrintk, Ringbuf, PerfEvent };
    Kind kind = Kind::TracePrintk;
    std::uint64_t packet = 0;
    std::size_t map = 0;                 ///< Ringbuf, PerfEvent: the map index
    std::string text;                    ///< TracePrintk: the formatted line
    std::vector<std::uint8_t> bytes;     ///< Ringbuf, PerfEvent: the record
};

/// A bpf_timer (or bpf_wq) a program initialised: the state behind the 16-byte field in a map
/// value (which itself stays opaque), keyed by the field's address. A started bpf_wq is a timer
/// due at once: its work runs before the next packet.
struct Timer {
    bool wq = false;                 ///< a bpf_wq (bpf_wq_* kfuncs), not a bpf_timer
    std::size_t map = 0;             ///< index of the map holding the timer
    std::vector<std::uint8_t> key;   ///< key of the element holding it
    std::uint64_t value = 0;         ///< address of that element's value
    std::uint64_t callback = 0;      ///< function-pointer value; 0 until bpf_timer_set_callback
    std::size_t program = 0;         ///< the program whose sub-program `callback` is
    bool armed = false;              ///< started and neither fired nor cancelled
    std::uint64_t expires = 0;       ///< virtual-clock time (ns) it fires at, when armed
    std::uint64_t seq = 0;           ///< arming order (breaks ties between equal expiries)
};

/// A timer due at some time, as Instance::due_timers lists it.
struct DueTimer {
    std::uint64_t timer = 0;  ///< the timer field's address
    std::uint64_t expires = 0;
    std::uint64_t seq = 0;
};

/// What a tool runs for a due timer: `callback` of `program`, with the kernel's arguments
/// (r1 = map handle, r2 = key pointer, r3 = value pointer).
struct TimerCall {
    std::size_t program = 0;
    std::uint64_t callback = 0;
    std::uint64_t map_handle = 0;
    std::uint64_t key = 0;
    std::uint64_t value = 0;
};

/// Maps and helper state shared by every program of an object and every run.
class Instance {
public:
    /// Creates the maps of `maps` (BPF_MAP_CREATE's checks; errors name the map; global data gets
    /// its initial value and `.rodata` is frozen by the map itself), and fills prog arrays and
    /// map-in-map slots from their initial slots, resolving names against `programs` and `maps`.
    [[nodiscard]] static Result<std::unique_ptr<Instance>> create(std::span<const program::MapSpec> maps,
                                                                  std::span<const std::string> programs,
                                                                  const InstanceOptions& options = {});

    [[nodiscard]] std::size_t map_count() const { return maps_.size(); }
    [[nodiscard]] Map& map(std::size_t i) { return *maps_[i]; }
    [[nodiscard]] const Map& map(std::size_t i) const { return *maps_[i]; }
    [[nodiscard]] const std::string& map_name(std::size_t i) const { return names_[i]; }
    /// The index of the map called `name`, or -1.
    [[nodiscard]] std::int64_t find_map(std::string_view name) const;

    /// The value an `lddw` map reference (BPF_PSEUDO_MAP_IDX) loads for map `i`: an address that
    /// identifies the map to helpers and lies in no region, so a program cannot dereference it.
    [[nodiscard]] std::uint64_t map_handle(std::size_t i) const;
    /// The map a handle names, or null.
    [[nodiscard]] Map* map_from_handle(std::uint64_t handle) const;
    /// The index of the map a handle names, or -1.
    [[nodiscard]] std::int64_t map_index(std::uint64_t handle) const;
    /// The index of map `m` (an inner map a map-in-map lookup returned), or -1.
    [[nodiscard]] std::int64_t index_of(const Map* m) const;
    /// The regions programs may touch: every map's value arena (read-only where frozen) and the
    /// read-only key scratch (key_scratch()).
    [[nodiscard]] std::vector<MemRegion> regions() const;

    /// Bytes of one key scratch slot: the largest key a map may have (MAX_BPF_STACK).
    static constexpr std::size_t kKeyScratchSlot = 512;
    /// Key scratch slots: one per callback nesting level a run can reach (MAX_CALL_FRAMES).
    static constexpr std::size_t kKeyScratchSlots = 8;
    /// Slot `level` of the key scratch: where bpf_for_each_map_elem copies the key it hands its
    /// callback (array indexes, hash keys), readable but not writable by programs, as the kernel's
    /// PTR_TO_MAP_KEY. `level` < kKeyScratchSlots.
    [[nodiscard]] std::uint8_t* key_scratch(std::size_t level);
    /// The key scratch level the next bpf_for_each_map_elem uses: entered and left around its
    /// callbacks, so a nested call gets its own slot.
    [[nodiscard]] std::size_t& key_scratch_level() { return key_scratch_level_; }

    /// Names of the programs prog arrays refer to, by index.
    [[nodiscard]] std::span<const std::string> programs() const { return programs_; }

    /// The virtual clock (ns since boot) time helpers read; tools advance it to each packet's
    /// capture time.
    [[nodiscard]] std::uint64_t now_ns() const { return now_ns_; }
    void set_now_ns(std::uint64_t ns) { now_ns_ = ns; }
    /// The next value of bpf_get_prandom_u32: a seeded generator, reproducible with --seed.
    [[nodiscard]] std::uint32_t prandom_u32();
    /// The CPU the program runs on (bpf_get_smp_processor_id, per-CPU maps).
    [[nodiscard]] std::uint32_t cpu() const { return cpu_; }
    void set_cpu(std::uint32_t cpu);
    [[nodiscard]] const InstanceOptions& options() const { return options_; }

    /// The program about to run (tools set it before each run, tail calls included):
    /// bpf_timer_set_callback records it as the owner of the callback.
    void set_running_program(std::size_t program) { running_program_ = program; }
    [[nodiscard]] std::size_t running_program() const { return running_program_; }

    /// The timers programs initialised, by the address of their field.
    [[nodiscard]] std::map<std::uint64_t, Timer>& timers() { return timers_; }
    /// The next arming sequence number.
    [[nodiscard]] std::uint64_t next_timer_seq() { return ++timer_seq_; }
    /// Armed timers whose expiry is at or before `now`, earliest first (then in arming order).
    [[nodiscard]] std::vector<DueTimer> due_timers(std::uint64_t now) const;
    /// Starts firing `due`: nullopt if it was cancelled, re-armed or fired since due_timers listed
    /// it; otherwise disarms it, marks it running (bpf_timer_cancel from its callback then gives
    /// -EDEADLK), copies its key to a key scratch slot and returns the call to make. Every
    /// returned call must be followed by finish_timer_callback().
    [[nodiscard]] std::optional<TimerCall> start_timer_callback(const DueTimer& due);
    /// Ends the callback start_timer_callback began.
    void finish_timer_callback();
    /// The timer whose callback is running, or 0.
    [[nodiscard]] std::uint64_t running_timer() const { return running_timer_; }

    /// The packet index outputs are tagged with.
    void set_packet(std::uint64_t index) { packet_ = index; }
    [[nodiscard]] std::uint64_t packet() const { return packet_; }
    /// Records an output line or record.
    void emit(Output output);
    /// Takes the outputs recorded since the last call.
    [[nodiscard]] std::vector<Output> take_outputs();

private:
    Instance() = default;

    InstanceOptions options_;
    std::vector<std::unique_ptr<Map>> maps_;
    std::vector<std::string> names_;
    std::vector<std::string> programs_;
    std::uint64_t now_ns_ = 0;
    std::uint64_t rng_ = 0;
    std::uint32_t cpu_ = 0;
    std::uint64_t packet_ = 0;
    std::vector<Output> outputs_;
    std::vector<std::uint8_t> key_scratch_ = std::vector<std::uint8_t>(kKeyScratchSlot * kKeyScratchSlots);
    std::size_t key_scratch_level_ = 0;
    std::size_t running_program_ = 0;
    std::map<std::uint64_t, Timer> timers_;
    std::uint64_t timer_seq_ = 0;
    std::uint64_t running_timer_ = 0;
};

}  // namespace sockfilter::runtime
