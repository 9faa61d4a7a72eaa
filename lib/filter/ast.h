// SPDX-License-Identifier: MIT
// The syntax tree of a pcap-filter expression (pcap-filter(7)), as the parser builds it and the
// code generator reads it. Qualifiers are resolved: every primitive carries its own (carried-over)
// protocol, direction and address-type qualifiers.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sockfilter::filter {

/// Protocol qualifiers and protocol keywords (libpcap's Q_* protocol values).
enum class Proto : std::uint8_t {
    Default, Link, Ip, Ip6, Arp, Rarp, Tcp, Udp, Sctp, Icmp, Icmp6, Igmp, Igrp, Pim, Vrrp, Carp, Ah, Esp, Stp,
    Radio,
};

/// Direction qualifiers.
enum class Dir : std::uint8_t { Default, Src, Dst, SrcOrDst, SrcAndDst };

/// Address-type qualifiers.
enum class Addr : std::uint8_t { Default, Host, Net, Port, Portrange, Proto, Protochain };

/// The three qualifiers of a primitive.
struct Qual {
    Proto proto = Proto::Default;
    Dir dir = Dir::Default;
    Addr addr = Addr::Default;
};

/// Binary arithmetic operators of `arth` (32-bit unsigned, as classic BPF's A register).
enum class BinOp : std::uint8_t { Add, Sub, Mul, Div, Mod, And, Or, Xor, Lsh, Rsh };

/// Relations (`>`, `>=`, `=`, `<=`, `<`, `!=`).
enum class RelOp : std::uint8_t { Gt, Ge, Eq, Le, Lt, Ne };

/// An arithmetic expression: a number, `len`, a packet accessor `proto[index:size]`, an operator.
struct Arith {
    enum class Kind : std::uint8_t { Num, Len, Load, Binary, Neg };
    Kind kind = Kind::Num;
    std::uint32_t value = 0;   ///< Num
    Proto proto = Proto::Link; ///< Load: the header the index is relative to
    std::uint8_t size = 1;     ///< Load: 1, 2 or 4 bytes
    BinOp op = BinOp::Add;     ///< Binary
    std::unique_ptr<Arith> lhs;  ///< Binary: left; Load: index; Neg: operand
    std::unique_ptr<Arith> rhs;  ///< Binary: right
    std::uint32_t col = 0;       ///< column of the expression's first character (1-based)
};

/// The value of a qualified primitive (`host 10.0.0.1`, `port http`, `net 10/8`).
struct IdValue {
    enum class Kind : std::uint8_t {
        Name,      ///< an identifier resolved through the system databases (host, service, protocol)
        Number,    ///< a bare number (port, protocol, or an IPv4 network written as one number)
        Ipv4,      ///< a dotted IPv4 address, 1 to 4 parts (`parts`)
        Ipv4Cidr,  ///< a.b.c.d/len
        Ipv4Mask,  ///< a.b.c.d mask m.m.m.m
        Ipv6,      ///< an IPv6 address, with prefix length 128 unless written with /len
        Mac,       ///< a 48-bit Ethernet address
    };
    Kind kind = Kind::Name;
    std::string text;                 ///< the token(s) as written
    std::uint32_t number = 0;         ///< Number; Ipv4*: the address (host order); Ipv4Mask: see mask
    std::uint32_t mask = 0;           ///< Ipv4Mask / Ipv4Cidr: the network mask (host order)
    std::uint8_t parts = 4;           ///< Ipv4: how many dotted parts were written
    std::array<std::uint8_t, 16> bytes{};  ///< Ipv6: address; Mac: the first 6 bytes
    std::uint32_t prefix = 128;       ///< Ipv6 prefix length, Ipv4Cidr length
};

/// Nodes of the boolean expression.
struct Node {
    enum class Kind : std::uint8_t {
        And, Or, Not,
        Id,         ///< qual + value: host, net, port, portrange, proto, protochain
        ProtoName,  ///< a bare protocol keyword (`tcp`, `ip6`, `arp`, `link` ...)
        Relation,   ///< arth relop arth
        Broadcast,  ///< [proto] broadcast
        Multicast,  ///< [proto] multicast
        Less,       ///< less N
        Greater,    ///< greater N
        Byte,       ///< byte N op M
        Inbound, Outbound,
        Ifindex,    ///< ifindex N
        Vlan, Mpls, Pppoes, Geneve, Vxlan,  ///< optional number
        Pppoed,
        Llc,        ///< llc [i|s|u|subtype name]
    };
    Kind kind = Kind::And;
    std::uint32_t col = 0;  ///< 1-based column of the primitive's first token
    std::unique_ptr<Node> lhs, rhs;  ///< And/Or: both; Not: lhs
    Qual qual;                       ///< Id; ProtoName/Broadcast/Multicast: qual.proto
    IdValue value;                   ///< Id
    RelOp rel = RelOp::Eq;           ///< Relation
    std::unique_ptr<Arith> a, b;     ///< Relation operands
    std::optional<std::uint32_t> number;  ///< Less, Greater, Ifindex, Byte offset, Vlan/Mpls/... argument
    char byte_op = '=';              ///< Byte: one of & | < > =
    std::uint32_t byte_value = 0;    ///< Byte
    std::string llc_kind;            ///< Llc: "", "i", "s", "u" or a subtype name
};

/// A parsed expression; `root` is null for the empty expression (which matches every packet).
struct Expr {
    std::unique_ptr<Node> root;
};

/// The keyword of a protocol, as written in expressions ("ip6", "icmp6", "link").
[[nodiscard]] const char* proto_name(Proto p);

}  // namespace sockfilter::filter
