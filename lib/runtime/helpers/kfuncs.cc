// SPDX-License-Identifier: MIT
// The socket-filter kfuncs by name (spec §6, empirical/kfuncs.md): the numeric iterator, the RCU
// and preemption sections, bpf_map_sum_elem_count, the dynptr family (dynptr.cc), bpf_wq
// (timers.cc), and every other
// kfunc the kernel registers for the type with the message it is refused with here.
#include <fmt/format.h>

#include <array>

#include "runtime/helpers/impl.h"
#include "runtime/maps/hash_map.h"
#include "support/bytes.h"

namespace sockfilter::runtime::helpers {

namespace {

/// BPF_MAX_LOOPS.
constexpr std::int64_t kMaxLoops = 8 * 1024 * 1024;

/// The 8-byte `struct bpf_iter_num` ({int cur; int end;}) at `addr`, or null with env.fault set.
std::uint8_t* iter_arg(CallEnv& env, std::string_view fn, std::uint64_t addr) {
    return writable(env, fn, 1, "iterator", addr, 8);
}

void set_iter(std::uint8_t* it, std::int32_t cur, std::int32_t end) {
    store_le<std::uint32_t>(it, static_cast<std::uint32_t>(cur));
    store_le<std::uint32_t>(it + 4, static_cast<std::uint32_t>(end));
}

}  // namespace

std::uint64_t kf_iter_num_new(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t,
                              std::uint64_t) {
    std::uint8_t* it = iter_arg(env, "bpf_iter_num_new", r1);
    if (it == nullptr) {
        return 0;
    }
    ++env.open_iters;
    const auto start = static_cast<std::int32_t>(r2);
    const auto end = static_cast<std::int32_t>(r3);
    if (start > end) {
        set_iter(it, 0, 0);
        return neg(kEinval);
    }
    if (std::int64_t{end} - start > kMaxLoops) {
        set_iter(it, 0, 0);
        return neg(kE2big);
    }
    set_iter(it, static_cast<std::int32_t>(static_cast<std::uint32_t>(start) - 1U), end);
    return 0;
}

std::uint64_t kf_iter_num_next(CallEnv& env, std::uint64_t r1, std::uint64_t, std::uint64_t, std::uint64_t,
                               std::uint64_t) {
    std::uint8_t* it = iter_arg(env, "bpf_iter_num_next", r1);
    if (it == nullptr) {
        return 0;
    }
    const auto next = static_cast<std::int32_t>(load_le<std::uint32_t>(it) + 1U);
    const auto end = static_cast<std::int32_t>(load_le<std::uint32_t>(it + 4));
    if (next >= end) {
        set_iter(it, 0, 0);
        return 0;
    }
    set_iter(it, next, end);
    return r1;  // &it->cur
}

std::uint64_t kf_iter_num_destroy(CallEnv& env, std::uint64_t r1, std::uint64_t, std::uint64_t, std::uint64_t,
                                  std::uint64_t) {
    constexpr std::string_view kName = "bpf_iter_num_destroy";
    std::uint8_t* it = iter_arg(env, kName, r1);
    if (it == nullptr) {
        return 0;
    }
    if (env.open_iters == 0) {
        env.fault = fmt::format("{}: expected an initialized iter_num as arg #0", kName);
        return 0;
    }
    --env.open_iters;
    set_iter(it, 0, 0);
    return 0;
}

std::uint64_t kf_rcu_read_lock(CallEnv& env, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                               std::uint64_t) {
    // RCU sections do not nest (measured on 6.18); preemption sections do.
    if (env.rcu_locks != 0) {
        env.fault = "nested rcu read lock (kernel function bpf_rcu_read_lock)";
        return 0;
    }
    ++env.rcu_locks;
    return 0;
}

std::uint64_t kf_rcu_read_unlock(CallEnv& env, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                 std::uint64_t) {
    if (env.rcu_locks == 0) {
        env.fault = "unmatched rcu read unlock (kernel function bpf_rcu_read_unlock)";
        return 0;
    }
    --env.rcu_locks;
    return 0;
}

std::uint64_t kf_preempt_disable(CallEnv& env, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                 std::uint64_t) {
    ++env.preempt_locks;
    return 0;
}

std::uint64_t kf_preempt_enable(CallEnv& env, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                std::uint64_t) {
    if (env.preempt_locks == 0) {
        env.fault = "unmatched attempt to enable preemption (kernel function bpf_preempt_enable)";
        return 0;
    }
    --env.preempt_locks;
    return 0;
}

std::uint64_t kf_map_sum_elem_count(CallEnv& env, std::uint64_t r1, std::uint64_t, std::uint64_t, std::uint64_t,
                                    std::uint64_t) {
    Map* m = map_arg(env, "bpf_map_sum_elem_count", 1, r1);
    if (m == nullptr) {
        return 0;
    }
    // Only the hash maps keep the per-CPU element counters the kfunc sums.
    auto* hash = map_as<HashMap>(*m);
    return hash == nullptr ? 0 : hash->size();
}

}  // namespace sockfilter::runtime::helpers

namespace sockfilter::runtime {

namespace {

const std::array<KfuncDef, 35> kKfuncs{{
    {"bpf_dynptr_from_skb", &helpers::kf_dynptr_from_skb, {}},
    {"bpf_dynptr_slice", &helpers::kf_dynptr_slice, {}},
    {"bpf_dynptr_slice_rdwr", nullptr, "the prog does not allow writes to packet data"},
    {"bpf_dynptr_adjust", &helpers::kf_dynptr_adjust, {}},
    {"bpf_dynptr_clone", &helpers::kf_dynptr_clone, {}},
    {"bpf_dynptr_is_null", &helpers::kf_dynptr_is_null, {}},
    {"bpf_dynptr_is_rdonly", &helpers::kf_dynptr_is_rdonly, {}},
    {"bpf_dynptr_size", &helpers::kf_dynptr_size, {}},
    {"bpf_iter_num_new", &helpers::kf_iter_num_new, {}},
    {"bpf_iter_num_next", &helpers::kf_iter_num_next, {}},
    {"bpf_iter_num_destroy", &helpers::kf_iter_num_destroy, {}},
    {"bpf_rcu_read_lock", &helpers::kf_rcu_read_lock, {}},
    {"bpf_rcu_read_unlock", &helpers::kf_rcu_read_unlock, {}},
    {"bpf_preempt_disable", &helpers::kf_preempt_disable, {}},
    {"bpf_preempt_enable", &helpers::kf_preempt_enable, {}},
    {"bpf_map_sum_elem_count", &helpers::kf_map_sum_elem_count, {}},
    {"bpf_cast_to_kern_ctx", nullptr,
     "bpf_cast_to_kern_ctx: userspace has no struct sk_buff behind the context to re-type"},
    {"bpf_rdonly_cast", nullptr, "bpf_rdonly_cast: userspace has no kernel objects or kernel BTF types to read"},
    {"bpf_arena_alloc_pages", nullptr, "program must be sleepable to call sleepable kfunc bpf_arena_alloc_pages"},
    {"bpf_arena_free_pages", nullptr, "program must be sleepable to call sleepable kfunc bpf_arena_free_pages"},
    {"bpf_iter_task_new", nullptr, "bpf_iter_task_new: userspace has no task objects to iterate"},
    {"bpf_iter_task_next", nullptr, "bpf_iter_task_next: userspace has no task objects to iterate"},
    {"bpf_iter_task_destroy", nullptr, "bpf_iter_task_destroy: userspace has no task objects to iterate"},
    {"bpf_iter_task_vma_new", nullptr, "bpf_iter_task_vma_new: userspace has no task or vma objects to iterate"},
    {"bpf_iter_task_vma_next", nullptr, "bpf_iter_task_vma_next: userspace has no task or vma objects to iterate"},
    {"bpf_iter_task_vma_destroy", nullptr,
     "bpf_iter_task_vma_destroy: userspace has no task or vma objects to iterate"},
    {"bpf_iter_css_new", nullptr, "bpf_iter_css_new: userspace has no cgroup css objects to iterate"},
    {"bpf_iter_css_next", nullptr, "bpf_iter_css_next: userspace has no cgroup css objects to iterate"},
    {"bpf_iter_css_destroy", nullptr, "bpf_iter_css_destroy: userspace has no cgroup css objects to iterate"},
    {"bpf_iter_css_task_new", nullptr, "bpf_iter_css_task_new: userspace has no cgroup or task objects to iterate"},
    {"bpf_iter_css_task_next", nullptr,
     "bpf_iter_css_task_next: userspace has no cgroup or task objects to iterate"},
    {"bpf_iter_css_task_destroy", nullptr,
     "bpf_iter_css_task_destroy: userspace has no cgroup or task objects to iterate"},
    {"bpf_wq_init", &helpers::kf_wq_init, {}},
    {"bpf_wq_set_callback_impl", &helpers::kf_wq_set_callback_impl, {}},
    {"bpf_wq_start", &helpers::kf_wq_start, {}},
}};

}  // namespace

std::span<const KfuncDef> socket_filter_kfuncs() { return kKfuncs; }

}  // namespace sockfilter::runtime
