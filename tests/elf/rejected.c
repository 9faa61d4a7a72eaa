// SPDX-License-Identifier: MIT
// A program the kernel's verifier refuses: a socket filter may not read tc_classid. Used by
// `sockfilter verify` to map the refused instruction to this source line.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("socket")
int reads_tc_classid(struct __sk_buff *skb)
{
    if (skb->len < 20)
        return 0;
    return skb->tc_classid;
}

char LICENSE[] SEC("license") = "GPL";
