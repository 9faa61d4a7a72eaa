// SPDX-License-Identifier: MIT
// The socket-filter helper implementations (one HelperFn per helper, grouped by family in maps.cc,
// skb.cc, misc.cc, callbacks.cc, strings.cc, printk.cc, output.cc) and the argument checks they share.
#pragma once

#include <cstdint>
#include <string_view>

#include "runtime/helpers.h"
#include "runtime/maps/map.h"

namespace sockfilter::runtime::helpers {

/// Errno values the helpers return (negated, as u64).
inline constexpr int kEperm = 1;
inline constexpr int kEnoent = 2;
inline constexpr int kE2big = 7;
inline constexpr int kEagain = 11;
inline constexpr int kEfault = 14;
inline constexpr int kEbusy = 16;
inline constexpr int kEinval = 22;
inline constexpr int kEnospc = 28;
inline constexpr int kErange = 34;

/// r0 for a negative errno `e`.
[[nodiscard]] constexpr std::uint64_t neg(int e) { return static_cast<std::uint64_t>(-static_cast<std::int64_t>(e)); }
/// r0 for a signed result (sign-extended, as BPF_CALL_x returns an int or long).
[[nodiscard]] constexpr std::uint64_t ret(std::int64_t v) { return static_cast<std::uint64_t>(v); }

/// [addr, addr + len) as readable bytes, or null after setting env.fault to
/// "<helper>: R<reg> (<what>, <len> bytes at 0x...) is not readable program memory". len 0 is
/// always fine, whatever `addr` is (returns a non-null pointer that must not be dereferenced).
[[nodiscard]] const std::uint8_t* readable(CallEnv& env, std::string_view helper, int reg, std::string_view what,
                                           std::uint64_t addr, std::uint64_t len);
/// As readable(), for memory the helper writes.
[[nodiscard]] std::uint8_t* writable(CallEnv& env, std::string_view helper, int reg, std::string_view what,
                                     std::uint64_t addr, std::uint64_t len);
/// The NUL-terminated string at `addr` (every byte up to and including the NUL readable), or null
/// with env.fault set; `length` receives strlen.
[[nodiscard]] const char* readable_string(CallEnv& env, std::string_view helper, int reg, std::string_view what,
                                          std::uint64_t addr, std::uint64_t& length);
/// The map `handle` names (ARG_CONST_MAP_PTR), or null with env.fault set.
[[nodiscard]] Map* map_arg(CallEnv& env, std::string_view helper, int reg, std::uint64_t handle);
/// The packet, when `ctx` is the context pointer (ARG_PTR_TO_CTX), or null with env.fault set.
[[nodiscard]] Skb* ctx_arg(CallEnv& env, std::string_view helper, int reg, std::uint64_t ctx);

// Maps (maps.cc).
std::uint64_t map_lookup_elem(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t map_update_elem(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t map_delete_elem(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t map_push_elem(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t map_pop_elem(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t map_peek_elem(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t map_lookup_percpu_elem(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                     std::uint64_t);

// The packet and its socket (skb.cc).
std::uint64_t skb_load_bytes(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t skb_load_bytes_relative(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                      std::uint64_t);
std::uint64_t get_socket_cookie(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t get_socket_uid(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t get_netns_cookie(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);

// Time, random numbers, the current task and tail calls (misc.cc).
std::uint64_t get_prandom_u32(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t get_smp_processor_id(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                   std::uint64_t);
std::uint64_t get_numa_node_id(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t ktime_get_ns(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t ktime_get_boot_ns(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t ktime_get_coarse_ns(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                  std::uint64_t);
std::uint64_t ktime_get_tai_ns(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t jiffies64(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t tail_call(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t get_current_pid_tgid(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                   std::uint64_t);
std::uint64_t get_current_uid_gid(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                  std::uint64_t);
std::uint64_t get_ns_current_pid_tgid(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                      std::uint64_t);
std::uint64_t get_cgroup_classid(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                 std::uint64_t);
std::uint64_t get_current_cgroup_id(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                    std::uint64_t);
std::uint64_t get_current_ancestor_cgroup_id(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                             std::uint64_t);

// Callbacks (callbacks.cc).
std::uint64_t loop(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);

// Strings (strings.cc).
std::uint64_t strncmp(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t strtol(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t strtoul(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);

// Formatted output (printk.cc).
std::uint64_t trace_printk(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t trace_vprintk(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t snprintf(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);

// Records for userspace (output.cc).
std::uint64_t perf_event_output(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t ringbuf_output(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t ringbuf_reserve(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t ringbuf_submit(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t ringbuf_discard(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t ringbuf_query(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);

// Callbacks (callbacks.cc).
std::uint64_t loop(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t for_each_map_elem(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t user_ringbuf_drain(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                 std::uint64_t);

// Memory by address, kptrs and cgroup storage (probe.cc).
std::uint64_t probe_read_user(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t probe_read_kernel(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t probe_read_user_str(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                  std::uint64_t);
std::uint64_t probe_read_kernel_str(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                    std::uint64_t);
std::uint64_t kptr_xchg(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t cgrp_storage_get(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t cgrp_storage_delete(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                  std::uint64_t);

// Timers (timers.cc).
std::uint64_t timer_init(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t timer_set_callback(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                 std::uint64_t);
std::uint64_t timer_start(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t timer_cancel(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);

// Dynptrs (dynptr.cc).
std::uint64_t dynptr_from_mem(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t ringbuf_reserve_dynptr(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                     std::uint64_t);
std::uint64_t ringbuf_submit_dynptr(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                    std::uint64_t);
std::uint64_t ringbuf_discard_dynptr(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                     std::uint64_t);
std::uint64_t dynptr_read(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t dynptr_write(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t dynptr_data(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);

// Kfuncs (dynptr.cc, kfuncs.cc, timers.cc).
std::uint64_t kf_dynptr_from_skb(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                 std::uint64_t);
std::uint64_t kf_dynptr_slice(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t kf_dynptr_adjust(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t kf_dynptr_clone(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t kf_dynptr_is_null(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t kf_dynptr_is_rdonly(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                  std::uint64_t);
std::uint64_t kf_dynptr_size(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t kf_iter_num_new(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t kf_iter_num_next(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t kf_iter_num_destroy(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                  std::uint64_t);
std::uint64_t kf_rcu_read_lock(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t kf_rcu_read_unlock(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                 std::uint64_t);
std::uint64_t kf_preempt_disable(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                 std::uint64_t);
std::uint64_t kf_preempt_enable(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t kf_wq_init(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t kf_wq_set_callback_impl(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                      std::uint64_t);
std::uint64_t kf_wq_start(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t);
std::uint64_t kf_map_sum_elem_count(CallEnv&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                    std::uint64_t);

}  // namespace sockfilter::runtime::helpers
