// SPDX-License-Identifier: MIT
// Maps defined the old way: `struct bpf_map_def` values in the `maps` section (libbpf 1.0 and
// later refuse these; sockfilter reads them).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
    unsigned int type;
    unsigned int key_size;
    unsigned int value_size;
    unsigned int max_entries;
    unsigned int map_flags;
};

struct bpf_map_def SEC("maps") packets = {
    .type = BPF_MAP_TYPE_ARRAY,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u64),
    .max_entries = 2,
};

struct bpf_map_def SEC("maps") by_len = {
    .type = BPF_MAP_TYPE_HASH,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u32),
    .max_entries = 256,
    .map_flags = BPF_F_NO_PREALLOC,
};

SEC("socket")
int count(struct __sk_buff *skb)
{
    __u32 key = 0, len = skb->len;
    __u64 *v = bpf_map_lookup_elem(&packets, &key);

    if (v)
        *v += 1;
    bpf_map_update_elem(&by_len, &len, &len, BPF_ANY);
    return -1;
}

char LICENSE[] SEC("license") = "GPL";
