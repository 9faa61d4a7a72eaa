// SPDX-License-Identifier: MIT
// A dispatcher that tail-calls one program per EtherType through a prog array whose slots the
// object fills with `__array(values, ...)`: IPv4 keeps TCP, IPv6 keeps everything, ARP is dropped
// by an empty slot's fall-through.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

enum { SLOT_IPV4, SLOT_IPV6, SLOT_ARP, SLOT_COUNT };

int handle_ipv4(struct __sk_buff *skb);
int handle_ipv6(struct __sk_buff *skb);

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(max_entries, SLOT_COUNT);
    __array(values, int(void *));
} handlers SEC(".maps") = {
    .values = { [SLOT_IPV4] = (void *)&handle_ipv4, [SLOT_IPV6] = (void *)&handle_ipv6 },
};

SEC("socket")
int handle_ipv4(struct __sk_buff *skb)
{
    __u8 proto;

    if (bpf_skb_load_bytes_relative(skb, 9, &proto, 1, BPF_HDR_START_NET))
        return 0;
    return proto == IPPROTO_TCP ? -1 : 0;
}

SEC("socket")
int handle_ipv6(struct __sk_buff *skb)
{
    return -1;
}

SEC("socket")
int dispatch(struct __sk_buff *skb)
{
    switch (bpf_ntohs(skb->protocol)) {
    case ETH_P_IP: bpf_tail_call(skb, &handlers, SLOT_IPV4); break;
    case ETH_P_IPV6: bpf_tail_call(skb, &handlers, SLOT_IPV6); break;
    case ETH_P_ARP: bpf_tail_call(skb, &handlers, SLOT_ARP); break;
    }
    /* reached when the slot is empty or the EtherType has none */
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
