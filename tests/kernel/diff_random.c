// SPDX-License-Identifier: MIT
// `sockfilter diff` must report a divergence: the verdict is a random number, which the kernel draws
// from its own generator and sockfilter from a seeded one.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("socket")
int random_verdict(struct __sk_buff *skb)
{
    return bpf_get_prandom_u32();
}

char LICENSE[] SEC("license") = "GPL";
