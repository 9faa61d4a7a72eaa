; Benchmark workload W3: sums the packet as 16-bit big-endian words with LD_IND, one word per
; loop iteration, and returns the 64-bit sum folded to 32 bits. The length is clamped to 1514
; bytes so the kernel's verifier can see that the loop ends (bounded loops need a constant bound).
        r6 = r1                      ; LD_IND reads the packet through r6 = ctx
        r8 = *(u32 *)(r1 + 0)        ; r8 = skb->len
        if r8 <= 1514 goto start
        r8 = 1514
start:
        r7 = 0                       ; r7 = offset of the next word
        r9 = 0                       ; r9 = sum
loop:
        r1 = r7
        r1 += 2
        if r1 > r8 goto done         ; stop when fewer than 2 bytes are left
        r0 = *(u16 *)skb[r7 + 0]
        r9 += r0
        r7 += 2
        goto loop
done:
        r0 = r9
        r0 >>= 32
        w0 += w9                     ; fold: high half + low half, 32 bits
        exit
