// SPDX-License-Identifier: MIT
// kfunc externs resolved by name: an skb dynptr and its size.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int bpf_dynptr_from_skb(struct __sk_buff *skb, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern __u32 bpf_dynptr_size(const struct bpf_dynptr *p) __ksym;

SEC("socket")
int dynptr_len(struct __sk_buff *skb)
{
    struct bpf_dynptr ptr;

    if (bpf_dynptr_from_skb(skb, 0, &ptr))
        return 0;
    return (int)bpf_dynptr_size(&ptr);
}

char LICENSE[] SEC("license") = "GPL";
