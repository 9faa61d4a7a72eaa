; reads of the context and ctx->sk, cb[] stores, an atomic on the stack, a bpf-to-bpf call
r6 = r1
r0 = *(u32 *)(r6 + 0)
w2 = *(u8 *)(r6 + 4)
r3 = *(s16 *)(r6 + 16)
*(u32 *)(r6 + 48) = r0
*(u64 *)(r10 - 8) = r0
lock *(u64 *)(r10 - 8) += r3
r4 = atomic_fetch_add((u64 *)(r10 - 8), r4)
r2 = *(u64 *)(r6 + 168)
if r2 == 0 goto nosk
r0 = *(u32 *)(r2 + 4)
nosk:
w0 += 2
w0 s>>= 1
if w0 s< w2 goto +1
r0 = *(u8 *)skb[r7 + 2]
call sub
r0 = -1
exit
sub:
r0 = 0 ll
r0 = be16 r0
exit
