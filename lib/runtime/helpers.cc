// SPDX-License-Identifier: MIT
// The registries of helper functions: the conformance ABI, and the socket-filter helpers per
// privilege (the kernel's tiers from catalog.h, the implementations from helpers/).
#include "runtime/helpers.h"

#include <array>

#include "runtime/helpers/impl.h"

namespace sockfilter::runtime {

namespace {

std::uint64_t unwind(CallEnv& env, std::uint64_t r1, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t) {
    if (r1 == 0) {
        env.stop = true;
        env.stop_value = 0;
    }
    return r1;
}

HelperRegistry make_conformance() {
    HelperRegistry r;
    r.add({5, "unwind", &unwind});
    return r;
}

struct Impl {
    std::int32_t id;
    HelperFn fn;
};

constexpr std::array kImpls{
    Impl{1, &helpers::map_lookup_elem},
    Impl{2, &helpers::map_update_elem},
    Impl{3, &helpers::map_delete_elem},
    Impl{5, &helpers::ktime_get_ns},
    Impl{6, &helpers::trace_printk},
    Impl{7, &helpers::get_prandom_u32},
    Impl{8, &helpers::get_smp_processor_id},
    Impl{12, &helpers::tail_call},
    Impl{14, &helpers::get_current_pid_tgid},
    Impl{15, &helpers::get_current_uid_gid},
    Impl{17, &helpers::get_cgroup_classid},
    Impl{25, &helpers::perf_event_output},
    Impl{26, &helpers::skb_load_bytes},
    Impl{42, &helpers::get_numa_node_id},
    Impl{46, &helpers::get_socket_cookie},
    Impl{47, &helpers::get_socket_uid},
    Impl{68, &helpers::skb_load_bytes_relative},
    Impl{80, &helpers::get_current_cgroup_id},
    Impl{87, &helpers::map_push_elem},
    Impl{88, &helpers::map_pop_elem},
    Impl{89, &helpers::map_peek_elem},
    Impl{105, &helpers::strtol},
    Impl{106, &helpers::strtoul},
    Impl{112, &helpers::probe_read_user},
    Impl{113, &helpers::probe_read_kernel},
    Impl{114, &helpers::probe_read_user_str},
    Impl{115, &helpers::probe_read_kernel_str},
    Impl{118, &helpers::jiffies64},
    Impl{120, &helpers::get_ns_current_pid_tgid},
    Impl{122, &helpers::get_netns_cookie},
    Impl{123, &helpers::get_current_ancestor_cgroup_id},
    Impl{125, &helpers::ktime_get_boot_ns},
    Impl{130, &helpers::ringbuf_output},
    Impl{131, &helpers::ringbuf_reserve},
    Impl{132, &helpers::ringbuf_submit},
    Impl{133, &helpers::ringbuf_discard},
    Impl{134, &helpers::ringbuf_query},
    Impl{160, &helpers::ktime_get_coarse_ns},
    Impl{164, &helpers::for_each_map_elem},
    Impl{165, &helpers::snprintf},
    Impl{169, &helpers::timer_init},
    Impl{170, &helpers::timer_set_callback},
    Impl{171, &helpers::timer_start},
    Impl{172, &helpers::timer_cancel},
    Impl{177, &helpers::trace_vprintk},
    Impl{181, &helpers::loop},
    Impl{182, &helpers::strncmp},
    Impl{194, &helpers::kptr_xchg},
    Impl{195, &helpers::map_lookup_percpu_elem},
    Impl{197, &helpers::dynptr_from_mem},
    Impl{198, &helpers::ringbuf_reserve_dynptr},
    Impl{199, &helpers::ringbuf_submit_dynptr},
    Impl{200, &helpers::ringbuf_discard_dynptr},
    Impl{201, &helpers::dynptr_read},
    Impl{202, &helpers::dynptr_write},
    Impl{203, &helpers::dynptr_data},
    Impl{208, &helpers::ktime_get_tai_ns},
    Impl{209, &helpers::user_ringbuf_drain},
    Impl{210, &helpers::cgrp_storage_get},
    Impl{211, &helpers::cgrp_storage_delete},
};

/// Why a helper the kernel allows has no implementation here.
std::string_view unsupported_reason(std::int32_t id) {
    switch (id) {
    case 93:
    case 94:
        return "socket filters cannot use bpf_spin_lock (the kernel refuses every map with a spin lock for them)";
    default:
        return "it works on kernel objects (tasks, kernel or user memory, perf counters, BTF-typed pointers) that "
               "have no userspace equivalent";
    }
}

HelperRegistry make_socket_filter(Privilege privilege) {
    HelperRegistry r;
    for (std::int32_t id = 0; id < kHelperIdCount; ++id) {
        if (!helper_allowed(id, privilege)) {
            continue;
        }
        bool implemented = false;
        for (const Impl& impl : kImpls) {
            if (impl.id == id) {
                r.add({id, helper_name(id), impl.fn});
                implemented = true;
            }
        }
        if (!implemented) {
            r.add_unsupported(id, unsupported_reason(id));
        }
    }
    if (privilege == Privilege::None) {
        r.refuse_kfuncs("loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN");
    } else {
        for (const KfuncDef& k : socket_filter_kfuncs()) {
            r.add_kfunc(k);
        }
    }
    return r;
}

}  // namespace

const HelperRegistry& conformance_helpers() {
    static const HelperRegistry registry = make_conformance();
    return registry;
}

const HelperRegistry& socket_filter_helpers(Privilege privilege) {
    static const std::array<HelperRegistry, 3> registries{make_socket_filter(Privilege::Root),
                                                           make_socket_filter(Privilege::Bpf),
                                                           make_socket_filter(Privilege::None)};
    return registries[static_cast<std::size_t>(privilege)];
}

}  // namespace sockfilter::runtime
