// SPDX-License-Identifier: MIT
// A socket filter next to programs of other types (xdp, tc, kprobe), which are listed and refused.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pass_xdp(struct xdp_md *ctx)
{
    return XDP_PASS;
}

SEC("tc")
int pass_tc(struct __sk_buff *skb)
{
    return 0;
}

SEC("kprobe/do_sys_open")
int probe_open(void *ctx)
{
    return 0;
}

SEC("socket")
int keep_all(struct __sk_buff *skb)
{
    return -1;
}

char LICENSE[] SEC("license") = "GPL";
