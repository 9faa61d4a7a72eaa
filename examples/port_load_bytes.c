// SPDX-License-Identifier: MIT
// Keeps TCP segments to port 80 over IPv4 and IPv6, reading headers with bpf_skb_load_bytes.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

SEC("socket")
int port_load_bytes(struct __sk_buff *skb)
{
    __u16 proto, dport;
    __u8 ip[20];
    __u32 l4;

    /* offset 0 is the link-layer header on a packet socket */
    if (bpf_skb_load_bytes(skb, 12, &proto, sizeof(proto)))
        return 0;
    if (proto == bpf_htons(ETH_P_IP)) {
        if (bpf_skb_load_bytes(skb, ETH_HLEN, ip, sizeof(ip)))
            return 0;
        if (ip[9] != IPPROTO_TCP || ((ip[6] & 0x1f) | ip[7]))
            return 0;
        l4 = ETH_HLEN + (ip[0] & 0x0f) * 4;
    } else if (proto == bpf_htons(ETH_P_IPV6)) {
        /* next header at byte 6; only a TCP header directly after the fixed header */
        if (bpf_skb_load_bytes(skb, ETH_HLEN + 6, ip, 1) || ip[0] != IPPROTO_TCP)
            return 0;
        l4 = ETH_HLEN + 40;
    } else {
        return 0;
    }
    if (bpf_skb_load_bytes(skb, l4 + 2, &dport, sizeof(dport)))
        return 0;
    return dport == bpf_htons(80) ? skb->len : 0;
}

char LICENSE[] SEC("license") = "GPL";
