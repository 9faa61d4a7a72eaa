// SPDX-License-Identifier: MIT
// Counts packets and bytes per protocol (other, ARP, ICMP, TCP, UDP, IPv6) in an array map, and
// keeps every packet.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

enum slot { SLOT_OTHER, SLOT_ARP, SLOT_ICMP, SLOT_TCP, SLOT_UDP, SLOT_IPV6, SLOT_COUNT };

struct counter {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, struct counter);
    __uint(max_entries, SLOT_COUNT);
} protocols SEC(".maps");

static __u32 classify(struct __sk_buff *skb)
{
    __u8 l4;

    if (skb->protocol == bpf_htons(ETH_P_ARP))
        return SLOT_ARP;
    if (skb->protocol == bpf_htons(ETH_P_IPV6))
        return SLOT_IPV6;
    if (skb->protocol != bpf_htons(ETH_P_IP))
        return SLOT_OTHER;
    if (bpf_skb_load_bytes_relative(skb, 9, &l4, 1, BPF_HDR_START_NET))
        return SLOT_OTHER;
    switch (l4) {
    case IPPROTO_ICMP: return SLOT_ICMP;
    case IPPROTO_TCP: return SLOT_TCP;
    case IPPROTO_UDP: return SLOT_UDP;
    default: return SLOT_OTHER;
    }
}

SEC("socket")
int proto_array(struct __sk_buff *skb)
{
    __u32 slot = classify(skb);
    struct counter *c = bpf_map_lookup_elem(&protocols, &slot);

    if (c) {
        __sync_fetch_and_add(&c->packets, 1);
        __sync_fetch_and_add(&c->bytes, skb->len);
    }
    return -1;
}

char LICENSE[] SEC("license") = "GPL";
