// SPDX-License-Identifier: MIT
// Helpers that run a callback sub-program of the caller through CallEnv::callbacks: bpf_loop,
// bpf_for_each_map_elem and bpf_user_ringbuf_drain (spec §5.3). A callback that faults ends the
// whole run.
#include <fmt/format.h>

#include <cstring>
#include <vector>

#include "runtime/helpers/dynptr.h"
#include "runtime/helpers/impl.h"
#include "runtime/instance.h"
#include "runtime/maps/array_map.h"
#include "runtime/maps/hash_map.h"
#include "runtime/maps/ringbuf.h"
#include "support/bytes.h"

namespace sockfilter::runtime::helpers {

namespace {

/// BPF_MAX_LOOPS: the most iterations bpf_loop runs.
constexpr std::uint32_t kMaxLoops = 8 * 1024 * 1024;

bool no_callbacks(CallEnv& env, std::string_view helper) {
    if (env.callbacks != nullptr) {
        return false;
    }
    env.fault = fmt::format("{}: the engine cannot run callbacks", helper);
    return true;
}

/// The key scratch slot of one call, released when the call returns.
class ScratchSlot {
public:
    explicit ScratchSlot(Instance& inst) : level_(inst.key_scratch_level()) {
        if (level_ < Instance::kKeyScratchSlots) {
            slot_ = inst.key_scratch(level_);
        }
        ++level_;
    }
    ScratchSlot(const ScratchSlot&) = delete;
    ScratchSlot& operator=(const ScratchSlot&) = delete;
    ~ScratchSlot() { --level_; }
    /// The slot, or null when callbacks nest deeper than a run's frames allow.
    [[nodiscard]] std::uint8_t* get() const { return slot_; }

private:
    std::size_t& level_;
    std::uint8_t* slot_ = nullptr;
};

}  // namespace

std::uint64_t loop(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t r4,
                   std::uint64_t) {
    const auto nr_loops = static_cast<std::uint32_t>(r1);
    if (r4 != 0) {
        return neg(kEinval);
    }
    if (nr_loops > kMaxLoops) {
        return neg(kE2big);
    }
    if (env.callbacks == nullptr) {
        env.fault = "bpf_loop: the engine cannot run callbacks";
        return 0;
    }
    // long cb(u64 index, void *ctx): 0 continues, anything else stops after this iteration.
    for (std::uint32_t i = 0; i < nr_loops; ++i) {
        const std::uint64_t rc = env.callbacks->call(r2, i, r3, 0, 0, 0);
        if (!env.fault.empty() || env.stop) {
            return 0;
        }
        if (rc != 0) {
            return std::uint64_t{i} + 1;
        }
    }
    return nr_loops;
}

std::uint64_t for_each_map_elem(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3,
                                std::uint64_t r4, std::uint64_t) {
    constexpr std::string_view kName = "bpf_for_each_map_elem";
    Map* m = map_arg(env, kName, 1, r1);
    if (m == nullptr || no_callbacks(env, kName)) {
        return 0;
    }
    if (!ArrayMap::implements(m->type()) && !HashMap::implements(m->type())) {
        env.fault = fmt::format("{}: R1 is a map of a type for_each_map_elem does not walk (array, percpu array, "
                                "hash, percpu hash and their LRU kinds only)",
                                kName);
        return 0;
    }
    if (r4 != 0) {
        return neg(kEinval);
    }
    ScratchSlot slot(*env.instance);
    if (slot.get() == nullptr) {
        env.fault = fmt::format("{}: callbacks nest deeper than a run's call frames", kName);
        return 0;
    }
    // Keys in the kernel's order (array index; hash bucket order). A hash map's keys are taken
    // first: elements the callback deletes are skipped when their turn comes, elements it adds
    // are not visited. The callback's key pointer is the read-only key scratch.
    std::vector<std::uint8_t> keys;
    const std::uint32_t key_size = m->key_size();
    if (ArrayMap::implements(m->type())) {
        keys.resize(std::size_t{m->max_entries()} * 4);
        for (std::uint32_t i = 0; i < m->max_entries(); ++i) {
            store_le<std::uint32_t>(keys.data() + std::size_t{i} * 4, i);
        }
    } else {
        std::vector<std::uint8_t> key(key_size);
        bool first = true;
        while (m->get_next_key(first ? nullptr : keys.data() + keys.size() - key_size, key.data()) == 0) {
            keys.insert(keys.end(), key.begin(), key.end());
            first = false;
        }
    }
    std::uint64_t visited = 0;
    for (std::size_t at = 0; at < keys.size(); at += key_size) {
        std::memcpy(slot.get(), keys.data() + at, key_size);
        std::uint8_t* value = m->is_percpu() ? m->lookup_percpu(slot.get(), m->current_cpu()) : m->lookup(slot.get());
        if (value == nullptr) {
            continue;
        }
        ++visited;
        // long cb(struct bpf_map *map, const void *key, void *value, void *ctx): 1 stops.
        const std::uint64_t rc = env.callbacks->call(r2, r1, reinterpret_cast<std::uintptr_t>(slot.get()),
                                                     reinterpret_cast<std::uintptr_t>(value), r3, 0);
        if (!env.fault.empty() || env.stop) {
            return 0;
        }
        if (rc != 0) {
            break;
        }
    }
    return visited;
}

std::uint64_t user_ringbuf_drain(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3,
                                 std::uint64_t r4, std::uint64_t) {
    constexpr std::string_view kName = "bpf_user_ringbuf_drain";
    Map* m = map_arg(env, kName, 1, r1);
    if (m == nullptr || no_callbacks(env, kName)) {
        return 0;
    }
    auto* ring = map_as<UserRingbufMap>(*m);
    if (ring == nullptr) {
        env.fault = fmt::format("{}: R1 is not a user_ringbuf map", kName);
        return 0;
    }
    ScratchSlot slot(*env.instance);
    if (slot.get() == nullptr) {
        env.fault = fmt::format("{}: callbacks nest deeper than a run's call frames", kName);
        return 0;
    }
    // long cb(struct bpf_dynptr *sample, void *ctx): the sample's dynptr, a read-only local
    // dynptr over the record, lives in the key scratch (read-only to the program, like the
    // kernel's dynptr on its own stack).
    const std::int64_t rc = ring->drain(r4, [&](std::span<std::uint8_t> sample) -> std::uint64_t {
        Dynptr d;
        d.data = reinterpret_cast<std::uintptr_t>(sample.data());
        d.size = static_cast<std::uint32_t>(sample.size());
        d.type = DynptrType::Local;
        d.rdonly = true;
        store_dynptr(slot.get(), d);
        const std::uint64_t r = env.callbacks->call(r2, reinterpret_cast<std::uintptr_t>(slot.get()), r3, 0, 0, 0);
        return env.fault.empty() && !env.stop ? r : 1;
    });
    return env.fault.empty() && !env.stop ? ret(rc) : 0;
}

}  // namespace sockfilter::runtime::helpers
