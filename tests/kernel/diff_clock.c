// SPDX-License-Identifier: MIT
// `sockfilter diff` must report a map divergence: every verdict agrees, but the program stores the
// clock in a map (the kernel's monotonic clock there, the capture's time here).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 1);
} stamp SEC(".maps");

SEC("socket")
int clock_in_map(struct __sk_buff *skb)
{
    __u32 key = 0;
    __u64 *v = bpf_map_lookup_elem(&stamp, &key);

    if (v)
        *v = bpf_ktime_get_ns();
    return -1;
}

char LICENSE[] SEC("license") = "GPL";
