// SPDX-License-Identifier: MIT
// BTF-defined maps of several types: hash, array, per-CPU array, LRU hash, ring buffer, an
// array of maps and a hash of maps with an inner definition, and a prog array whose slots are
// initialised with `__array(values, ...)`.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flow {
    __u32 saddr;
    __u32 daddr;
    __u16 sport;
    __u16 dport;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, struct flow);
    __type(value, __u64);
    __uint(max_entries, 1024);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u64));
    __uint(max_entries, 4);
} counters SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, struct flow);
    __uint(max_entries, 1);
} scratch SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __type(key, __u32);
    __type(value, __u32);
    __uint(max_entries, 128);
} recent SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

struct inner {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u32);
    __uint(max_entries, 8);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __type(key, __u32);
    __uint(max_entries, 4);
    __array(values, struct inner);
} outer SEC(".maps") = {
    .values = { [0] = &inner_a, [2] = &inner_b },
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __type(key, __u32);
    __uint(max_entries, 16);
    __array(values, struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __type(key, __u32);
        __type(value, __u64);
        __uint(max_entries, 32);
    });
} by_port SEC(".maps");

int tail_target(struct __sk_buff *skb);

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(max_entries, 2);
    __array(values, int (void *));
} jumps SEC(".maps") = {
    .values = { [1] = (void *)&tail_target },
};

SEC("socket")
int tail_target(struct __sk_buff *skb)
{
    return 1;
}

SEC("socket")
int use_maps(struct __sk_buff *skb)
{
    struct flow f = { .saddr = skb->protocol, .daddr = skb->len };
    __u32 zero = 0, idx = 1;
    __u64 *count, one = 1;
    struct flow *s;
    __u32 *r;
    void *inner;

    count = bpf_map_lookup_elem(&flows, &f);
    if (count)
        __sync_fetch_and_add(count, 1);
    else
        bpf_map_update_elem(&flows, &f, &one, BPF_ANY);
    count = bpf_map_lookup_elem(&counters, &zero);
    if (count)
        *count += skb->len;
    s = bpf_map_lookup_elem(&scratch, &zero);
    if (s)
        s->sport = (__u16)skb->len;
    r = bpf_map_lookup_elem(&recent, &zero);
    if (r)
        *r = skb->ifindex;
    inner = bpf_map_lookup_elem(&outer, &zero);
    if (inner) {
        r = bpf_map_lookup_elem(inner, &idx);
        if (r)
            *r += 1;
    }
    inner = bpf_map_lookup_elem(&by_port, &zero);
    if (inner)
        bpf_map_delete_elem(inner, &idx);
    bpf_ringbuf_output(&events, &f, sizeof(f), 0);
    bpf_tail_call(skb, &jumps, 1);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
