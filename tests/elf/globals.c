// SPDX-License-Identifier: MIT
// Global data: a read-only configuration (.rodata), initialised and zeroed variables (.data,
// .bss), a custom data section (.data.stats) and a string literal (.rodata.str1.1).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 min_len = 60;
const volatile __u32 max_len = 1514;
__u64 seen = 7;
__u64 dropped;
__u32 last_len;
__u64 big SEC(".data.stats") = 1;

SEC("socket")
int with_globals(struct __sk_buff *skb)
{
    __u32 len = skb->len;

    seen += 1;
    last_len = len;
    if (len < min_len || len > max_len) {
        dropped += 1;
        bpf_trace_printk("short or long packet", sizeof("short or long packet"));
        return 0;
    }
    if (len > 1000)
        big += 1;
    return -1;
}

char LICENSE[] SEC("license") = "GPL";
