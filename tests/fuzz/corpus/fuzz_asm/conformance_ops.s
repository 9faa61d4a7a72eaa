mov %r0, 0
mov32 %r1, 0x7fffffff
lddw %r2, 0x123456789abcdef0
add32 %r1, 2
sub %r2, %r1
mul %r0, -3
div32 %r1, 7
sdiv %r2, -2
mod %r2, 5
smod32 %r1, 3
lsh %r2, 63
rsh32 %r1, 31
arsh %r2, 1
neg32 %r1
movsx1664 %r3, %r1
lddw %r4, map_value(3, 8)
lddw %r5, func(func1)
be16 %r1
le64 %r2
bswap32 %r1
stxdw [%r10-8], %r2
ldxw %r3, [%r10-8]
stw [%r10-16], 42
stb [%r10-1], 1
jeq %r1, 0, +1
jsgt32 %r1, %r3, -2
ja +0
call local func1
exit
func1:
mov %r0, 1
exit
