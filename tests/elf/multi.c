// SPDX-License-Identifier: MIT
// Several programs in one `socket` section, and one more in `socket/extra`.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("socket")
int accept_all(struct __sk_buff *skb)
{
    return -1;
}

SEC("socket")
int drop_all(struct __sk_buff *skb)
{
    return 0;
}

SEC("socket")
int by_protocol(struct __sk_buff *skb)
{
    if (skb->protocol == __builtin_bswap16(0x0800))
        return skb->len;
    return 0;
}

SEC("socket/extra")
int truncate_64(struct __sk_buff *skb)
{
    return 64;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
