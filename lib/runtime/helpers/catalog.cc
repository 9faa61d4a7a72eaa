// SPDX-License-Identifier: MIT
// The helper id table: names in __BPF_FUNC_MAPPER order (6.18 UAPI) and the tier each one needs
// in a socket filter, as empirical/hp_priv.tsv, hp_bpfonly.tsv and hp_unpriv.tsv measured.
#include "runtime/helpers/catalog.h"

#include <array>

namespace sockfilter::runtime {

namespace {

struct Row {
    std::string_view name;
    HelperTier tier;
};

// One row per id, in id order (the comment is the id).
constexpr std::array<Row, kHelperIdCount> kRows{{
    {"bpf_unspec", HelperTier::Refused},  // 0
    {"bpf_map_lookup_elem", HelperTier::Unprivileged},  // 1
    {"bpf_map_update_elem", HelperTier::Unprivileged},  // 2
    {"bpf_map_delete_elem", HelperTier::Unprivileged},  // 3
    {"bpf_probe_read", HelperTier::Refused},  // 4
    {"bpf_ktime_get_ns", HelperTier::Unprivileged},  // 5
    {"bpf_trace_printk", HelperTier::Perfmon},  // 6
    {"bpf_get_prandom_u32", HelperTier::Unprivileged},  // 7
    {"bpf_get_smp_processor_id", HelperTier::Unprivileged},  // 8
    {"bpf_skb_store_bytes", HelperTier::Refused},  // 9
    {"bpf_l3_csum_replace", HelperTier::Refused},  // 10
    {"bpf_l4_csum_replace", HelperTier::Refused},  // 11
    {"bpf_tail_call", HelperTier::Unprivileged},  // 12
    {"bpf_clone_redirect", HelperTier::Refused},  // 13
    {"bpf_get_current_pid_tgid", HelperTier::Unprivileged},  // 14
    {"bpf_get_current_uid_gid", HelperTier::Unprivileged},  // 15
    {"bpf_get_current_comm", HelperTier::Perfmon},  // 16
    {"bpf_get_cgroup_classid", HelperTier::Bpf},  // 17
    {"bpf_skb_vlan_push", HelperTier::Refused},  // 18
    {"bpf_skb_vlan_pop", HelperTier::Refused},  // 19
    {"bpf_skb_get_tunnel_key", HelperTier::Refused},  // 20
    {"bpf_skb_set_tunnel_key", HelperTier::Refused},  // 21
    {"bpf_perf_event_read", HelperTier::Perfmon},  // 22
    {"bpf_redirect", HelperTier::Refused},  // 23
    {"bpf_get_route_realm", HelperTier::Refused},  // 24
    {"bpf_perf_event_output", HelperTier::Unprivileged},  // 25
    {"bpf_skb_load_bytes", HelperTier::Unprivileged},  // 26
    {"bpf_get_stackid", HelperTier::Refused},  // 27
    {"bpf_csum_diff", HelperTier::Refused},  // 28
    {"bpf_skb_get_tunnel_opt", HelperTier::Refused},  // 29
    {"bpf_skb_set_tunnel_opt", HelperTier::Refused},  // 30
    {"bpf_skb_change_proto", HelperTier::Refused},  // 31
    {"bpf_skb_change_type", HelperTier::Refused},  // 32
    {"bpf_skb_under_cgroup", HelperTier::Refused},  // 33
    {"bpf_get_hash_recalc", HelperTier::Refused},  // 34
    {"bpf_get_current_task", HelperTier::Perfmon},  // 35
    {"bpf_probe_write_user", HelperTier::Refused},  // 36
    {"bpf_current_task_under_cgroup", HelperTier::Bpf},  // 37
    {"bpf_skb_change_tail", HelperTier::Refused},  // 38
    {"bpf_skb_pull_data", HelperTier::Refused},  // 39
    {"bpf_csum_update", HelperTier::Refused},  // 40
    {"bpf_set_hash_invalid", HelperTier::Refused},  // 41
    {"bpf_get_numa_node_id", HelperTier::Unprivileged},  // 42
    {"bpf_skb_change_head", HelperTier::Refused},  // 43
    {"bpf_xdp_adjust_head", HelperTier::Refused},  // 44
    {"bpf_probe_read_str", HelperTier::Refused},  // 45
    {"bpf_get_socket_cookie", HelperTier::Unprivileged},  // 46
    {"bpf_get_socket_uid", HelperTier::Unprivileged},  // 47
    {"bpf_set_hash", HelperTier::Refused},  // 48
    {"bpf_setsockopt", HelperTier::Refused},  // 49
    {"bpf_skb_adjust_room", HelperTier::Refused},  // 50
    {"bpf_redirect_map", HelperTier::Refused},  // 51
    {"bpf_sk_redirect_map", HelperTier::Refused},  // 52
    {"bpf_sock_map_update", HelperTier::Refused},  // 53
    {"bpf_xdp_adjust_meta", HelperTier::Refused},  // 54
    {"bpf_perf_event_read_value", HelperTier::Perfmon},  // 55
    {"bpf_perf_prog_read_value", HelperTier::Refused},  // 56
    {"bpf_getsockopt", HelperTier::Refused},  // 57
    {"bpf_override_return", HelperTier::Refused},  // 58
    {"bpf_sock_ops_cb_flags_set", HelperTier::Refused},  // 59
    {"bpf_msg_redirect_map", HelperTier::Refused},  // 60
    {"bpf_msg_apply_bytes", HelperTier::Refused},  // 61
    {"bpf_msg_cork_bytes", HelperTier::Refused},  // 62
    {"bpf_msg_pull_data", HelperTier::Refused},  // 63
    {"bpf_bind", HelperTier::Refused},  // 64
    {"bpf_xdp_adjust_tail", HelperTier::Refused},  // 65
    {"bpf_skb_get_xfrm_state", HelperTier::Refused},  // 66
    {"bpf_get_stack", HelperTier::Refused},  // 67
    {"bpf_skb_load_bytes_relative", HelperTier::Unprivileged},  // 68
    {"bpf_fib_lookup", HelperTier::Refused},  // 69
    {"bpf_sock_hash_update", HelperTier::Refused},  // 70
    {"bpf_msg_redirect_hash", HelperTier::Refused},  // 71
    {"bpf_sk_redirect_hash", HelperTier::Refused},  // 72
    {"bpf_lwt_push_encap", HelperTier::Refused},  // 73
    {"bpf_lwt_seg6_store_bytes", HelperTier::Refused},  // 74
    {"bpf_lwt_seg6_adjust_srh", HelperTier::Refused},  // 75
    {"bpf_lwt_seg6_action", HelperTier::Refused},  // 76
    {"bpf_rc_repeat", HelperTier::Refused},  // 77
    {"bpf_rc_keydown", HelperTier::Refused},  // 78
    {"bpf_skb_cgroup_id", HelperTier::Refused},  // 79
    {"bpf_get_current_cgroup_id", HelperTier::Bpf},  // 80
    {"bpf_get_local_storage", HelperTier::Refused},  // 81
    {"bpf_sk_select_reuseport", HelperTier::Refused},  // 82
    {"bpf_skb_ancestor_cgroup_id", HelperTier::Refused},  // 83
    {"bpf_sk_lookup_tcp", HelperTier::Refused},  // 84
    {"bpf_sk_lookup_udp", HelperTier::Refused},  // 85
    {"bpf_sk_release", HelperTier::Refused},  // 86
    {"bpf_map_push_elem", HelperTier::Unprivileged},  // 87
    {"bpf_map_pop_elem", HelperTier::Unprivileged},  // 88
    {"bpf_map_peek_elem", HelperTier::Unprivileged},  // 89
    {"bpf_msg_push_data", HelperTier::Refused},  // 90
    {"bpf_msg_pop_data", HelperTier::Refused},  // 91
    {"bpf_rc_pointer_rel", HelperTier::Refused},  // 92
    {"bpf_spin_lock", HelperTier::Bpf},  // 93
    {"bpf_spin_unlock", HelperTier::Bpf},  // 94
    {"bpf_sk_fullsock", HelperTier::Refused},  // 95
    {"bpf_tcp_sock", HelperTier::Refused},  // 96
    {"bpf_skb_ecn_set_ce", HelperTier::Refused},  // 97
    {"bpf_get_listener_sock", HelperTier::Refused},  // 98
    {"bpf_skc_lookup_tcp", HelperTier::Refused},  // 99
    {"bpf_tcp_check_syncookie", HelperTier::Refused},  // 100
    {"bpf_sysctl_get_name", HelperTier::Refused},  // 101
    {"bpf_sysctl_get_current_value", HelperTier::Refused},  // 102
    {"bpf_sysctl_get_new_value", HelperTier::Refused},  // 103
    {"bpf_sysctl_set_new_value", HelperTier::Refused},  // 104
    {"bpf_strtol", HelperTier::Unprivileged},  // 105
    {"bpf_strtoul", HelperTier::Unprivileged},  // 106
    {"bpf_sk_storage_get", HelperTier::Refused},  // 107
    {"bpf_sk_storage_delete", HelperTier::Refused},  // 108
    {"bpf_send_signal", HelperTier::Perfmon},  // 109
    {"bpf_tcp_gen_syncookie", HelperTier::Refused},  // 110
    {"bpf_skb_output", HelperTier::Refused},  // 111
    {"bpf_probe_read_user", HelperTier::Perfmon},  // 112
    {"bpf_probe_read_kernel", HelperTier::Perfmon},  // 113
    {"bpf_probe_read_user_str", HelperTier::Perfmon},  // 114
    {"bpf_probe_read_kernel_str", HelperTier::Perfmon},  // 115
    {"bpf_tcp_send_ack", HelperTier::Refused},  // 116
    {"bpf_send_signal_thread", HelperTier::Perfmon},  // 117
    {"bpf_jiffies64", HelperTier::Bpf},  // 118
    {"bpf_read_branch_records", HelperTier::Refused},  // 119
    {"bpf_get_ns_current_pid_tgid", HelperTier::Unprivileged},  // 120
    {"bpf_xdp_output", HelperTier::Refused},  // 121
    {"bpf_get_netns_cookie", HelperTier::Unprivileged},  // 122
    {"bpf_get_current_ancestor_cgroup_id", HelperTier::Bpf},  // 123
    {"bpf_sk_assign", HelperTier::Refused},  // 124
    {"bpf_ktime_get_boot_ns", HelperTier::Unprivileged},  // 125
    {"bpf_seq_printf", HelperTier::Refused},  // 126
    {"bpf_seq_write", HelperTier::Refused},  // 127
    {"bpf_sk_cgroup_id", HelperTier::Refused},  // 128
    {"bpf_sk_ancestor_cgroup_id", HelperTier::Refused},  // 129
    {"bpf_ringbuf_output", HelperTier::Unprivileged},  // 130
    {"bpf_ringbuf_reserve", HelperTier::Unprivileged},  // 131
    {"bpf_ringbuf_submit", HelperTier::Unprivileged},  // 132
    {"bpf_ringbuf_discard", HelperTier::Unprivileged},  // 133
    {"bpf_ringbuf_query", HelperTier::Unprivileged},  // 134
    {"bpf_csum_level", HelperTier::Refused},  // 135
    {"bpf_skc_to_tcp6_sock", HelperTier::Perfmon},  // 136
    {"bpf_skc_to_tcp_sock", HelperTier::Perfmon},  // 137
    {"bpf_skc_to_tcp_timewait_sock", HelperTier::Perfmon},  // 138
    {"bpf_skc_to_tcp_request_sock", HelperTier::Perfmon},  // 139
    {"bpf_skc_to_udp6_sock", HelperTier::Perfmon},  // 140
    {"bpf_get_task_stack", HelperTier::Perfmon},  // 141
    {"bpf_load_hdr_opt", HelperTier::Refused},  // 142
    {"bpf_store_hdr_opt", HelperTier::Refused},  // 143
    {"bpf_reserve_hdr_opt", HelperTier::Refused},  // 144
    {"bpf_inode_storage_get", HelperTier::Refused},  // 145
    {"bpf_inode_storage_delete", HelperTier::Refused},  // 146
    {"bpf_d_path", HelperTier::Refused},  // 147
    {"bpf_copy_from_user", HelperTier::Perfmon},  // 148
    {"bpf_snprintf_btf", HelperTier::Perfmon},  // 149
    {"bpf_seq_printf_btf", HelperTier::Refused},  // 150
    {"bpf_skb_cgroup_classid", HelperTier::Refused},  // 151
    {"bpf_redirect_neigh", HelperTier::Refused},  // 152
    {"bpf_per_cpu_ptr", HelperTier::Bpf},  // 153
    {"bpf_this_cpu_ptr", HelperTier::Bpf},  // 154
    {"bpf_redirect_peer", HelperTier::Refused},  // 155
    {"bpf_task_storage_get", HelperTier::Bpf},  // 156
    {"bpf_task_storage_delete", HelperTier::Bpf},  // 157
    {"bpf_get_current_task_btf", HelperTier::Perfmon},  // 158
    {"bpf_bprm_opts_set", HelperTier::Refused},  // 159
    {"bpf_ktime_get_coarse_ns", HelperTier::Unprivileged},  // 160
    {"bpf_ima_inode_hash", HelperTier::Refused},  // 161
    {"bpf_sock_from_file", HelperTier::Refused},  // 162
    {"bpf_check_mtu", HelperTier::Refused},  // 163
    {"bpf_for_each_map_elem", HelperTier::Bpf},  // 164
    {"bpf_snprintf", HelperTier::Perfmon},  // 165
    {"bpf_sys_bpf", HelperTier::Refused},  // 166
    {"bpf_btf_find_by_name_kind", HelperTier::Refused},  // 167
    {"bpf_sys_close", HelperTier::Refused},  // 168
    {"bpf_timer_init", HelperTier::Bpf},  // 169
    {"bpf_timer_set_callback", HelperTier::Bpf},  // 170
    {"bpf_timer_start", HelperTier::Bpf},  // 171
    {"bpf_timer_cancel", HelperTier::Bpf},  // 172
    {"bpf_get_func_ip", HelperTier::Refused},  // 173
    {"bpf_get_attach_cookie", HelperTier::Refused},  // 174
    {"bpf_task_pt_regs", HelperTier::Perfmon},  // 175
    {"bpf_get_branch_snapshot", HelperTier::Perfmon},  // 176
    {"bpf_trace_vprintk", HelperTier::Perfmon},  // 177
    {"bpf_skc_to_unix_sock", HelperTier::Perfmon},  // 178
    {"bpf_kallsyms_lookup_name", HelperTier::Refused},  // 179
    {"bpf_find_vma", HelperTier::Perfmon},  // 180
    {"bpf_loop", HelperTier::Bpf},  // 181
    {"bpf_strncmp", HelperTier::Unprivileged},  // 182
    {"bpf_get_func_arg", HelperTier::Refused},  // 183
    {"bpf_get_func_ret", HelperTier::Refused},  // 184
    {"bpf_get_func_arg_cnt", HelperTier::Refused},  // 185
    {"bpf_get_retval", HelperTier::Refused},  // 186
    {"bpf_set_retval", HelperTier::Refused},  // 187
    {"bpf_xdp_get_buff_len", HelperTier::Refused},  // 188
    {"bpf_xdp_load_bytes", HelperTier::Refused},  // 189
    {"bpf_xdp_store_bytes", HelperTier::Refused},  // 190
    {"bpf_copy_from_user_task", HelperTier::Perfmon},  // 191
    {"bpf_skb_set_tstamp", HelperTier::Refused},  // 192
    {"bpf_ima_file_hash", HelperTier::Refused},  // 193
    {"bpf_kptr_xchg", HelperTier::Bpf},  // 194
    {"bpf_map_lookup_percpu_elem", HelperTier::Unprivileged},  // 195
    {"bpf_skc_to_mptcp_sock", HelperTier::Perfmon},  // 196
    {"bpf_dynptr_from_mem", HelperTier::Bpf},  // 197
    {"bpf_ringbuf_reserve_dynptr", HelperTier::Bpf},  // 198
    {"bpf_ringbuf_submit_dynptr", HelperTier::Bpf},  // 199
    {"bpf_ringbuf_discard_dynptr", HelperTier::Bpf},  // 200
    {"bpf_dynptr_read", HelperTier::Bpf},  // 201
    {"bpf_dynptr_write", HelperTier::Bpf},  // 202
    {"bpf_dynptr_data", HelperTier::Bpf},  // 203
    {"bpf_tcp_raw_gen_syncookie_ipv4", HelperTier::Refused},  // 204
    {"bpf_tcp_raw_gen_syncookie_ipv6", HelperTier::Refused},  // 205
    {"bpf_tcp_raw_check_syncookie_ipv4", HelperTier::Refused},  // 206
    {"bpf_tcp_raw_check_syncookie_ipv6", HelperTier::Refused},  // 207
    {"bpf_ktime_get_tai_ns", HelperTier::Unprivileged},  // 208
    {"bpf_user_ringbuf_drain", HelperTier::Bpf},  // 209
    {"bpf_cgrp_storage_get", HelperTier::Bpf},  // 210
    {"bpf_cgrp_storage_delete", HelperTier::Bpf},  // 211
}};

}  // namespace

std::string_view helper_name(std::int32_t id) {
    if (id < 0 || id >= kHelperIdCount) {
        return "unknown";
    }
    return kRows[static_cast<std::size_t>(id)].name;
}

HelperTier helper_tier(std::int32_t id) {
    if (id < 0 || id >= kHelperIdCount) {
        return HelperTier::Refused;
    }
    return kRows[static_cast<std::size_t>(id)].tier;
}

bool helper_allowed(std::int32_t id, Privilege privilege) {
    switch (helper_tier(id)) {
    case HelperTier::Refused:
        return false;
    case HelperTier::Perfmon:
        return privilege == Privilege::Root;
    case HelperTier::Bpf:
        return privilege != Privilege::None;
    case HelperTier::Unprivileged:
        return true;
    }
    return false;
}

}  // namespace sockfilter::runtime
