// SPDX-License-Identifier: MIT
// bpf-to-bpf calls: static and global subprograms in .text, one calling another, shared by two
// socket programs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __noinline int clamp(int v, int hi)
{
    if (v > hi)
        return hi;
    return v;
}

static __noinline int twice(int v)
{
    return clamp(v * 2, 1500);
}

__noinline int scaled_len(struct __sk_buff *skb)
{
    if (!skb)
        return 0;
    return twice((int)skb->len) + 1;
}

SEC("socket")
int first(struct __sk_buff *skb)
{
    return scaled_len(skb);
}

SEC("socket")
int second(struct __sk_buff *skb)
{
    return clamp((int)skb->len, 60) + twice(3);
}

char LICENSE[] SEC("license") = "GPL";
