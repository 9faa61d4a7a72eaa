// SPDX-License-Identifier: MIT
// Counts packets per IPv4 TCP/UDP flow (addresses, ports, protocol) in a hash map, and keeps every
// packet.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct flow {
    __u32 saddr;
    __u32 daddr;
    __u16 sport;
    __u16 dport;
    __u8 proto;
    __u8 pad[3];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, struct flow);
    __type(value, __u64);
    __uint(max_entries, 64);
} flows SEC(".maps");

SEC("socket")
int flow_hash(struct __sk_buff *skb)
{
    struct flow key = {};
    __u64 one = 1, *count;
    __u8 ip[20];

    if (skb->protocol != bpf_htons(ETH_P_IP))
        return -1;
    if (bpf_skb_load_bytes_relative(skb, 0, ip, sizeof(ip), BPF_HDR_START_NET))
        return -1;
    if (ip[9] != IPPROTO_TCP && ip[9] != IPPROTO_UDP)
        return -1;
    key.proto = ip[9];
    __builtin_memcpy(&key.saddr, &ip[12], 4);
    __builtin_memcpy(&key.daddr, &ip[16], 4);
    if (bpf_skb_load_bytes_relative(skb, (ip[0] & 0x0f) * 4, &key.sport, 4, BPF_HDR_START_NET))
        return -1;
    count = bpf_map_lookup_elem(&flows, &key);
    if (count)
        __sync_fetch_and_add(count, 1);
    else
        bpf_map_update_elem(&flows, &key, &one, BPF_NOEXIST);
    return -1;
}

char LICENSE[] SEC("license") = "GPL";
