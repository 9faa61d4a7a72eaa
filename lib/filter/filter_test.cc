// SPDX-License-Identifier: MIT
// The lexer, the parser (grammar, precedence, qualifier carry-over, errors and refusals) and the
// code generator on hand-built frames run in the interpreter.
#include <gtest/gtest.h>

#include "filter/ir.h"
#include "filter/lexer.h"
#include "filter/parser.h"
#include "filter/test_util.h"

namespace sockfilter::filter {
namespace {

using testing::run_filter;
using Bytes = std::vector<std::uint8_t>;

/// A compact rendering of the tree: (and a b), (or a b), (not a), host/port primitives as
/// "proto.dir.addr=value".
std::string show(const Node& n) {
    switch (n.kind) {
        case Node::Kind::And: return "(and " + show(*n.lhs) + " " + show(*n.rhs) + ")";
        case Node::Kind::Or: return "(or " + show(*n.lhs) + " " + show(*n.rhs) + ")";
        case Node::Kind::Not: return "(not " + show(*n.lhs) + ")";
        case Node::Kind::Id: {
            static const char* dirs[] = {"", "src", "dst", "src|dst", "src&dst"};
            static const char* addrs[] = {"", "host", "net", "port", "portrange", "proto", "protochain"};
            return fmt::format("{}.{}.{}={}", proto_name(n.qual.proto), dirs[static_cast<int>(n.qual.dir)],
                               addrs[static_cast<int>(n.qual.addr)], n.value.text);
        }
        case Node::Kind::ProtoName: return proto_name(n.qual.proto);
        case Node::Kind::Relation: return "rel";
        case Node::Kind::Vlan: return n.number ? fmt::format("vlan{}", *n.number) : "vlan";
        default: return "other";
    }
}

std::string tree(const std::string& text) {
    auto e = parse(text);
    if (!e) {
        return "error: " + e.error().render();
    }
    return e->root ? show(*e->root) : "empty";
}

TEST(Lexer, LongestReadingWins) {
    auto t = tokenize("host 10.0.0.1 and ether host ab:cd:ef:0:0:1 or ip6 host ::1 port ftp-data 0x1F tcp[13:1]");
    ASSERT_TRUE(t.has_value()) << t.error().render();
    std::vector<Tok> kinds;
    for (const auto& tok : *t) {
        kinds.push_back(tok.kind);
    }
    EXPECT_EQ(kinds, (std::vector<Tok>{Tok::Host, Tok::Hid, Tok::And, Tok::Pname, Tok::Host, Tok::Eid, Tok::Or,
                                       Tok::Pname, Tok::Host, Tok::Hid6, Tok::Port, Tok::Id, Tok::Num, Tok::Pname,
                                       Tok::LBracket, Tok::Num, Tok::Colon, Tok::Num, Tok::RBracket, Tok::End}));
}

TEST(Lexer, BadCharacterHasItsColumn) {
    auto t = tokenize("tcp # 1");
    ASSERT_FALSE(t.has_value());
    EXPECT_EQ(t.error().render(), "expression:1:5: unexpected character '#'");
}

TEST(Parser, AndOrAreEqualAndLeftAssociative) {
    EXPECT_EQ(tree("tcp or udp and icmp"), "(and (or tcp udp) icmp)");
    EXPECT_EQ(tree("tcp and udp or icmp"), "(or (and tcp udp) icmp)");
    EXPECT_EQ(tree("tcp or (udp and icmp)"), "(or tcp (and udp icmp))");
}

TEST(Parser, NotBindsTighter) {
    EXPECT_EQ(tree("not tcp and udp"), "(and (not tcp) udp)");
    EXPECT_EQ(tree("! tcp or not not udp"), "(or (not tcp) (not (not udp)))");
}

TEST(Parser, QualifiersCarryOver) {
    EXPECT_EQ(tree("host a and b"), "(and ..host=a ..host=b)");
    EXPECT_EQ(tree("tcp dst port 80 or 443"), "(or tcp.dst.port=80 tcp.dst.port=443)");
    EXPECT_EQ(tree("src host a and not b"), "(and .src.host=a (not .src.host=b))");
    EXPECT_EQ(tree("host a and (b or c)"), "(and ..host=a (or ..host=b ..host=c))");
    EXPECT_EQ(tree("port 1 and (tcp) and 2"), "(and (and ..port=1 tcp) ..port=2)");
    EXPECT_EQ(tree("ether src or dst host x"), "link.src|dst.host=x");
    EXPECT_EQ(tree("src and dst host x"), ".src&dst.host=x");
}

TEST(Parser, EmptyAndRelations) {
    EXPECT_EQ(tree(""), "empty");
    EXPECT_EQ(tree("   "), "empty");
    EXPECT_EQ(tree("tcp[13] & 2 != 0 and ip[0] + 1 > len - 2"), "(and rel rel)");
    EXPECT_EQ(tree("(tcp[0] + 1) * 2 = 4"), "rel");
    EXPECT_EQ(tree("vlan 100 and vlan"), "(and vlan100 vlan)");
}

TEST(Parser, ErrorsSayWhereAndWhatWasExpected) {
    EXPECT_EQ(tree("tcp and"), "error: expression:1:8: expected a primitive (a qualifier, a protocol, 'not', '(' or "
                               "a relation), got end of expression");
    EXPECT_EQ(tree("host"), "error: expression:1:5: expected a host, network, port or protocol value, got end of "
                            "expression");
    EXPECT_EQ(tree("tcp and 80"), "error: expression:1:9: expected a qualifier before this value (the term before "
                                  "'and'/'or' has none to carry over), got '80'");
    EXPECT_EQ(tree("(tcp"), "error: expression:1:5: expected ')', got end of expression");
    EXPECT_EQ(tree("tcp tcp"), "error: expression:1:5: expected 'and', 'or' or end of expression, got 'tcp'");
    EXPECT_EQ(tree("port 10.0.0.1"), "error: expression:1:6: 'port' modifier applied to IP address");
    EXPECT_EQ(tree("tcp[0:3] = 1"), "error: expression:1:7: data size must be 1, 2, or 4, got 3");
    EXPECT_EQ(tree("net 10.0.0.0/33"), "error: expression:1:14: mask length must be <= 32, got 33");
}

TEST(Parser, RefusedFamiliesAreNamed) {
    EXPECT_EQ(tree("decnet src 1.1"), "error: expression:1:1: 'decnet' belongs to DECnet, which sockfilter does not "
                                      "compile (docs/FILTER.md lists the refused families)");
    EXPECT_EQ(tree("tcp or atalk"), "error: expression:1:8: 'atalk' belongs to AppleTalk, which sockfilter does not "
                                    "compile (docs/FILTER.md lists the refused families)");
    for (const char* e : {"ipx", "isis", "l1", "lat", "mopdl", "sca", "netbeui", "gateway foo", "ifname eth0",
                          "vpi 1", "fisu", "type mgt", "iso", "clnp", "esis", "moprc", "aarp"}) {
        auto r = parse(e);
        ASSERT_FALSE(r.has_value()) << e;
        EXPECT_EQ(r.error().code, Errc::NotSupported) << e;
        EXPECT_NE(r.error().message.find("which sockfilter does not compile"), std::string::npos) << e;
    }
    auto arc = parse("host $1");
    ASSERT_FALSE(arc.has_value());
    EXPECT_NE(arc.error().message.find("ARCnet"), std::string::npos);
}

TEST(Ir, LinearizerThreadsJumpsAndDropsDeadCode) {
    Ir ir;
    const Label a = ir.label(), b = ir.label();
    ir.go(a);                                               // jumps to the next: dropped
    ir.bind(a);
    ir.jump(isa::Op::Jeq32Imm, b, 0, 1);
    ir.emit(isa::encode_op(isa::Op::Exit));
    ir.emit(isa::encode_op(isa::Op::Mov32Imm, 0, 0, 0, 9));  // unreachable: dropped
    ir.bind(b);
    ir.emit(isa::encode_op(isa::Op::Exit));
    auto out = ir.linearize();
    ASSERT_TRUE(out.has_value());
    ASSERT_EQ(out->size(), 3u);
    EXPECT_EQ((*out)[0].off, 1);
}

// ---- frames ---------------------------------------------------------------------------------

Bytes ether(std::uint16_t type, Bytes payload, Bytes dst = {2, 0, 0, 0, 0, 2}, Bytes src = {2, 0, 0, 0, 0, 1}) {
    Bytes f = dst;
    f.insert(f.end(), src.begin(), src.end());
    f.push_back(static_cast<std::uint8_t>(type >> 8));
    f.push_back(static_cast<std::uint8_t>(type));
    f.insert(f.end(), payload.begin(), payload.end());
    return f;
}

Bytes ipv4(std::uint8_t proto, Bytes payload, Bytes src = {198, 18, 0, 1}, Bytes dst = {198, 18, 0, 2},
           std::uint16_t frag = 0, Bytes options = {}) {
    const std::size_t hl = 20 + options.size();
    const std::size_t total = hl + payload.size();
    Bytes h = {static_cast<std::uint8_t>(0x40 | hl / 4), 0, static_cast<std::uint8_t>(total >> 8),
               static_cast<std::uint8_t>(total), 0, 1, static_cast<std::uint8_t>(frag >> 8),
               static_cast<std::uint8_t>(frag), 64, proto, 0, 0};
    h.insert(h.end(), src.begin(), src.end());
    h.insert(h.end(), dst.begin(), dst.end());
    h.insert(h.end(), options.begin(), options.end());
    h.insert(h.end(), payload.begin(), payload.end());
    return h;
}

Bytes ipv6(std::uint8_t nh, Bytes payload) {
    Bytes h = {0x60, 0, 0, 0, static_cast<std::uint8_t>(payload.size() >> 8),
               static_cast<std::uint8_t>(payload.size()), nh, 64};
    Bytes src = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    Bytes dst = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    h.insert(h.end(), src.begin(), src.end());
    h.insert(h.end(), dst.begin(), dst.end());
    h.insert(h.end(), payload.begin(), payload.end());
    return h;
}

Bytes tcp(std::uint16_t sport, std::uint16_t dport, std::uint8_t flags = 0x02) {
    return {static_cast<std::uint8_t>(sport >> 8), static_cast<std::uint8_t>(sport),
            static_cast<std::uint8_t>(dport >> 8), static_cast<std::uint8_t>(dport), 0, 0, 0, 1, 0, 0, 0, 0,
            0x50, flags, 0x20, 0, 0, 0, 0, 0};
}

Bytes udp(std::uint16_t sport, std::uint16_t dport) {
    return {static_cast<std::uint8_t>(sport >> 8), static_cast<std::uint8_t>(sport),
            static_cast<std::uint8_t>(dport >> 8), static_cast<std::uint8_t>(dport), 0, 8, 0, 0};
}

/// An IPv6 extension header of 8 bytes (hop-by-hop, routing, destination options) before `nh`.
Bytes ext8(std::uint8_t nh, Bytes rest) {
    Bytes h = {nh, 0, 0, 0, 0, 0, 0, 0};
    h.insert(h.end(), rest.begin(), rest.end());
    return h;
}

std::uint64_t verdict(const std::string& expr, const Bytes& frame, int linktype = 1,
                      runtime::SocketKind kind = runtime::SocketKind::Packet) {
    Options o;
    o.linktype = linktype;
    o.socket = kind == runtime::SocketKind::PacketDgram ? Socket::PacketDgram : Socket::Packet;
    auto prog = compile(expr, o);
    if (!prog) {
        ADD_FAILURE() << expr << ": " << prog.error().render();
        return 99;
    }
    auto v = run_filter(*prog, frame, linktype, kind);
    EXPECT_TRUE(v.ok) << expr << ": " << v.error;
    return v.r0;
}

constexpr std::uint64_t kSnap = 262144;

TEST(Codegen, HostNetPortOnIpv4) {
    const Bytes f = ether(0x0800, ipv4(6, tcp(1234, 80)));
    EXPECT_EQ(verdict("", f), kSnap);
    EXPECT_EQ(verdict("tcp port 80", f), kSnap);
    EXPECT_EQ(verdict("udp port 80", f), 0u);
    EXPECT_EQ(verdict("src port 1234 and dst port 80", f), kSnap);
    EXPECT_EQ(verdict("src port 80", f), 0u);
    EXPECT_EQ(verdict("portrange 70-90", f), kSnap);
    EXPECT_EQ(verdict("tcp portrange 81-90", f), 0u);
    EXPECT_EQ(verdict("host 198.18.0.1", f), kSnap);
    EXPECT_EQ(verdict("dst host 198.18.0.1", f), 0u);
    EXPECT_EQ(verdict("src and dst net 198.18.0.0/16", f), kSnap);
    EXPECT_EQ(verdict("net 198.19", f), 0u);
    EXPECT_EQ(verdict("net 198.18.0.0 mask 255.255.255.0", f), kSnap);
    EXPECT_EQ(verdict("ip proto 6 and not ip6", f), kSnap);
    EXPECT_EQ(verdict("ip proto \\udp", f), 0u);
    EXPECT_EQ(verdict("tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack = 0", f), kSnap);
    EXPECT_EQ(verdict("icmp[icmptype] = icmp-echo", f), 0u);
}

TEST(Codegen, ArithmeticAndAccessors) {
    const Bytes f = ether(0x0800, ipv4(6, tcp(1234, 80, 0x12)));
    EXPECT_EQ(verdict("tcp[13] & 2 != 0", f), kSnap);
    EXPECT_EQ(verdict("tcp[13] = 0x12 and tcp[2:2] = 80", f), kSnap);
    EXPECT_EQ(verdict("ip[0] & 0xf = 5 and ip[2:2] - 40 = 0", f), kSnap);
    EXPECT_EQ(verdict("ether[12:2] = 0x800", f), kSnap);
    EXPECT_EQ(verdict("len = 54 and len >= 54 and greater 54 and less 54", f), kSnap);
    EXPECT_EQ(verdict("(tcp[2:2] * 3 + 1) / 7 % 5 = 4", f), kSnap);  // (241/7)%5 = 34%5
    EXPECT_EQ(verdict("-ip[9] = 0xfffffffa", f), kSnap);
    EXPECT_EQ(verdict("ip[9] << 4 | 1 = 0x61 and ip[9] >> 1 ^ 2 = 1", f), kSnap);
    EXPECT_EQ(verdict("tcp[100] = 1 or tcp", f), 0u);  // a load past the end rejects the packet
    EXPECT_EQ(verdict("ip[9] / (ip[9] - 6) = 1 or tcp", f), 0u);  // runtime division by zero rejects
    EXPECT_EQ(verdict("udp[0] = 1", f), 0u);
}

TEST(Codegen, Ipv4OptionsAndFragments) {
    const Bytes opts = {1, 1, 1, 0};  // NOP NOP NOP EOL
    const Bytes f = ether(0x0800, ipv4(17, udp(53, 5353), {198, 18, 0, 1}, {198, 18, 0, 2}, 0, opts));
    EXPECT_EQ(verdict("udp dst port 5353 and udp[0:2] = 53", f), kSnap);
    const Bytes frag = ether(0x0800, ipv4(17, udp(53, 5353), {198, 18, 0, 1}, {198, 18, 0, 2}, 0x0010));
    EXPECT_EQ(verdict("udp", frag), kSnap);
    EXPECT_EQ(verdict("udp port 53", frag), 0u);
}

TEST(Codegen, Ipv6ExtensionHeadersAreWalked) {
    const Bytes plain = ether(0x86dd, ipv6(6, tcp(1, 22)));
    const Bytes ext = ether(0x86dd, ipv6(0, ext8(60, ext8(43, ext8(6, tcp(1, 22))))));
    for (const Bytes& f : {plain, ext}) {
        EXPECT_EQ(verdict("ip6 and tcp port 22", f), kSnap);
        EXPECT_EQ(verdict("tcp[2:2] = 22", f), kSnap);
        EXPECT_EQ(verdict("ip6 proto 6", f), kSnap);
        EXPECT_EQ(verdict("ip6 protochain 6", f), kSnap);
        EXPECT_EQ(verdict("udp or ip", f), 0u);
        EXPECT_EQ(verdict("host 2001:2::1 and dst net 2001:2::/32", f), kSnap);
        EXPECT_EQ(verdict("ip6 host 2001:2::3", f), 0u);
    }
    EXPECT_EQ(verdict("ip6 protochain 60", ext), kSnap);
    EXPECT_EQ(verdict("ip6 protochain 60", plain), 0u);
    // Nine extension headers: more than the walk follows.
    Bytes deep = tcp(1, 22);
    for (int i = 0; i < 9; ++i) {
        deep = ext8(i == 0 ? 6 : 60, deep);
    }
    EXPECT_EQ(verdict("tcp", ether(0x86dd, ipv6(60, deep))), 0u);
}

TEST(Codegen, VlanTagsOnAPacketSocket) {
    Bytes tagged = ether(0x8100, {0x00, 0x64, 0x08, 0x00});
    const Bytes ip = ipv4(6, tcp(1, 80));
    tagged.insert(tagged.end(), ip.begin(), ip.end());
    EXPECT_EQ(verdict("vlan 100 and tcp port 80", tagged), kSnap);
    EXPECT_EQ(verdict("vlan 101", tagged), 0u);
    EXPECT_EQ(verdict("tcp port 80", tagged), 0u);  // the untagged branch needs an untagged frame
    EXPECT_EQ(verdict("(vlan and tcp) or udp", tagged), kSnap);
    EXPECT_EQ(verdict("vlan and vlan", tagged), 0u);
    const Bytes untagged = ether(0x0800, ipv4(17, udp(1, 2)));
    EXPECT_EQ(verdict("(vlan and tcp) or udp", untagged), kSnap);
    // QinQ: the outer tag is metadata, the inner one stays in the bytes.
    Bytes qinq = ether(0x88a8, {0x00, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x08, 0x00});
    qinq.insert(qinq.end(), ip.begin(), ip.end());
    EXPECT_EQ(verdict("vlan 10 and vlan 20 and tcp dst port 80", qinq), kSnap);
    EXPECT_EQ(verdict("vlan 20", qinq), 0u);
}

TEST(Codegen, MplsAndPppoe) {
    const Bytes ip = ipv4(17, udp(1, 53));
    Bytes mpls = ether(0x8847, {0x00, 0x06, 0x40, 0x40, 0x00, 0x07, 0x51, 0x40});  // labels 100, 117 (BoS)
    mpls.insert(mpls.end(), ip.begin(), ip.end());
    EXPECT_EQ(verdict("mpls 100 and mpls 117 and udp port 53", mpls), kSnap);
    EXPECT_EQ(verdict("mpls 100 and ip", mpls), 0u);  // 100 is not the bottom label
    EXPECT_EQ(verdict("mpls and mpls and ip", mpls), kSnap);
    Bytes pppoe = ether(0x8864, {0x11, 0x00, 0x12, 0x34, 0x00, 0x20, 0x00, 0x21});
    pppoe.insert(pppoe.end(), ip.begin(), ip.end());
    EXPECT_EQ(verdict("pppoes 0x1234 and udp dst port 53", pppoe), kSnap);
    EXPECT_EQ(verdict("pppoes 0x1235", pppoe), 0u);
    EXPECT_EQ(verdict("pppoed", pppoe), 0u);
}

TEST(Codegen, EtherAndArp) {
    Bytes arp_payload = {0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 198, 18, 0, 1, 0, 0, 0, 0, 0, 0, 198, 18, 0, 9};
    const Bytes f = ether(0x0806, arp_payload, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
    EXPECT_EQ(verdict("arp and broadcast and ether multicast", f), kSnap);
    EXPECT_EQ(verdict("host 198.18.0.9", f), kSnap);
    EXPECT_EQ(verdict("ip host 198.18.0.9", f), 0u);
    EXPECT_EQ(verdict("ether src 02:00:00:00:00:01 and ether proto \\arp", f), kSnap);
    EXPECT_EQ(verdict("ether dst 02:00:00:00:00:01", f), 0u);
    EXPECT_EQ(verdict("rarp or ip or ip6", f), 0u);
}

TEST(Codegen, OtherLinkTypesAndDgram) {
    const Bytes ip = ipv4(6, tcp(1, 80));
    EXPECT_EQ(verdict("ip and tcp port 80", ip, runtime::dlt::kRaw), kSnap);
    EXPECT_EQ(verdict("ip6", ip, runtime::dlt::kRaw), 0u);
    EXPECT_EQ(verdict("tcp port 80 and not ip6", ip, runtime::dlt::kIpv4), kSnap);
    Bytes null = {2, 0, 0, 0};
    null.insert(null.end(), ip.begin(), ip.end());
    EXPECT_EQ(verdict("ip and tcp", null, runtime::dlt::kNull, runtime::SocketKind::PacketDgram), kSnap);
    Bytes loop = {0, 0, 0, 2};
    loop.insert(loop.end(), ip.begin(), ip.end());
    EXPECT_EQ(verdict("ip and tcp", loop, runtime::dlt::kLoop, runtime::SocketKind::PacketDgram), kSnap);
    EXPECT_FALSE(compile("ip", Options{runtime::dlt::kLoop, Socket::Packet, 100}).has_value());
    const Bytes e = ether(0x0800, ip);
    EXPECT_EQ(verdict("ip and tcp dst port 80 and ip[9] = 6", e, 1, runtime::SocketKind::PacketDgram), kSnap);
    EXPECT_EQ(verdict("arp", e, 1, runtime::SocketKind::PacketDgram), 0u);
}

TEST(Codegen, ErrorsNameTheProblem) {
    Options o;
    auto r = compile("ip broadcast", o);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::NotSupported);
    auto d = compile("port 70000", o);
    ASSERT_FALSE(d.has_value());
    EXPECT_EQ(d.error().render(), "expression:1:1: illegal port number 70000 > 65535");
    auto z = compile("ip[0] / 0 = 1", o);
    ASSERT_FALSE(z.has_value());
    EXPECT_EQ(z.error().render(), "expression:1:9: division by zero");
    o.socket = Socket::PacketDgram;
    auto l = compile("ether[0] = 1", o);
    ASSERT_FALSE(l.has_value());
    EXPECT_EQ(l.error().message, "a packet-dgram socket sees no link-layer header");
    EXPECT_FALSE(parse_linktype("IEEE802_11").has_value());
    EXPECT_EQ(*parse_linktype("dlt_linux_sll2"), runtime::dlt::kLinuxSll2);
}

}  // namespace
}  // namespace sockfilter::filter
