// SPDX-License-Identifier: MIT
// Keeps DNS (UDP port 53, either direction) with bpf_skb_load_bytes_relative from the network
// header, which finds the IP header on every socket kind: packet, raw, udp and test-run alike.
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

SEC("socket")
int port_relative(struct __sk_buff *skb)
{
    __u8 ip[40];
    __u16 ports[2];
    __u32 l4;

    if (bpf_skb_load_bytes_relative(skb, 0, ip, 20, BPF_HDR_START_NET))
        return 0;
    if ((ip[0] >> 4) == 4) {
        if (ip[9] != IPPROTO_UDP || ((ip[6] & 0x1f) | ip[7]))
            return 0;
        l4 = (ip[0] & 0x0f) * 4;
    } else if ((ip[0] >> 4) == 6) {
        if (ip[6] != IPPROTO_UDP)
            return 0;
        l4 = 40;
    } else {
        return 0;
    }
    if (bpf_skb_load_bytes_relative(skb, l4, ports, sizeof(ports), BPF_HDR_START_NET))
        return 0;
    if (ports[0] != bpf_htons(53) && ports[1] != bpf_htons(53))
        return 0;
    return -1;
}

char LICENSE[] SEC("license") = "GPL";
