// SPDX-License-Identifier: MIT
// Not a program: a CO-RE target BTF for core.o that does not depend on the running kernel. It has
// the uapi `struct __sk_buff`, a two-field `task_struct` and an `sk_buff` without `data_len`.
#include <linux/bpf.h>

struct task_struct {
    int pid;
    int tgid;
};

struct sk_buff {
    unsigned int len;
};

struct __sk_buff target_skb_ctx;
struct task_struct target_task;
struct sk_buff target_skb;
