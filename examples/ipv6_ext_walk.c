// SPDX-License-Identifier: MIT
// Walks IPv6 extension headers (hop-by-hop, routing, destination options, fragment) with bpf_loop
// to the upper-layer header, and keeps TCP segments to port 80 however many headers precede them.
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define MAX_EXT_HEADERS 8

struct walk {
    struct __sk_buff *skb;
    __u32 offset;    /* of the current header, from the network header */
    __u8 next;       /* its protocol number */
    __u8 done;
};

static long step(__u64 index, void *ctx)
{
    struct walk *w = ctx;
    __u8 hdr[2];

    switch (w->next) {
    case IPPROTO_HOPOPTS:
    case IPPROTO_ROUTING:
    case IPPROTO_DSTOPTS:
        if (bpf_skb_load_bytes_relative(w->skb, w->offset, hdr, sizeof(hdr), BPF_HDR_START_NET))
            break;
        w->next = hdr[0];
        w->offset += (hdr[1] + 1) * 8;
        return 0;
    case IPPROTO_FRAGMENT:
        if (bpf_skb_load_bytes_relative(w->skb, w->offset, hdr, sizeof(hdr), BPF_HDR_START_NET))
            break;
        w->next = hdr[0];
        w->offset += 8;
        return 0;
    default:
        w->done = 1;
        return 1;
    }
    w->next = IPPROTO_NONE;
    return 1;
}

SEC("socket")
int ipv6_ext_walk(struct __sk_buff *skb)
{
    struct walk w = { .skb = skb, .offset = 40 };
    __u8 version;
    __u16 dport;

    if (bpf_skb_load_bytes_relative(skb, 0, &version, 1, BPF_HDR_START_NET) || (version >> 4) != 6)
        return 0;
    if (bpf_skb_load_bytes_relative(skb, 6, &w.next, 1, BPF_HDR_START_NET))
        return 0;
    bpf_loop(MAX_EXT_HEADERS, step, &w, 0);
    if (!w.done || w.next != IPPROTO_TCP)
        return 0;
    if (bpf_skb_load_bytes_relative(skb, w.offset + 2, &dport, sizeof(dport), BPF_HDR_START_NET))
        return 0;
    return dport == bpf_htons(80) ? -1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
