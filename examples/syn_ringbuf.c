// SPDX-License-Identifier: MIT
// Reports every IPv4 TCP SYN (addresses, ports, capture time) as a ring-buffer record made with
// bpf_ringbuf_reserve and bpf_ringbuf_submit, and keeps only the SYNs.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct syn_event {
    __u64 time_ns;
    __u32 saddr;
    __u32 daddr;
    __u16 sport;
    __u16 dport;
    __u32 len;
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} syns SEC(".maps");

SEC("socket")
int syn_ringbuf(struct __sk_buff *skb)
{
    struct syn_event *e;
    __u8 ip[20], tcp[14];
    __u32 l4;

    if (skb->protocol != bpf_htons(ETH_P_IP))
        return 0;
    if (bpf_skb_load_bytes_relative(skb, 0, ip, sizeof(ip), BPF_HDR_START_NET) || ip[9] != IPPROTO_TCP)
        return 0;
    l4 = (ip[0] & 0x0f) * 4;
    if (bpf_skb_load_bytes_relative(skb, l4, tcp, sizeof(tcp), BPF_HDR_START_NET))
        return 0;
    /* flags byte 13: SYN set, ACK clear */
    if ((tcp[13] & 0x12) != 0x02)
        return 0;
    e = bpf_ringbuf_reserve(&syns, sizeof(*e), 0);
    if (!e)
        return -1;
    e->time_ns = bpf_ktime_get_ns();
    __builtin_memcpy(&e->saddr, &ip[12], 4);
    __builtin_memcpy(&e->daddr, &ip[16], 4);
    __builtin_memcpy(&e->sport, &tcp[0], 2);
    __builtin_memcpy(&e->dport, &tcp[2], 2);
    e->len = skb->len;
    bpf_ringbuf_submit(e, 0);
    return -1;
}

char LICENSE[] SEC("license") = "GPL";
