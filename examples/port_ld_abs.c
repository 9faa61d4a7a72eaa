// SPDX-License-Identifier: MIT
// Keeps IPv4 TCP segments to port 80 using only the legacy LD_ABS/LD_IND packet loads.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

/* The LLVM intrinsics behind BPF_LD | BPF_ABS / BPF_IND: offsets count from the link-layer header
 * on a packet socket, and the value comes back in host byte order. */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");

SEC("socket")
int port_ld_abs(struct __sk_buff *skb)
{
    __u32 ihl;

    if (load_half(skb, 12) != ETH_P_IP)
        return 0;
    if (load_byte(skb, ETH_HLEN + 9) != IPPROTO_TCP)
        return 0;
    /* a non-first fragment carries no TCP header */
    if (load_half(skb, ETH_HLEN + 6) & 0x1fff)
        return 0;
    ihl = (load_byte(skb, ETH_HLEN) & 0x0f) * 4;
    if (load_half(skb, ETH_HLEN + ihl + 2) != 80)
        return 0;
    return -1;
}

char LICENSE[] SEC("license") = "GPL";
