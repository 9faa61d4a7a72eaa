// SPDX-License-Identifier: MIT
// CO-RE relocations: a field read through a local flavour of `struct __sk_buff`, and field
// existence/size and type existence/size checks against kernel types.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct __sk_buff___local {
    __u32 pkt_type;
    __u32 len;
    __u32 mark;
    __u32 not_in_kernel;
} __attribute__((preserve_access_index));

struct sk_buff___local {
    unsigned int len;
    unsigned int data_len;
} __attribute__((preserve_access_index));

struct task_struct {
    int pid;
} __attribute__((preserve_access_index));

SEC("socket")
int core_len(struct __sk_buff *ctx)
{
    struct __sk_buff___local *skb = (void *)ctx;
    int r = (int)skb->len;

    if (bpf_core_field_exists(skb->not_in_kernel))
        r += 1000;
    if (bpf_core_field_exists(((struct sk_buff___local *)0)->data_len))
        r += (int)bpf_core_field_size(((struct sk_buff___local *)0)->len);
    if (bpf_core_type_exists(struct task_struct))
        r += (int)bpf_core_type_size(struct task_struct) > 0 ? 1 : 0;
    return r + (int)skb->mark;
}

char LICENSE[] SEC("license") = "GPL";
