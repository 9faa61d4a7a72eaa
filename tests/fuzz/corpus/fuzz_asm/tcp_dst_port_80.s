; tcp dst port 80, over IPv4 and IPv6, for a packet socket (offset 0 = the Ethernet header).
; Written with the legacy packet loads (LD_ABS/LD_IND), as tcpdump-era filters are.
; Returns -1 (keep the whole packet) on a match and 0 (drop) otherwise.
        r6 = r1                      ; LD_ABS/LD_IND read the packet through r6 = ctx
        r0 = *(u16 *)skb[12]         ; ethertype
        if r0 == 0x86dd goto ipv6
        if r0 != 0x800 goto drop
        r0 = *(u8 *)skb[23]          ; IPv4 protocol
        if r0 != 6 goto drop
        r0 = *(u16 *)skb[20]         ; flags and fragment offset
        if r0 & 0x1fff goto drop     ; only the first fragment has the TCP header
        r0 = *(u8 *)skb[14]          ; version and header length
        r0 &= 0xf
        r0 <<= 2
        r7 = r0                      ; r7 = IPv4 header length
        r0 = *(u16 *)skb[r7 + 16]    ; TCP destination port: 14 + IHL*4 + 2
        if r0 != 80 goto drop
        goto keep
ipv6:
        r0 = *(u8 *)skb[20]          ; IPv6 next header
        if r0 != 6 goto drop
        r0 = *(u16 *)skb[56]         ; TCP destination port: 14 + 40 + 2
        if r0 != 80 goto drop
keep:
        r0 = -1
        exit
drop:
        r0 = 0
        exit
