// SPDX-License-Identifier: MIT
// Deterministic map traffic of every kind `sockfilter diff` compares: a hash keyed by packet length,
// a per-CPU array (diff pins itself to one CPU, so both sides count on the same copy), a queue of
// lengths, and an LRU hash too small for the capture (at capacity, so left out of the comparison).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 64);
} by_len SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 2);
} per_cpu SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_QUEUE);
    __type(value, __u32);
    __uint(max_entries, 8);
} lengths SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __type(key, __u32);
    __type(value, __u32);
    __uint(max_entries, 2);
} recent SEC(".maps");

SEC("socket")
int map_traffic(struct __sk_buff *skb)
{
    __u32 len = skb->len;
    __u32 slot = len & 1;
    __u64 one = 1;
    __u64 *count = bpf_map_lookup_elem(&by_len, &len);
    __u64 *mine = bpf_map_lookup_elem(&per_cpu, &slot);

    if (count)
        __sync_fetch_and_add(count, 1);
    else
        bpf_map_update_elem(&by_len, &len, &one, BPF_NOEXIST);
    if (mine)
        *mine += len;
    bpf_map_push_elem(&lengths, &len, BPF_EXIST);
    bpf_map_update_elem(&recent, &len, &len, BPF_ANY);
    return len & 2 ? -1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
