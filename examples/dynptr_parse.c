// SPDX-License-Identifier: MIT
// Parses Ethernet, IPv4/IPv6 and TCP headers through an skb dynptr (bpf_dynptr_from_skb and
// bpf_dynptr_slice kfuncs), and keeps TCP segments to port 80 or 443.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

extern int bpf_dynptr_from_skb(struct __sk_buff *skb, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *ptr, __u32 offset, void *buffer__opt,
                              __u32 buffer__szk) __ksym;

SEC("socket")
int dynptr_parse(struct __sk_buff *skb)
{
    struct bpf_dynptr ptr;
    struct ethhdr eth_buf, *eth;
    struct iphdr ip_buf, *ip;
    struct ipv6hdr ip6_buf, *ip6;
    struct tcphdr tcp_buf, *tcp;
    __u32 l4;

    if (bpf_dynptr_from_skb(skb, 0, &ptr))
        return 0;
    eth = bpf_dynptr_slice(&ptr, 0, &eth_buf, sizeof(eth_buf));
    if (!eth)
        return 0;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        ip = bpf_dynptr_slice(&ptr, ETH_HLEN, &ip_buf, sizeof(ip_buf));
        if (!ip || ip->protocol != IPPROTO_TCP)
            return 0;
        l4 = ETH_HLEN + ip->ihl * 4;
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        ip6 = bpf_dynptr_slice(&ptr, ETH_HLEN, &ip6_buf, sizeof(ip6_buf));
        if (!ip6 || ip6->nexthdr != IPPROTO_TCP)
            return 0;
        l4 = ETH_HLEN + sizeof(*ip6);
    } else {
        return 0;
    }
    tcp = bpf_dynptr_slice(&ptr, l4, &tcp_buf, sizeof(tcp_buf));
    if (!tcp)
        return 0;
    return tcp->dest == bpf_htons(80) || tcp->dest == bpf_htons(443) ? -1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
