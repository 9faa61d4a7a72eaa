// SPDX-License-Identifier: MIT
// bpf_timer (spec §5.3 "Timers"): timer_init, set_callback, start and cancel on the virtual clock,
// and the bpf_wq kfuncs (spec §6: wq_init, wq_set_callback_impl, wq_start) on the same mechanism.
// The state lives in the Instance (Instance::timers, keyed by the field's address); tools fire due
// timers and work between packets (Instance::due_timers, vm::Interpreter::call_function).
#include <fmt/format.h>

#include <array>
#include <vector>

#include "runtime/helpers/impl.h"
#include "runtime/instance.h"
#include "runtime/maps/array_map.h"
#include "runtime/maps/hash_map.h"
#include "support/bytes.h"

namespace sockfilter::runtime::helpers {

namespace {

/// sizeof(struct bpf_timer).
constexpr std::uint64_t kTimerBytes = 16;
/// MAX_CLOCKS and the clock ids bpf_timer_init accepts.
constexpr std::uint64_t kMaxClocks = 16;
constexpr std::uint64_t kClockRealtime = 0;
constexpr std::uint64_t kClockMonotonic = 1;
constexpr std::uint64_t kClockBoottime = 7;
/// BPF_F_TIMER_ABS | BPF_F_TIMER_CPU_PIN.
constexpr std::uint64_t kTimerAbs = 1;
constexpr std::uint64_t kTimerStartFlags = 3;

/// Finds the element of `m` whose value holds the 16 bytes at `addr`: its key and value address.
bool find_element(Map& m, std::uint64_t addr, std::vector<std::uint8_t>& key, std::uint64_t& value) {
    const auto arena = m.arena();
    const auto lo = reinterpret_cast<std::uintptr_t>(arena.data());
    if (ArrayMap::implements(m.type())) {
        const std::uint64_t stride = (std::uint64_t{m.value_size()} + 7) / 8 * 8;
        const std::uint64_t index = (addr - lo) / stride;
        key.resize(4);
        store_le<std::uint32_t>(key.data(), static_cast<std::uint32_t>(index));
        value = lo + index * stride;
        return addr + kTimerBytes <= value + m.value_size();
    }
    key.assign(m.key_size(), 0);
    std::vector<std::uint8_t> prev;
    while (m.get_next_key(prev.empty() ? nullptr : prev.data(), key.data()) == 0) {
        const auto v = reinterpret_cast<std::uintptr_t>(m.lookup(key.data()));
        if (v != 0 && addr >= v && addr + kTimerBytes <= v + m.value_size()) {
            value = v;
            return true;
        }
        prev = key;
    }
    return false;
}

/// The timer (or, with `wq`, work item) state behind `addr`, or null (never initialised); faults
/// when `addr` cannot be such a field the program may pass.
Timer* timer_arg(CallEnv& env, std::string_view fn, std::uint64_t addr, bool& bad, bool wq = false) {
    bad = writable(env, fn, 1, wq ? "wq" : "timer", addr, kTimerBytes) == nullptr;
    if (bad || env.instance == nullptr) {
        if (!bad) {
            env.fault = fmt::format("{}: timers need an instance", fn);
            bad = true;
        }
        return nullptr;
    }
    auto it = env.instance->timers().find(addr);
    if (it == env.instance->timers().end()) {
        return nullptr;
    }
    if (it->second.wq != wq) {
        env.fault = fmt::format("{}: R1 ({:#x}) is a {}", fn, addr, wq ? "bpf_timer" : "bpf_wq");
        bad = true;
        return nullptr;
    }
    return &it->second;
}

/// bpf_timer_init and bpf_wq_init after their flag checks: the element holding `addr` in the map
/// `handle` names, then -EBUSY or a new record.
std::uint64_t init_field(CallEnv& env, std::string_view fn, std::uint64_t addr, std::uint64_t handle, bool wq,
                         bool flags_ok) {
    bool bad = false;
    const Timer* existing = timer_arg(env, fn, addr, bad, wq);
    Map* m = bad ? nullptr : map_arg(env, fn, 2, handle);
    if (m == nullptr) {
        return 0;
    }
    if (m->type() != program::MapType::Array && m->type() != program::MapType::Hash &&
        m->type() != program::MapType::LruHash) {
        env.fault = fmt::format("{}: {} live only in array, hash and lru_hash map values", fn,
                                wq ? "workqueues" : "timers");
        return 0;
    }
    const auto arena = m->arena();
    const auto lo = reinterpret_cast<std::uintptr_t>(arena.data());
    std::vector<std::uint8_t> key;
    std::uint64_t value = 0;
    if (addr % 8 != 0 || addr < lo || addr - lo >= arena.size() || !find_element(*m, addr, key, value)) {
        env.fault = fmt::format("{}: R1 ({:#x}) is not a {} in a value of the map R2 names", fn, addr,
                                wq ? "bpf_wq" : "bpf_timer");
        return 0;
    }
    if (!flags_ok) {
        return neg(kEinval);
    }
    if (existing != nullptr) {
        return neg(kEbusy);
    }
    Timer t;
    t.wq = wq;
    t.map = static_cast<std::size_t>(env.instance->index_of(m));
    t.key = std::move(key);
    t.value = value;
    env.instance->timers().emplace(addr, std::move(t));
    return 0;
}

}  // namespace

std::uint64_t timer_init(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t,
                         std::uint64_t) {
    const std::uint64_t clock = r3 & (kMaxClocks - 1);
    const bool ok =
        r3 < kMaxClocks && (clock == kClockMonotonic || clock == kClockRealtime || clock == kClockBoottime);
    return init_field(env, "bpf_timer_init", r1, r2, false, ok);
}

std::uint64_t timer_set_callback(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t, std::uint64_t,
                                 std::uint64_t) {
    bool bad = false;
    Timer* t = timer_arg(env, "bpf_timer_set_callback", r1, bad);
    if (bad) {
        return 0;
    }
    if (t == nullptr) {
        return neg(kEinval);
    }
    t->callback = r2;
    t->program = env.instance->running_program();
    return 0;
}

std::uint64_t timer_start(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t,
                          std::uint64_t) {
    bool bad = false;
    Timer* t = timer_arg(env, "bpf_timer_start", r1, bad);
    if (bad) {
        return 0;
    }
    if ((r3 & ~kTimerStartFlags) != 0 || t == nullptr || t->callback == 0) {
        return neg(kEinval);
    }
    const std::uint64_t now = env.instance->now_ns();
    t->armed = true;
    t->expires = (r3 & kTimerAbs) != 0 ? r2 : (r2 > ~now ? ~std::uint64_t{0} : now + r2);
    t->seq = env.instance->next_timer_seq();
    return 0;
}

std::uint64_t timer_cancel(CallEnv& env, std::uint64_t r1, std::uint64_t, std::uint64_t, std::uint64_t,
                           std::uint64_t) {
    constexpr int kEdeadlk = 35;
    bool bad = false;
    Timer* t = timer_arg(env, "bpf_timer_cancel", r1, bad);
    if (bad) {
        return 0;
    }
    if (t == nullptr) {
        return neg(kEinval);
    }
    if (env.instance->running_timer() == r1) {
        return neg(kEdeadlk);
    }
    const bool was_armed = t->armed;
    t->armed = false;
    return was_armed ? 1 : 0;
}

std::uint64_t kf_wq_init(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t,
                         std::uint64_t) {
    return init_field(env, "bpf_wq_init", r1, r2, true, static_cast<std::uint32_t>(r3) == 0);
}

std::uint64_t kf_wq_set_callback_impl(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3,
                                      std::uint64_t, std::uint64_t) {
    bool bad = false;
    Timer* t = timer_arg(env, "bpf_wq_set_callback_impl", r1, bad, true);
    if (bad) {
        return 0;
    }
    if (static_cast<std::uint32_t>(r3) != 0 || t == nullptr) {
        return neg(kEinval);
    }
    t->callback = r2;
    t->program = env.instance->running_program();
    return 0;
}

std::uint64_t kf_wq_start(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t, std::uint64_t,
                          std::uint64_t) {
    bool bad = false;
    Timer* t = timer_arg(env, "bpf_wq_start", r1, bad, true);
    if (bad) {
        return 0;
    }
    if (static_cast<std::uint32_t>(r2) != 0 || t == nullptr || t->callback == 0) {
        return neg(kEinval);
    }
    // schedule_work: a pending item stays queued once.
    if (!t->armed) {
        t->armed = true;
        t->expires = env.instance->now_ns();
        t->seq = env.instance->next_timer_seq();
    }
    return 0;
}

}  // namespace sockfilter::runtime::helpers
