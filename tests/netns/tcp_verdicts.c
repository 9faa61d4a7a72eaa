// SPDX-License-Identifier: MIT
// A filter for a TCP socket that counts its verdicts in a map. Offset 0 is the TCP header. It
// drops the second segment that carries data and trims the fourth to 10 bytes of payload (TCP
// retransmits what it did not get, so the connection still completes), keeps everything else, and
// counts segments, SYNs, data segments, drops, trims and the payload bytes it kept.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum counter { SEGMENTS, SYNS, DATA, DROPPED, TRIMMED, PAYLOAD_KEPT, COUNTERS };

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, COUNTERS);
} verdicts SEC(".maps");

/// Adds `n` to counter `c` and returns its previous value.
static __u64 add(__u32 c, __u64 n)
{
    __u64 *v = bpf_map_lookup_elem(&verdicts, &c);
    return v ? __sync_fetch_and_add(v, n) : 0;
}

SEC("socket")
int tcp_verdicts(struct __sk_buff *skb)
{
    __u8 th[14];
    if (bpf_skb_load_bytes(skb, 0, th, sizeof(th)) < 0)
        return 0;
    __u32 doff = (th[12] >> 4) * 4;
    __u32 payload = skb->len > doff ? skb->len - doff : 0;
    add(SEGMENTS, 1);
    if (th[13] & 0x02)
        add(SYNS, 1);
    if (payload == 0)
        return -1;
    __u64 nth = add(DATA, 1);
    if (nth == 1) {
        add(DROPPED, 1);
        return 0;
    }
    if (nth == 3 && payload > 10) {
        add(TRIMMED, 1);
        add(PAYLOAD_KEPT, 10);
        return doff + 10;
    }
    add(PAYLOAD_KEPT, payload);
    return -1;
}

char LICENSE[] SEC("license") = "GPL";
