// SPDX-License-Identifier: MIT
// The smallest useful socket filter: keep packets longer than 100 bytes, drop the rest.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("socket")
int keep_long(struct __sk_buff *skb)
{
    if (skb->len > 100)
        return -1;
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
