#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generates examples/traffic.pcap, a small Ethernet capture with a mix of traffic for trying filters,
and examples/ipv6_ext.pcap, IPv6 packets behind chains of extension headers.

Standard library only; deterministic output (fixed timestamps, no randomness), so running it again
reproduces the committed file byte for byte. Addresses come from the benchmarking ranges
198.18.0.0/15 and 2001:2::/48 only. IPv4, ICMP, TCP and UDP checksums are correct; frames shorter
than the Ethernet minimum are padded to 60 bytes, as a receiving interface captures them.

Usage: make_traffic.py [traffic.pcap [ipv6_ext.pcap]]   (default: both beside this script)
"""

import os
import struct
import sys

CLIENT_MAC = bytes.fromhex("020000000002")
SERVER_MAC = bytes.fromhex("020000000001")
BROADCAST = b"\xff" * 6
CLIENT4 = bytes([198, 18, 0, 2])
SERVER4 = bytes([198, 18, 0, 1])
DNS4 = bytes([198, 18, 0, 53])
CLIENT6 = bytes.fromhex("20010002000000000000000000000002")
SERVER6 = bytes.fromhex("20010002000000000000000000000001")

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ethernet(dst: bytes, src: bytes, ethertype: int, payload: bytes, vlan: int | None = None) -> bytes:
    tag = struct.pack("!HH", 0x8100, vlan) if vlan is not None else b""
    frame = dst + src + tag + struct.pack("!H", ethertype) + payload
    return frame.ljust(60, b"\x00")


def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, ident: int) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0, src, dst)
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + payload


def ipv6(src: bytes, dst: bytes, next_header: int, payload: bytes) -> bytes:
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), next_header, 64, src, dst) + payload


def pseudo_header(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!IxxxB", length, proto)


def tcp(src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int, data: bytes = b"",
        mss: bool = False) -> bytes:
    options = struct.pack("!BBH", 2, 4, 1460) if mss else b""
    doff = (20 + len(options)) // 4
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, 64240, 0, 0) + options
    segment = header + data
    csum = checksum(pseudo_header(src, dst, 6, len(segment)) + segment)
    return segment[:16] + struct.pack("!H", csum) + segment[18:]


def udp(src: bytes, dst: bytes, sport: int, dport: int, data: bytes) -> bytes:
    datagram = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    csum = checksum(pseudo_header(src, dst, 17, len(datagram)) + datagram) or 0xFFFF
    return datagram[:6] + struct.pack("!H", csum) + datagram[8:]


def icmp_echo(kind: int, ident: int, seq: int, data: bytes) -> bytes:
    message = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + data
    return message[:2] + struct.pack("!H", checksum(message)) + message[4:]


def arp(op: int, sha: bytes, spa: bytes, tha: bytes, tpa: bytes) -> bytes:
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, sha, spa, tha, tpa)


def dns_query(ident: int, name: str) -> bytes:
    qname = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\x00"
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 1, 1)


def dns_answer(ident: int, name: str, address: bytes) -> bytes:
    query = dns_query(ident, name)
    header = struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0)
    answer = struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + address
    return header + query[12:] + answer


def frames() -> list[bytes]:
    c2s4 = lambda proto, payload, ident: ethernet(SERVER_MAC, CLIENT_MAC, 0x0800, ipv4(CLIENT4, SERVER4, proto, payload, ident))
    s2c4 = lambda proto, payload, ident: ethernet(CLIENT_MAC, SERVER_MAC, 0x0800, ipv4(SERVER4, CLIENT4, proto, payload, ident))
    http_get = b"GET / HTTP/1.1\r\nHost: www.example.test\r\n\r\n"
    http_ok = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    client_hello = bytes.fromhex("160301002f0100002b0303") + bytes(range(32)) + bytes.fromhex("0000")
    out = [
        # ARP: who has 198.18.0.1? (broadcast) and the reply.
        ethernet(BROADCAST, CLIENT_MAC, 0x0806, arp(1, CLIENT_MAC, CLIENT4, b"\x00" * 6, SERVER4)),
        ethernet(CLIENT_MAC, SERVER_MAC, 0x0806, arp(2, SERVER_MAC, SERVER4, CLIENT_MAC, CLIENT4)),
        # DNS query and answer over UDP, with the resolver 198.18.0.53 behind the server's MAC.
        ethernet(SERVER_MAC, CLIENT_MAC, 0x0800,
                 ipv4(CLIENT4, DNS4, 17, udp(CLIENT4, DNS4, 53000, 53, dns_query(0x1234, "www.example.test")), 1)),
        ethernet(CLIENT_MAC, SERVER_MAC, 0x0800,
                 ipv4(DNS4, CLIENT4, 17, udp(DNS4, CLIENT4, 53, 53000, dns_answer(0x1234, "www.example.test", SERVER4)),
                      201)),
        # HTTP on port 80: handshake, request, response, close.
        c2s4(6, tcp(CLIENT4, SERVER4, 40000, 80, 1000, 0, SYN, mss=True), 2),
        s2c4(6, tcp(SERVER4, CLIENT4, 80, 40000, 5000, 1001, SYN | ACK, mss=True), 102),
        c2s4(6, tcp(CLIENT4, SERVER4, 40000, 80, 1001, 5001, ACK), 3),
        c2s4(6, tcp(CLIENT4, SERVER4, 40000, 80, 1001, 5001, PSH | ACK, http_get), 4),
        s2c4(6, tcp(SERVER4, CLIENT4, 80, 40000, 5001, 1001 + len(http_get), PSH | ACK, http_ok), 103),
        c2s4(6, tcp(CLIENT4, SERVER4, 40000, 80, 1001 + len(http_get), 5001 + len(http_ok), FIN | ACK), 5),
        # TLS on port 443: handshake and the first data segment.
        c2s4(6, tcp(CLIENT4, SERVER4, 40001, 443, 2000, 0, SYN, mss=True), 6),
        s2c4(6, tcp(SERVER4, CLIENT4, 443, 40001, 7000, 2001, SYN | ACK, mss=True), 104),
        c2s4(6, tcp(CLIENT4, SERVER4, 40001, 443, 2001, 7001, ACK), 7),
        c2s4(6, tcp(CLIENT4, SERVER4, 40001, 443, 2001, 7001, PSH | ACK, client_hello), 8),
        # ICMP echo request to the server and its reply.
        c2s4(1, icmp_echo(8, 0x4242, 1, b"sockfilter-ping!"), 9),
        s2c4(1, icmp_echo(0, 0x4242, 1, b"sockfilter-ping!"), 105),
        # IPv6 TCP to port 80: SYN, SYN-ACK, data.
        ethernet(SERVER_MAC, CLIENT_MAC, 0x86DD, ipv6(CLIENT6, SERVER6, 6, tcp(CLIENT6, SERVER6, 40002, 80, 3000, 0, SYN, mss=True))),
        ethernet(CLIENT_MAC, SERVER_MAC, 0x86DD, ipv6(SERVER6, CLIENT6, 6, tcp(SERVER6, CLIENT6, 80, 40002, 9000, 3001, SYN | ACK, mss=True))),
        ethernet(SERVER_MAC, CLIENT_MAC, 0x86DD, ipv6(CLIENT6, SERVER6, 6, tcp(CLIENT6, SERVER6, 40002, 80, 3001, 9001, PSH | ACK, http_get))),
        # One 802.1Q-tagged frame (VLAN 100, priority 0): a TCP SYN to port 80.
        ethernet(SERVER_MAC, CLIENT_MAC, 0x0800, ipv4(CLIENT4, SERVER4, 6, tcp(CLIENT4, SERVER4, 40003, 80, 4000, 0, SYN, mss=True), 10), vlan=100),
    ]
    return out


def ext_header(next_header: int, body: bytes) -> bytes:
    """A hop-by-hop, routing or destination-options header: `body` padded with PadN to 8n bytes."""
    length = 2 + len(body)
    pad = -length % 8
    if pad == 1:
        body += b"\x00"  # Pad1
    elif pad > 1:
        body += bytes([1, pad - 2]) + b"\x00" * (pad - 2)
    return bytes([next_header, (length + pad) // 8 - 1]) + body


def ipv6_ext_frames() -> list[bytes]:
    hop, routing, fragment, dstopts = 0, 43, 44, 60
    http_get = b"GET / HTTP/1.1\r\nHost: www.example.test\r\n\r\n"
    syn80 = tcp(CLIENT6, SERVER6, 40010, 80, 100, 0, SYN, mss=True)
    get80 = tcp(CLIENT6, SERVER6, 40011, 80, 200, 300, PSH | ACK, http_get)
    syn443 = tcp(CLIENT6, SERVER6, 40012, 443, 400, 0, SYN, mss=True)
    dns = udp(CLIENT6, SERVER6, 53001, 53, dns_query(0x4321, "www.example.test"))
    # Routing header type 4 (segment routing) with no segments left: the destination is final.
    srh = ext_header(6, bytes([4, 0, 0, 0, 0, 0]) + SERVER6)
    nine_dstopts = b"".join(ext_header(dstopts if i < 8 else 6, b"") for i in range(9))
    v6 = lambda next_header, payload: ethernet(SERVER_MAC, CLIENT_MAC, 0x86DD, ipv6(CLIENT6, SERVER6, next_header, payload))
    return [
        # Hop-by-hop options, then a TCP SYN to port 80.
        v6(hop, ext_header(6, b"") + syn80),
        # Destination options, a routing header, then an HTTP request to port 80.
        v6(dstopts, ext_header(routing, b"") + srh + get80),
        # An atomic fragment (offset 0, no more fragments) of a TCP SYN to port 80.
        v6(fragment, struct.pack("!BBHI", 6, 0, 0, 0x1234) + syn80),
        # Hop-by-hop and destination options, then a DNS query over UDP.
        v6(hop, ext_header(dstopts, b"") + ext_header(17, b"") + dns),
        # Hop-by-hop options, then a TCP SYN to port 443.
        v6(hop, ext_header(6, b"") + syn443),
        # No extension header: a TCP SYN to port 80.
        v6(6, syn80),
        # Nine destination-options headers before a TCP SYN to port 80: more than a bounded walk follows.
        v6(dstopts, nine_dstopts + syn80),
        # IPv4 TCP SYN to port 80.
        ethernet(SERVER_MAC, CLIENT_MAC, 0x0800, ipv4(CLIENT4, SERVER4, 6, tcp(CLIENT4, SERVER4, 40013, 80, 500, 0, SYN), 20)),
    ]


def write_pcap(path: str, packets: list[bytes]) -> None:
    base = 1_700_000_000
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for i, frame in enumerate(packets):
            f.write(struct.pack("<IIII", base + i // 10, (i % 10) * 100_000, len(frame), len(frame)))
            f.write(frame)
    os.replace(path + ".tmp", path)


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    write_pcap(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "traffic.pcap"), frames())
    write_pcap(sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "ipv6_ext.pcap"), ipv6_ext_frames())
    return 0


if __name__ == "__main__":
    sys.exit(main())
