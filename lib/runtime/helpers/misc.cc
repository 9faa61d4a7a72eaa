// SPDX-License-Identifier: MIT
// Helpers without memory arguments (spec §5.3 "Control / misc"): random numbers, the CPU, the
// clocks, tail calls, and the current task, which in userspace is a fixed model (docs/SEMANTICS.md
// "Helpers"): the idle task (pid 0, uid 0) in the instance's cgroup, as for a packet processed in
// softirq on an idle CPU.
#include <fmt/format.h>

#include "runtime/helpers/impl.h"
#include "runtime/instance.h"
#include "runtime/maps/fd_maps.h"

namespace sockfilter::runtime::helpers {

namespace {

/// CONFIG_HZ of the reference kernel (/proc/config.gz on the 6.18 test machine).
constexpr std::uint64_t kHz = 250;
/// Nanoseconds per jiffy, the resolution of ktime_get_coarse_ns.
constexpr std::uint64_t kTickNs = 1'000'000'000 / kHz;
/// INITIAL_JIFFIES: (unsigned int)(-300 * HZ), so that jiffies wrap five minutes after boot.
constexpr std::uint64_t kInitialJiffies = (std::uint64_t{1} << 32) - 300 * kHz;
/// CLOCK_TAI - CLOCK_BOOTTIME here: the 37 s TAI-UTC offset, as if UTC were 0 at boot.
constexpr std::uint64_t kTaiOffsetNs = 37'000'000'000;
/// The initial pid namespace (PROC_PID_INIT_INO) the idle task lives in, on device 0.
constexpr std::uint64_t kInitPidNsIno = 0xeffffffcU;
/// sizeof(struct bpf_pidns_info).
constexpr std::uint32_t kPidnsInfoSize = 8;
/// The root cgroup's id (cgroup v2).
constexpr std::uint64_t kRootCgroupId = 1;

std::uint64_t now(const CallEnv& env) { return env.instance == nullptr ? 0 : env.instance->now_ns(); }

}  // namespace

std::uint64_t get_prandom_u32(CallEnv& env, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                              std::uint64_t) {
    if (env.instance == nullptr) {
        env.fault = "bpf_get_prandom_u32: no instance holds the random generator";
        return 0;
    }
    return env.instance->prandom_u32();
}

std::uint64_t get_smp_processor_id(CallEnv& env, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                   std::uint64_t) {
    return env.instance == nullptr ? 0 : env.instance->cpu();
}

std::uint64_t get_numa_node_id(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                               std::uint64_t) {
    return 0;
}

std::uint64_t ktime_get_ns(CallEnv& env, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                           std::uint64_t) {
    return now(env);
}

std::uint64_t ktime_get_boot_ns(CallEnv& env, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                std::uint64_t) {
    // The simulated machine never suspends, so CLOCK_BOOTTIME equals CLOCK_MONOTONIC.
    return now(env);
}

std::uint64_t ktime_get_coarse_ns(CallEnv& env, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                  std::uint64_t) {
    return now(env) / kTickNs * kTickNs;
}

std::uint64_t ktime_get_tai_ns(CallEnv& env, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                               std::uint64_t) {
    return now(env) + kTaiOffsetNs;
}

std::uint64_t jiffies64(CallEnv& env, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t) {
    return kInitialJiffies + now(env) / kTickNs;
}

std::uint64_t tail_call(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t,
                        std::uint64_t) {
    constexpr std::string_view kName = "bpf_tail_call";
    if (ctx_arg(env, kName, 1, r1) == nullptr) {
        return 0;
    }
    Map* m = map_arg(env, kName, 2, r2);
    if (m == nullptr) {
        return 0;
    }
    auto* array = map_as<ProgArrayMap>(*m);
    if (array == nullptr) {
        env.fault = fmt::format("{}: R2 is not a prog_array map", kName);
        return 0;
    }
    // kernel/bpf/core.c JMP_TAIL_CALL: the bounds check, then the counter (incremented before the
    // slot is looked at), then the slot. A failed tail call continues with the next instruction;
    // r0 is clobbered there, and here says why.
    const auto index = static_cast<std::uint32_t>(r3);
    if (index >= array->max_entries()) {
        return neg(kE2big);
    }
    if (env.tail_calls >= kMaxTailCalls) {
        return neg(kEbusy);
    }
    ++env.tail_calls;
    const std::int32_t target = array->program_at(index);
    if (target < 0) {
        return neg(kEnoent);
    }
    env.tail_call_target = target;
    env.stop = true;
    env.stop_value = 0;
    return 0;
}

std::uint64_t get_current_pid_tgid(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                   std::uint64_t) {
    return 0;
}

std::uint64_t get_current_uid_gid(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                  std::uint64_t) {
    return 0;
}

std::uint64_t get_ns_current_pid_tgid(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3,
                                      std::uint64_t r4, std::uint64_t) {
    const auto size = static_cast<std::uint32_t>(r4);
    std::uint8_t* nsdata = writable(env, "bpf_get_ns_current_pid_tgid", 3, "nsdata", r3, size);
    if (nsdata == nullptr) {
        return 0;
    }
    // The kernel checks the size, that dev fits dev_t, and the namespace; any failure clears the
    // buffer and returns -EINVAL. Only (dev 0, PROC_PID_INIT_INO) names the idle task's namespace.
    if (size != kPidnsInfoSize || r1 != 0 || r2 != kInitPidNsIno) {
        std::fill_n(nsdata, size, std::uint8_t{0});
        return neg(kEinval);
    }
    std::fill_n(nsdata, size, std::uint8_t{0});  // pid 0, tgid 0
    return 0;
}

std::uint64_t get_cgroup_classid(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                 std::uint64_t) {
    return 0;
}

std::uint64_t get_current_cgroup_id(CallEnv& env, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                    std::uint64_t) {
    return env.instance == nullptr ? kRootCgroupId : env.instance->options().cgroup_id;
}

std::uint64_t get_current_ancestor_cgroup_id(CallEnv& env, std::uint64_t r1, std::uint64_t, std::uint64_t,
                                             std::uint64_t, std::uint64_t) {
    // The current cgroup is the root (level 0) when its id is 1, else a child of the root (level 1).
    const std::uint64_t current = env.instance == nullptr ? kRootCgroupId : env.instance->options().cgroup_id;
    const auto level = static_cast<std::int32_t>(r1);
    if (level == 0) {
        return kRootCgroupId;
    }
    if (level == 1 && current != kRootCgroupId) {
        return current;
    }
    return 0;
}

}  // namespace sockfilter::runtime::helpers
