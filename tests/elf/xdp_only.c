// SPDX-License-Identifier: MIT
// An object without socket filters: reading it is refused, naming the type.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int drop_xdp(struct xdp_md *ctx)
{
    return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
