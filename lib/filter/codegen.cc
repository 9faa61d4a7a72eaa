// SPDX-License-Identifier: MIT
// Code generation: syntax tree → block IR → eBPF, straight (no classic BPF in between).
//
// Conditions compile to control flow: cond(node, layer, t, f) jumps to t or f. `layer` says where
// the headers are at this point of the expression; `vlan`, `mpls` and `pppoes` return a shifted
// layer that only the right operand of their own `and` sees (docs/SEMANTICS.md, "Filter").
//
// Registers: r6 = ctx (LD_ABS/LD_IND need it there), r7 = loop counter of header walks, r8 = the
// transport header's offset, r9 = the protocol found by a walk, and for LD_IND's index; r0-r5 are
// clobbered by every packet load. The stack holds arithmetic temporaries and transport offsets.
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "filter/compile.h"
#include "filter/ir.h"
#include "filter/lexer.h"
#include "filter/names.h"
#include "filter/parser.h"
#include "runtime/packet.h"
#include "support/assert.h"

namespace sockfilter::filter {
namespace {

using isa::Op;

constexpr std::uint8_t R0 = 0, R1 = 1, R6 = 6, R7 = 7, R8 = 8, R9 = 9, R10 = 10;

// struct __sk_buff offsets (include/uapi/linux/bpf.h).
constexpr std::int16_t kCtxLen = 0;
constexpr std::int16_t kCtxPktType = 4;
constexpr std::int16_t kCtxProtocol = 16;
constexpr std::int16_t kCtxVlanPresent = 20;
constexpr std::int16_t kCtxVlanTci = 24;
constexpr std::int16_t kCtxIfindex = 40;

constexpr std::uint32_t kPacketOutgoing = 4;  // PACKET_OUTGOING
constexpr std::uint32_t kEtherMtu = 1500;
constexpr std::uint32_t kEthIp = 0x0800, kEthIp6 = 0x86dd, kEthArp = 0x0806, kEthRarp = 0x8035;
constexpr std::uint32_t kEthMpls = 0x8847, kEthPppoeD = 0x8863, kEthPppoeS = 0x8864;
constexpr std::uint32_t kSllP8022 = 4;  // LINUX_SLL_P_802_2
constexpr int kMaxExtHeaders = 8;       // extension headers a walk passes before giving up

/// How the network-layer protocol is found at this point of the expression.
enum class LinkKind : std::uint8_t {
    Ether,  ///< a 16-bit Ethernet type / 802.3 length at proto_off
    Ppp,    ///< a 16-bit PPP protocol at proto_off (PPPoE session payload)
    Raw,    ///< no link header: the IP version nibble says
    V4,     ///< always IPv4
    V6,     ///< always IPv6
    Dgram,  ///< skb->protocol (packet-dgram sockets)
    Mpls,   ///< after an MPLS label: the bottom-of-stack bit and the version nibble say
};

/// Where the headers are at one point of the expression.
struct Layer {
    LinkKind kind = LinkKind::Ether;
    std::int32_t proto_off = 12;
    std::int32_t link = 0;     ///< start of the link header; -1 when the socket has none
    std::int32_t net = 14;     ///< start of the network header
    bool untagged = false;     ///< the outer VLAN tag is in the metadata: require vlan_present == 0
    bool meta_vlan = false;    ///< the next `vlan` reads the metadata (kernel-untagged outer tag)
    int vlans = 0;
    int labels = 0;

    friend bool operator==(const Layer&, const Layer&) = default;
};

struct CompileError {
    Error error;
};

[[noreturn]] void error_at(std::uint32_t col, Errc code, std::string message) {
    throw CompileError{Error{code, std::move(message), SourcePos{"expression", 1, col}, {}, 0}};
}

std::uint32_t v4_proto(Proto p) {
    switch (p) {
        case Proto::Tcp: return 6;
        case Proto::Udp: return 17;
        case Proto::Sctp: return 132;
        case Proto::Icmp: return 1;
        case Proto::Igmp: return 2;
        case Proto::Igrp: return 9;
        case Proto::Pim: return 103;
        case Proto::Vrrp:
        case Proto::Carp: return 112;
        case Proto::Ah: return 51;
        case Proto::Esp: return 50;
        default: return 0;
    }
}

std::uint32_t v6_proto(Proto p) {
    switch (p) {
        case Proto::Tcp: return 6;
        case Proto::Udp: return 17;
        case Proto::Sctp: return 132;
        case Proto::Icmp6: return 58;
        case Proto::Pim: return 103;
        case Proto::Ah: return 51;
        case Proto::Esp: return 50;
        default: return 0;
    }
}

bool is_transport(Proto p) { return v4_proto(p) != 0 || v6_proto(p) != 0; }

class Gen {
public:
    explicit Gen(const Options& o) : opt_(o) {}

    Result<program::Program> run(const Expr& e) {
        try {
            return generate(e);
        } catch (CompileError& ce) {
            return tl::unexpected(std::move(ce.error));
        }
    }

private:
    Options opt_;
    Ir ir_;
    Label reject_ = 0;
    int stack_used_ = 0;

    Result<program::Program> generate(const Expr& e) {
        const Layer start = initial_layer();
        const Label match = ir_.label();
        reject_ = ir_.label();
        ins(Op::Mov64Reg, R6, R0 + 1);
        if (e.root) {
            cond(*e.root, start, match, reject_);
        }
        ir_.bind(match);
        ins(Op::Mov32Imm, R0, 0, 0, static_cast<std::int32_t>(opt_.snaplen));
        ins(Op::Exit);
        ir_.bind(reject_);
        ins(Op::Mov32Imm, R0, 0, 0, 0);
        ins(Op::Exit);
        auto slots = ir_.linearize();
        if (!slots) {
            return tl::unexpected(std::move(slots.error()));
        }
        return program::Program::from_slots("filter", std::move(*slots));
    }

    Layer initial_layer() const {
        Layer l;
        if (opt_.socket == Socket::PacketDgram || !has_socket_link_header(opt_.linktype)) {
            l.kind = LinkKind::Dgram;
            l.link = -1;
            l.net = 0;
            l.untagged = opt_.linktype == runtime::dlt::kEn10mb;
            l.meta_vlan = l.untagged;
            return l;
        }
        switch (opt_.linktype) {
            case runtime::dlt::kEn10mb:
                l = Layer{LinkKind::Ether, 12, 0, 14, true, true, 0, 0};
                break;
            case runtime::dlt::kRaw: l = Layer{LinkKind::Raw, 0, 0, 0, false, false, 0, 0}; break;
            case runtime::dlt::kIpv4: l = Layer{LinkKind::V4, 0, 0, 0, false, false, 0, 0}; break;
            case runtime::dlt::kIpv6: l = Layer{LinkKind::V6, 0, 0, 0, false, false, 0, 0}; break;
            default: SF_UNREACHABLE();
        }
        return l;
    }

    // ---- emission helpers -------------------------------------------------------------------

    void ins(Op op, std::uint8_t dst = 0, std::uint8_t src = 0, std::int16_t off = 0, std::int32_t imm = 0) {
        ir_.emit(isa::encode_op(op, dst, src, off, imm));
    }

    static Op abs_op(int size) { return size == 1 ? Op::LdAbs8 : size == 2 ? Op::LdAbs16 : Op::LdAbs32; }
    static Op ind_op(int size) { return size == 1 ? Op::LdInd8 : size == 2 ? Op::LdInd16 : Op::LdInd32; }

    /// r0 = the `size`-byte big-endian value at packet offset `off`; a load past the end ends the
    /// program with 0, as classic BPF and libpcap's bpf_filter do.
    void ld(int size, std::int64_t off, std::uint32_t col) {
        if (off < 0 || off > 0x7fffffff) {
            error_at(col, Errc::InvalidArgument, fmt::format("packet offset {} is out of range", off));
        }
        ins(abs_op(size), 0, 0, 0, static_cast<std::int32_t>(off));
    }
    void ld_ind(int size, std::uint8_t reg, std::int64_t off, std::uint32_t col) {
        if (off < -0x80000000LL || off > 0x7fffffff) {
            error_at(col, Errc::InvalidArgument, fmt::format("packet offset {} is out of range", off));
        }
        ins(ind_op(size), 0, reg, 0, static_cast<std::int32_t>(off));
    }
    void ld_ctx(std::int16_t off) { ins(Op::Ldx32, R0, R6, off); }
    /// if (w0 <op> imm) goto t; else goto f
    void test(Op op, std::uint32_t imm, Label t, Label f) {
        ir_.jump(op, t, R0, static_cast<std::int32_t>(imm));
        ir_.go(f);
    }

    int push_slot(std::uint32_t col) {
        stack_used_ += 8;
        if (stack_used_ > 512) {
            error_at(col, Errc::NotSupported, "the expression needs more than the 512 bytes of eBPF stack");
        }
        return -stack_used_;
    }
    void pop_slot() { stack_used_ -= 8; }

    // ---- the network-layer protocol -----------------------------------------------------------

    /// Jumps to t when the network-layer protocol is `type` (an Ethernet type, or an LLC SAP when
    /// <= 1500), else to f.
    void link_is(const Layer& l, std::uint32_t type, Label t, Label f) {
        if (l.untagged) {
            ld_ctx(kCtxVlanPresent);
            ir_.jump(Op::Jne32Imm, f, R0, 0);
        }
        switch (l.kind) {
            case LinkKind::Ether:
                if (type <= kEtherMtu) {
                    ld(2, l.proto_off, 0);
                    ir_.jump(Op::Jgt32Imm, f, R0, static_cast<std::int32_t>(kEtherMtu));
                    llc_sap(l.net, type, t, f);
                } else {
                    ld(2, l.proto_off, 0);
                    test(Op::Jeq32Imm, type, t, f);
                }
                return;
            case LinkKind::Dgram:
                ld_ctx(kCtxProtocol);
                {
                    // skb->protocol is big-endian: its u32 load reads the swapped value.
                    const std::uint32_t want = type <= kEtherMtu ? kSllP8022 : type;
                    const std::uint32_t v = ntohs(static_cast<std::uint16_t>(want));
                    if (type <= kEtherMtu) {
                        ir_.jump(Op::Jne32Imm, f, R0, static_cast<std::int32_t>(v));
                        llc_sap(l.net, type, t, f);
                    } else {
                        test(Op::Jeq32Imm, v, t, f);
                    }
                }
                return;
            case LinkKind::Ppp: {
                const std::uint32_t ppp = type == kEthIp ? 0x0021 : type == kEthIp6 ? 0x0057 : type == kEthMpls ? 0x0281 : 0;
                if (ppp == 0) {
                    ir_.go(f);
                    return;
                }
                ld(2, l.proto_off, 0);
                test(Op::Jeq32Imm, ppp, t, f);
                return;
            }
            case LinkKind::Raw:
            case LinkKind::Mpls: {
                const std::uint32_t version = type == kEthIp ? 4 : type == kEthIp6 ? 6 : 0;
                if (version == 0) {
                    ir_.go(f);
                    return;
                }
                if (l.kind == LinkKind::Mpls) {
                    // Only the bottom label of the stack is followed by the network header.
                    const Label bottom = ir_.label();
                    ld(1, l.net - 2, 0);
                    test(Op::Jset32Imm, 1, bottom, f);
                    ir_.bind(bottom);
                }
                ld(1, l.net, 0);
                ins(Op::Rsh32Imm, R0, 0, 0, 4);
                test(Op::Jeq32Imm, version, t, f);
                return;
            }
            case LinkKind::V4: ir_.go(type == kEthIp ? t : f); return;
            case LinkKind::V6: ir_.go(type == kEthIp6 ? t : f); return;
        }
    }

    /// The LLC DSAP (or DSAP and SSAP, for the SAPs libpcap checks both of) at `at` is `sap`.
    void llc_sap(std::int32_t at, std::uint32_t sap, Label t, Label f) {
        if (sap == 0x06 || sap == 0xfe || sap == 0xf0) {
            ld(2, at, 0);
            test(Op::Jeq32Imm, sap << 8 | sap, t, f);
        } else {
            ld(1, at, 0);
            test(Op::Jeq32Imm, sap, t, f);
        }
    }

    // ---- transport headers ------------------------------------------------------------------

    /// IPv4 (after link_is): r9 = protocol; jumps to f for a fragment other than the first when
    /// `first_fragment`; r8 = the transport header's absolute offset.
    void ipv4_transport(const Layer& l, bool first_fragment, Label f) {
        ld(1, l.net + 9, 0);
        ins(Op::Mov32Reg, R9, R0);
        if (first_fragment) {
            ld(2, l.net + 6, 0);
            ir_.jump(Op::Jset32Imm, f, R0, 0x1fff);
        }
        ld(1, l.net, 0);
        ins(Op::And32Imm, R0, 0, 0, 0xf);
        ins(Op::Lsh32Imm, R0, 0, 0, 2);
        ins(Op::Mov64Reg, R8, R0);
        ins(Op::Add64Imm, R8, 0, 0, l.net);
    }

    /// Walks the IPv6 extension headers (after link_is): hop-by-hop, routing, destination options,
    /// AH and fragment, at most kMaxExtHeaders. Leaves r9 = the upper-layer protocol and r8 = its
    /// offset. A fragment other than the first has no upper-layer header: it goes to f when
    /// `first_fragment`, else leaves r9 = its protocol. With `chain`, any header whose type is
    /// *chain (libpcap's protochain) jumps to t. More headers than the bound go to f.
    void ipv6_walk(const Layer& l, bool first_fragment, std::optional<std::uint32_t> chain, Label t, Label f) {
        ld(1, l.net + 6, 0);
        ins(Op::Mov32Reg, R9, R0);
        ins(Op::Mov64Imm, R8, 0, 0, l.net + 40);
        walk_loop({0, 43, 60}, first_fragment, chain, t, f);
    }

    /// IPv4 protochain: r9 = protocol, r8 = payload offset, then only AH is walked.
    void ipv4_chain(const Layer& l, std::uint32_t target, Label t, Label f) {
        ipv4_transport(l, false, f);
        walk_loop({}, true, target, t, f);
    }

    void walk_loop(std::vector<std::uint32_t> ext, bool first_fragment, std::optional<std::uint32_t> chain,
                   Label t, Label f) {
        const Label loop = ir_.label(), generic = ir_.label(), ah = ir_.label(), frag = ir_.label();
        const Label next = ir_.label(), done = ir_.label(), nonfirst = ir_.label();
        const bool v6 = !ext.empty();
        ins(Op::Mov32Imm, R7, 0, 0, 0);
        ir_.bind(loop);
        if (chain) {
            ir_.jump(Op::Jeq32Imm, t, R9, static_cast<std::int32_t>(*chain));
        }
        for (std::uint32_t e : ext) {
            ir_.jump(Op::Jeq32Imm, generic, R9, static_cast<std::int32_t>(e));
        }
        ir_.jump(Op::Jeq32Imm, ah, R9, 51);
        if (v6) {
            ir_.jump(Op::Jeq32Imm, frag, R9, 44);
        }
        ir_.go(done);
        if (v6) {
            ir_.bind(generic);
            ld_ind(1, R8, 0, 0);
            ins(Op::Mov32Reg, R9, R0);
            ld_ind(1, R8, 1, 0);
            ins(Op::Add32Imm, R0, 0, 0, 1);
            ins(Op::Lsh32Imm, R0, 0, 0, 3);
            ins(Op::Add64Reg, R8, R0);
            ir_.go(next);
        }
        ir_.bind(ah);
        ld_ind(1, R8, 0, 0);
        ins(Op::Mov32Reg, R9, R0);
        ld_ind(1, R8, 1, 0);
        ins(Op::Add32Imm, R0, 0, 0, 2);
        ins(Op::Lsh32Imm, R0, 0, 0, 2);
        ins(Op::Add64Reg, R8, R0);
        ir_.go(next);
        if (v6) {
            ir_.bind(frag);
            ld_ind(2, R8, 2, 0);
            ir_.jump(Op::Jset32Imm, nonfirst, R0, 0xfff8);
            ld_ind(1, R8, 0, 0);
            ins(Op::Mov32Reg, R9, R0);
            ins(Op::Add64Imm, R8, 0, 0, 8);
            ir_.go(next);
            ir_.bind(nonfirst);
            if (first_fragment && !chain) {
                ir_.go(f);
            } else {
                ld_ind(1, R8, 0, 0);
                ins(Op::Mov32Reg, R9, R0);
                if (chain) {
                    ir_.jump(Op::Jeq32Imm, t, R9, static_cast<std::int32_t>(*chain));
                    ir_.go(f);
                } else {
                    ir_.go(done);
                }
            }
        }
        ir_.bind(next);
        ins(Op::Add32Imm, R7, 0, 0, 1);
        ir_.jump(Op::Jlt32Imm, loop, R7, kMaxExtHeaders);
        ir_.go(f);
        ir_.bind(done);
        if (chain) {
            ir_.go(f);
        }
    }

    /// Jumps to t when the packet is IPv4 or IPv6 carrying one of `protos` (v4 and v6 numbers),
    /// with r8 at its header and r9 = the protocol; `first_fragment` as in ipv6_walk. The code
    /// placed after the call runs for both families, so it must only use r8/r9.
    void transport(const Layer& l, const std::vector<std::uint32_t>& v4, const std::vector<std::uint32_t>& v6,
                   bool first_fragment, Label t, Label f) {
        const Label try6 = ir_.label();
        if (!v4.empty()) {
            const Label is4 = ir_.label();
            link_is(l, kEthIp, is4, try6);
            ir_.bind(is4);
            ld(1, l.net + 9, 0);
            const Label ok = ir_.label();
            for (std::uint32_t p : v4) {
                ir_.jump(Op::Jeq32Imm, ok, R0, static_cast<std::int32_t>(p));
            }
            ir_.go(try6);
            ir_.bind(ok);
            ipv4_transport(l, first_fragment, try6);
            ir_.go(t);
        }
        ir_.bind(try6);
        if (!v6.empty()) {
            const Label is6 = ir_.label();
            link_is(l, kEthIp6, is6, f);
            ir_.bind(is6);
            ipv6_walk(l, first_fragment, std::nullopt, t, f);
            for (std::uint32_t p : v6) {
                ir_.jump(Op::Jeq32Imm, t, R9, static_cast<std::int32_t>(p));
            }
        }
        ir_.go(f);
    }

    // ---- conditions -------------------------------------------------------------------------

    Layer cond(const Node& n, const Layer& l, Label t, Label f) {
        switch (n.kind) {
            case Node::Kind::And: {
                const Label mid = ir_.label();
                const Layer after = cond(*n.lhs, l, mid, f);
                ir_.bind(mid);
                return cond(*n.rhs, after, t, f);
            }
            case Node::Kind::Or: {
                const Label mid = ir_.label();
                const Layer a = cond(*n.lhs, l, t, mid);
                ir_.bind(mid);
                const Layer b = cond(*n.rhs, l, t, f);
                return a == b ? a : l;
            }
            case Node::Kind::Not: cond(*n.lhs, l, f, t); return l;
            case Node::Kind::ProtoName: proto_test(n, l, t, f); return l;
            case Node::Kind::Id: id(n, l, t, f); return l;
            case Node::Kind::Relation: relation(n, l, t, f); return l;
            case Node::Kind::Broadcast:
            case Node::Kind::Multicast: cast(n, l, t, f); return l;
            case Node::Kind::Less:
            case Node::Kind::Greater:
                ld_ctx(kCtxLen);
                test(n.kind == Node::Kind::Less ? Op::Jle32Imm : Op::Jge32Imm, *n.number, t, f);
                return l;
            case Node::Kind::Byte: byte(n, l, t, f); return l;
            case Node::Kind::Inbound:
            case Node::Kind::Outbound: direction(n, t, f); return l;
            case Node::Kind::Ifindex:
                ld_ctx(kCtxIfindex);
                test(Op::Jeq32Imm, *n.number, t, f);
                return l;
            case Node::Kind::Vlan: return vlan(n, l, t, f);
            case Node::Kind::Mpls: return mpls(n, l, t, f);
            case Node::Kind::Pppoed: link_is(l, kEthPppoeD, t, f); return l;
            case Node::Kind::Pppoes: return pppoes(n, l, t, f);
            case Node::Kind::Llc: llc(n, l, t, f); return l;
            case Node::Kind::Geneve:
            case Node::Kind::Vxlan:
                error_at(n.col, Errc::NotSupported,
                         fmt::format("'{}' is not supported by the eBPF compiler yet (docs/FILTER.md)",
                                     n.kind == Node::Kind::Geneve ? "geneve" : "vxlan"));
        }
        SF_UNREACHABLE();
    }

    void proto_test(const Node& n, const Layer& l, Label t, Label f) {
        const Proto p = n.qual.proto;
        switch (p) {
            case Proto::Link: error_at(n.col, Errc::Parse, "'link' alone is not a test: link layer applied in wrong context");
            case Proto::Ip: link_is(l, kEthIp, t, f); return;
            case Proto::Ip6: link_is(l, kEthIp6, t, f); return;
            case Proto::Arp: link_is(l, kEthArp, t, f); return;
            case Proto::Rarp: link_is(l, kEthRarp, t, f); return;
            case Proto::Stp: link_is(l, 0x42, t, f); return;
            case Proto::Radio: error_at(n.col, Errc::NotSupported, "'radio' belongs to 802.11, which sockfilter does not compile");
            case Proto::Ah: {
                // AH is an extension header of IPv6: any header of the chain.
                const Label try6 = ir_.label(), is4 = ir_.label(), is6 = ir_.label();
                link_is(l, kEthIp, is4, try6);
                ir_.bind(is4);
                ld(1, l.net + 9, n.col);
                test(Op::Jeq32Imm, 51, t, try6);
                ir_.bind(try6);
                link_is(l, kEthIp6, is6, f);
                ir_.bind(is6);
                ipv6_walk(l, false, 51, t, f);
                return;
            }
            default: break;
        }
        std::vector<std::uint32_t> v4, v6;
        if (v4_proto(p) != 0) {
            v4.push_back(v4_proto(p));
        }
        if (v6_proto(p) != 0) {
            v6.push_back(v6_proto(p));
        }
        if (!v4.empty() && v6.empty()) {
            // An IPv4-only protocol: no transport offset needed.
            const Label is4 = ir_.label();
            link_is(l, kEthIp, is4, f);
            ir_.bind(is4);
            ld(1, l.net + 9, n.col);
            test(Op::Jeq32Imm, v4[0], t, f);
            return;
        }
        transport(l, v4, v6, false, t, f);
    }

    // host / net / port / portrange / proto / protochain
    void id(const Node& n, const Layer& l, Label t, Label f) {
        const Qual& q = n.qual;
        const IdValue& v = n.value;
        switch (q.addr) {
            case Addr::Port:
            case Addr::Portrange: port(n, l, t, f); return;
            case Addr::Proto: proto_value(n, l, t, f); return;
            case Addr::Protochain: protochain(n, l, t, f); return;
            case Addr::Default:
            case Addr::Host:
            case Addr::Net: break;
        }
        const bool net = q.addr == Addr::Net;
        switch (v.kind) {
            case IdValue::Kind::Mac:
                if (q.proto != Proto::Link || net) {
                    error_at(n.col, Errc::Parse, "Ethernet address used in non-ether expression");
                }
                ether_host(n, l, v.bytes.data(), t, f);
                return;
            case IdValue::Kind::Ipv6: host6(n, l, v.bytes, v.prefix, t, f); return;
            case IdValue::Kind::Number: {
                if (q.proto == Proto::Link) {
                    error_at(n.col, Errc::Parse, "illegal link layer address");
                }
                std::uint32_t addr = v.number, mask = 0xffffffff;
                if (net) {
                    while (addr != 0 && (addr & 0xff000000u) == 0) {
                        addr <<= 8;
                        mask <<= 8;
                    }
                }
                host4(n, l, addr, mask, t, f);
                return;
            }
            case IdValue::Kind::Ipv4: {
                if (q.proto == Proto::Link) {
                    error_at(n.col, Errc::Parse, "illegal link layer address");
                }
                const std::uint32_t shift = 32u - 8u * v.parts;
                const std::uint32_t addr = shift == 32 ? 0 : v.number << shift;
                const std::uint32_t mask = shift == 32 ? 0 : 0xffffffffu << shift;
                host4(n, l, addr, mask, t, f);
                return;
            }
            case IdValue::Kind::Ipv4Cidr:
            case IdValue::Kind::Ipv4Mask: {
                if (q.addr == Addr::Host) {
                    error_at(n.col, Errc::Parse, "Mask syntax for networks only");
                }
                const std::uint32_t shift = 32u - 8u * v.parts;
                const std::uint32_t addr = shift == 32 ? 0 : v.number << shift;
                if ((addr & ~v.mask) != 0) {
                    error_at(n.col, Errc::Parse, fmt::format("non-network bits set in \"{}\"", v.text));
                }
                host4(n, l, addr, v.mask, t, f);
                return;
            }
            case IdValue::Kind::Name: name_host(n, l, t, f); return;
        }
    }

    void name_host(const Node& n, const Layer& l, Label t, Label f) {
        const Qual& q = n.qual;
        if (!refused_family(n.value.text).empty()) {
            error_at(n.col, Errc::NotSupported,
                     fmt::format("'{}' belongs to {}, which sockfilter does not compile", n.value.text,
                                 refused_family(n.value.text)));
        }
        if (q.proto == Proto::Link) {
            auto mac = resolve_ether(n.value.text);
            if (!mac) {
                error_at(n.col, Errc::Parse, mac.error().message);
            }
            std::array<std::uint8_t, 16> b{};
            std::copy(mac->begin(), mac->end(), b.begin());
            ether_host(n, l, b.data(), t, f);
            return;
        }
        if (q.addr == Addr::Net) {
            error_at(n.col, Errc::Parse, fmt::format("unknown network '{}'", n.value.text));
        }
        auto addrs = resolve_host(n.value.text);
        if (!addrs) {
            error_at(n.col, Errc::Parse, addrs.error().message);
        }
        const bool want4 = q.proto != Proto::Ip6;
        const bool want6 = q.proto == Proto::Default || q.proto == Proto::Ip6;
        std::size_t count = 0;
        for (std::uint32_t a : addrs->v4) {
            if (want4) {
                const Label next = ir_.label();
                host4(n, l, a, 0xffffffff, t, next);
                ir_.bind(next);
                ++count;
            }
        }
        for (const auto& a : addrs->v6) {
            if (want6) {
                const Label next = ir_.label();
                host6(n, l, a, 128, t, next);
                ir_.bind(next);
                ++count;
            }
        }
        if (count == 0) {
            error_at(n.col, Errc::Parse, fmt::format("host '{}' has no {} address", n.value.text, proto_name(q.proto)));
        }
        ir_.go(f);
    }

    /// The address tests of `dir` on the words at src/dst: `test_at(off, t, f)` tests one.
    template <class TestAt>
    void directional(Dir dir, std::int64_t src, std::int64_t dst, Label t, Label f, TestAt&& test_at) {
        switch (dir) {
            case Dir::Src: test_at(src, t, f); return;
            case Dir::Dst: test_at(dst, t, f); return;
            case Dir::SrcAndDst: {
                const Label mid = ir_.label();
                test_at(src, mid, f);
                ir_.bind(mid);
                test_at(dst, t, f);
                return;
            }
            case Dir::Default:
            case Dir::SrcOrDst: {
                const Label mid = ir_.label();
                test_at(src, t, mid);
                ir_.bind(mid);
                test_at(dst, t, f);
                return;
            }
        }
    }

    void host4(const Node& n, const Layer& l, std::uint32_t addr, std::uint32_t mask, Label t, Label f) {
        struct Fam {
            std::uint32_t type;
            std::int32_t src, dst;
        };
        std::vector<Fam> fams;
        switch (n.qual.proto) {
            case Proto::Default:
                fams = {{kEthIp, 12, 16}, {kEthArp, 14, 24}, {kEthRarp, 14, 24}};
                break;
            case Proto::Ip: fams = {{kEthIp, 12, 16}}; break;
            case Proto::Arp: fams = {{kEthArp, 14, 24}}; break;
            case Proto::Rarp: fams = {{kEthRarp, 14, 24}}; break;
            default:
                error_at(n.col, Errc::Parse,
                         fmt::format("'{}' modifier applied to an IPv4 {}", proto_name(n.qual.proto),
                                     n.qual.addr == Addr::Net ? "network" : "host"));
        }
        for (std::size_t i = 0; i < fams.size(); ++i) {
            const Label next = i + 1 == fams.size() ? f : ir_.label();
            const Label is = ir_.label();
            link_is(l, fams[i].type, is, next);
            ir_.bind(is);
            directional(n.qual.dir, l.net + fams[i].src, l.net + fams[i].dst, t, next,
                        [&](std::int64_t off, Label tt, Label ff) {
                            ld(4, off, n.col);
                            if (mask != 0xffffffff) {
                                ins(Op::And32Imm, R0, 0, 0, static_cast<std::int32_t>(mask));
                            }
                            test(Op::Jeq32Imm, addr, tt, ff);
                        });
            if (next != f) {
                ir_.bind(next);
            }
        }
    }

    void host6(const Node& n, const Layer& l, const std::array<std::uint8_t, 16>& addr, std::uint32_t prefix,
               Label t, Label f) {
        if (n.qual.proto != Proto::Default && n.qual.proto != Proto::Ip6) {
            error_at(n.col, Errc::Parse,
                     fmt::format("'{}' modifier applied to an IPv6 address", proto_name(n.qual.proto)));
        }
        if (n.qual.addr == Addr::Host && prefix != 128) {
            error_at(n.col, Errc::Parse, "Mask syntax for networks only");
        }
        std::uint32_t words[4], masks[4];
        for (int i = 0; i < 4; ++i) {
            std::uint32_t w = 0;
            for (int b = 0; b < 4; ++b) {
                w = w << 8 | addr[static_cast<std::size_t>(4 * i + b)];
            }
            const int bits = std::clamp(static_cast<int>(prefix) - 32 * i, 0, 32);
            masks[i] = bits == 0 ? 0 : bits == 32 ? 0xffffffffu : 0xffffffffu << (32 - bits);
            words[i] = w;
            if ((w & ~masks[i]) != 0) {
                error_at(n.col, Errc::Parse, fmt::format("non-network bits set in \"{}\"", n.value.text));
            }
        }
        const Label is = ir_.label();
        link_is(l, kEthIp6, is, f);
        ir_.bind(is);
        directional(n.qual.dir, l.net + 8, l.net + 24, t, f, [&](std::int64_t off, Label tt, Label ff) {
            for (int i = 0; i < 4; ++i) {
                if (masks[i] == 0) {
                    continue;
                }
                ld(4, off + 4 * i, n.col);
                if (masks[i] != 0xffffffff) {
                    ins(Op::And32Imm, R0, 0, 0, static_cast<std::int32_t>(masks[i]));
                }
                ir_.jump(Op::Jne32Imm, ff, R0, static_cast<std::int32_t>(words[i]));
            }
            ir_.go(tt);
        });
    }

    /// The Ethernet source and destination fields: (src, dst) offsets, -1 where absent.
    std::pair<std::int64_t, std::int64_t> mac_fields(const Layer& l, std::uint32_t col) const {
        if (l.link < 0) {
            error_at(col, Errc::NotSupported, "a packet-dgram socket sees no link-layer header");
        }
        switch (opt_.linktype) {
            case runtime::dlt::kEn10mb: return {l.link + 6, l.link};
            default:
                error_at(col, Errc::NotSupported,
                         fmt::format("link type {} has no Ethernet addresses", linktype_name(opt_.linktype)));
        }
    }

    void ether_host(const Node& n, const Layer& l, const std::uint8_t* mac, Label t, Label f) {
        const auto [src, dst] = mac_fields(l, n.col);
        const Dir dir = n.qual.dir;
        if (dst < 0 && dir != Dir::Src) {
            error_at(n.col, Errc::NotSupported,
                     fmt::format("link type {} records only the source address: use 'ether src'",
                                 linktype_name(opt_.linktype)));
        }
        const std::uint32_t hi = static_cast<std::uint32_t>(mac[0]) << 8 | mac[1];
        const std::uint32_t lo = static_cast<std::uint32_t>(mac[2]) << 24 | static_cast<std::uint32_t>(mac[3]) << 16 |
                                 static_cast<std::uint32_t>(mac[4]) << 8 | mac[5];
        directional(dir, src, dst, t, f, [&](std::int64_t off, Label tt, Label ff) {
            ld(4, off + 2, n.col);
            ir_.jump(Op::Jne32Imm, ff, R0, static_cast<std::int32_t>(lo));
            ld(2, off, n.col);
            test(Op::Jeq32Imm, hi, tt, ff);
        });
    }

    void cast(const Node& n, const Layer& l, Label t, Label f) {
        const bool bcast = n.kind == Node::Kind::Broadcast;
        switch (n.qual.proto) {
            case Proto::Default:
            case Proto::Link: {
                const auto [src, dst] = mac_fields(l, n.col);
                if (dst < 0) {
                    error_at(n.col, Errc::NotSupported,
                             fmt::format("link type {} records no destination address", linktype_name(opt_.linktype)));
                }
                (void)src;
                if (bcast) {
                    ld(4, dst + 2, n.col);
                    ir_.jump(Op::Jne32Imm, f, R0, -1);
                    ld(2, dst, n.col);
                    test(Op::Jeq32Imm, 0xffff, t, f);
                } else {
                    ld(1, dst, n.col);
                    test(Op::Jset32Imm, 1, t, f);
                }
                return;
            }
            case Proto::Ip: {
                if (bcast) {
                    error_at(n.col, Errc::NotSupported,
                             "netmask not known, so 'ip broadcast' not supported (libpcap needs the capture "
                             "interface's netmask too)");
                }
                const Label is = ir_.label();
                link_is(l, kEthIp, is, f);
                ir_.bind(is);
                ld(1, l.net + 16, n.col);
                test(Op::Jge32Imm, 224, t, f);
                return;
            }
            case Proto::Ip6: {
                if (bcast) {
                    error_at(n.col, Errc::Parse, "IPv6 has no broadcast: 'ip6 broadcast' is not a test");
                }
                const Label is = ir_.label();
                link_is(l, kEthIp6, is, f);
                ir_.bind(is);
                ld(1, l.net + 24, n.col);
                test(Op::Jeq32Imm, 0xff, t, f);
                return;
            }
            default:
                error_at(n.col, Errc::Parse,
                         fmt::format("'{} {}' is not a test", proto_name(n.qual.proto), bcast ? "broadcast" : "multicast"));
        }
    }

    void byte(const Node& n, const Layer& l, Label t, Label f) {
        ld(1, l.net + *n.number, n.col);
        switch (n.byte_op) {
            case '=': test(Op::Jeq32Imm, n.byte_value, t, f); return;
            case '<': test(Op::Jlt32Imm, n.byte_value, t, f); return;
            case '>': test(Op::Jgt32Imm, n.byte_value, t, f); return;
            case '&': test(Op::Jset32Imm, n.byte_value, t, f); return;
            case '|':
                ins(Op::Or32Imm, R0, 0, 0, static_cast<std::int32_t>(n.byte_value));
                test(Op::Jne32Imm, 0, t, f);
                return;
            default: SF_UNREACHABLE();
        }
    }

    void direction(const Node& n, Label t, Label f) {
        const bool out = n.kind == Node::Kind::Outbound;
        const Label yes = out ? t : f, no = out ? f : t;
        ld_ctx(kCtxPktType);
        test(Op::Jeq32Imm, kPacketOutgoing, yes, no);
    }

    Layer vlan(const Node& n, const Layer& l, Label t, Label f) {
        Layer out = l;
        out.untagged = false;
        out.meta_vlan = false;
        ++out.vlans;
        if (l.meta_vlan) {
            ld_ctx(kCtxVlanPresent);
            if (!n.number) {
                test(Op::Jne32Imm, 0, t, f);
                return out;
            }
            ir_.jump(Op::Jeq32Imm, f, R0, 0);
            ld_ctx(kCtxVlanTci);
            ins(Op::And32Imm, R0, 0, 0, 0xfff);
            test(Op::Jeq32Imm, vlan_id(n), t, f);
            return out;
        }
        if (l.kind != LinkKind::Ether) {
            error_at(n.col, Errc::NotSupported,
                     l.kind == LinkKind::Dgram
                         ? std::string("a packet-dgram socket sees only the outer VLAN tag")
                         : fmt::format("'vlan' is supported on EN10MB only, not on {}", linktype_name(opt_.linktype)));
        }
        const Label tagged = ir_.label();
        ld(2, l.proto_off, n.col);
        ir_.jump(Op::Jeq32Imm, tagged, R0, 0x8100);
        ir_.jump(Op::Jeq32Imm, tagged, R0, 0x88a8);
        test(Op::Jeq32Imm, 0x9100, tagged, f);
        ir_.bind(tagged);
        if (n.number) {
            ld(2, l.proto_off + 2, n.col);
            ins(Op::And32Imm, R0, 0, 0, 0xfff);
            test(Op::Jeq32Imm, vlan_id(n), t, f);
        } else {
            ir_.go(t);
        }
        out.proto_off += 4;
        out.net += 4;
        return out;
    }

    static std::uint32_t vlan_id(const Node& n) {
        if (*n.number > 4095) {
            error_at(n.col, Errc::Parse, fmt::format("VLAN tag {} greater than maximum 4095", *n.number));
        }
        return *n.number;
    }

    Layer mpls(const Node& n, const Layer& l, Label t, Label f) {
        const Label in = ir_.label();
        if (l.labels == 0) {
            if (l.kind == LinkKind::Raw || l.kind == LinkKind::V4 || l.kind == LinkKind::V6) {
                error_at(n.col, Errc::NotSupported,
                         fmt::format("'mpls' is not supported on link type {}", linktype_name(opt_.linktype)));
            }
            link_is(l, kEthMpls, in, f);
        } else {
            // The label before must not be the bottom of the stack.
            ld(1, l.net - 2, n.col);
            test(Op::Jset32Imm, 1, f, in);
        }
        ir_.bind(in);
        if (n.number) {
            if (*n.number > 0xfffff) {
                error_at(n.col, Errc::Parse, fmt::format("MPLS label {} greater than maximum 1048575", *n.number));
            }
            ld(4, l.net, n.col);
            ins(Op::And32Imm, R0, 0, 0, static_cast<std::int32_t>(0xfffff000u));
            test(Op::Jeq32Imm, *n.number << 12, t, f);
        } else {
            ir_.go(t);
        }
        Layer out = l;
        out.kind = LinkKind::Mpls;
        out.untagged = false;
        out.meta_vlan = false;
        out.net += 4;
        ++out.labels;
        return out;
    }

    Layer pppoes(const Node& n, const Layer& l, Label t, Label f) {
        const Label in = ir_.label();
        link_is(l, kEthPppoeS, in, f);
        ir_.bind(in);
        if (n.number) {
            if (*n.number > 0xffff) {
                error_at(n.col, Errc::Parse, fmt::format("PPPoE session number {} greater than maximum 65535", *n.number));
            }
            ld(2, l.net + 2, n.col);
            test(Op::Jeq32Imm, *n.number, t, f);
        } else {
            ir_.go(t);
        }
        Layer out = l;
        out.kind = LinkKind::Ppp;
        out.untagged = false;
        out.meta_vlan = false;
        out.proto_off = l.net + 6;
        out.net = l.net + 8;
        return out;
    }

    void llc(const Node& n, const Layer& l, Label t, Label f) {
        const Label is = ir_.label();
        if (l.kind == LinkKind::Ether) {
            if (l.untagged) {
                ld_ctx(kCtxVlanPresent);
                ir_.jump(Op::Jne32Imm, f, R0, 0);
            }
            ld(2, l.proto_off, n.col);
            ir_.jump(Op::Jgt32Imm, f, R0, static_cast<std::int32_t>(kEtherMtu));
            // Novell "raw" 802.3 starts with 0xffff, not an LLC header.
            ld(2, l.net, n.col);
            test(Op::Jeq32Imm, 0xffff, f, is);
        } else if (l.kind == LinkKind::Dgram) {
            ld_ctx(kCtxProtocol);
            test(Op::Jeq32Imm, ntohs(static_cast<std::uint16_t>(kSllP8022)), is, f);
        } else {
            error_at(n.col, Errc::NotSupported,
                     fmt::format("'llc' is not supported on link type {}", linktype_name(opt_.linktype)));
        }
        ir_.bind(is);
        const std::string& k = n.llc_kind;
        if (k.empty()) {
            ir_.go(t);
            return;
        }
        ld(1, l.net + 2, n.col);
        if (k == "i") {
            test(Op::Jset32Imm, 1, f, t);
        } else if (k == "s" || k == "u") {
            ins(Op::And32Imm, R0, 0, 0, 3);
            test(Op::Jeq32Imm, k == "s" ? 1 : 3, t, f);
        } else {
            // Supervisory and unnumbered subtypes compare the control byte under their masks.
            struct Sub {
                std::string_view name;
                std::uint32_t value, mask;
            };
            static constexpr Sub kSubs[] = {
                {"rr", 0x01, 0x0f}, {"rnr", 0x05, 0x0f}, {"rej", 0x09, 0x0f}, {"ui", 0x03, 0xef},
                {"ua", 0x63, 0xef}, {"disc", 0x43, 0xef}, {"dm", 0x0f, 0xef}, {"sabme", 0x6f, 0xef},
                {"test", 0xe3, 0xef}, {"xid", 0xaf, 0xef}, {"frmr", 0x87, 0xef},
            };
            const auto* sub = std::find_if(std::begin(kSubs), std::end(kSubs), [&](const Sub& s) { return s.name == k; });
            if (sub == std::end(kSubs)) {
                error_at(n.col, Errc::Parse, fmt::format("unknown LLC type name \"{}\"", k));
            }
            ins(Op::And32Imm, R0, 0, 0, static_cast<std::int32_t>(sub->mask));
            test(Op::Jeq32Imm, sub->value, t, f);
        }
    }

    // port / portrange
    void port(const Node& n, const Layer& l, Label t, Label f) {
        const Qual& q = n.qual;
        std::vector<std::uint32_t> v4, v6;
        switch (q.proto) {
            case Proto::Default:
            case Proto::Ip:
            case Proto::Ip6:
                if (q.proto != Proto::Ip6) {
                    v4 = {6, 17, 132};
                }
                if (q.proto != Proto::Ip) {
                    v6 = {6, 17, 132};
                }
                break;
            case Proto::Tcp: v4 = v6 = {6}; break;
            case Proto::Udp: v4 = v6 = {17}; break;
            case Proto::Sctp: v4 = v6 = {132}; break;
            default:
                error_at(n.col, Errc::Parse,
                         fmt::format("illegal qualifier of '{}': '{}'", q.addr == Addr::Port ? "port" : "portrange",
                                     proto_name(q.proto)));
        }
        const char* svc_proto = q.proto == Proto::Udp ? "udp" : "tcp";
        auto one_port = [&](const std::string& text) -> std::uint32_t {
            std::uint32_t p = 0;
            if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
                p = static_cast<std::uint32_t>(std::stoul(text.substr(0, 10)));
            } else if (auto s = resolve_service(text, svc_proto)) {
                p = *s;
            } else if (auto s2 = resolve_service(text, q.proto == Proto::Udp ? "tcp" : "udp")) {
                p = *s2;
            } else {
                error_at(n.col, Errc::Parse, fmt::format("unknown port '{}'", text));
            }
            if (p > 65535) {
                error_at(n.col, Errc::Parse, fmt::format("illegal port number {} > 65535", p));
            }
            return p;
        };
        std::uint32_t lo = 0, hi = 0;
        const IdValue& v = n.value;
        if (v.kind == IdValue::Kind::Number) {
            if (v.number > 65535) {
                error_at(n.col, Errc::Parse, fmt::format("illegal port number {} > 65535", v.number));
            }
            lo = hi = v.number;
        } else if (v.kind == IdValue::Kind::Name) {
            if (q.addr == Addr::Portrange && !resolve_service(v.text, svc_proto)) {
                const auto dash = v.text.find('-');
                if (dash == std::string::npos) {
                    lo = hi = one_port(v.text);
                } else {
                    lo = one_port(v.text.substr(0, dash));
                    hi = one_port(v.text.substr(dash + 1));
                }
            } else {
                lo = hi = one_port(v.text);
            }
        } else {
            error_at(n.col, Errc::Parse, "a port must be a number or a service name");
        }
        if (lo > hi) {
            std::swap(lo, hi);
        }
        const Label found = ir_.label();
        transport(l, v4, v6, true, found, f);
        ir_.bind(found);
        directional(q.dir, 0, 2, t, f, [&](std::int64_t off, Label tt, Label ff) {
            ld_ind(2, R8, off, n.col);
            if (lo == hi) {
                test(Op::Jeq32Imm, lo, tt, ff);
            } else {
                ir_.jump(Op::Jlt32Imm, ff, R0, static_cast<std::int32_t>(lo));
                test(Op::Jle32Imm, hi, tt, ff);
            }
        });
    }

    std::uint32_t ip_proto_value(const Node& n) {
        const IdValue& v = n.value;
        if (v.kind == IdValue::Kind::Number) {
            if (v.number > 255) {
                error_at(n.col, Errc::Parse, fmt::format("protocol number {} greater than maximum 255", v.number));
            }
            return v.number;
        }
        if (v.kind == IdValue::Kind::Name) {
            if (auto p = resolve_ip_proto(v.text)) {
                return *p;
            }
            error_at(n.col, Errc::Parse, fmt::format("unknown ip proto '{}'", v.text));
        }
        error_at(n.col, Errc::Parse, "a protocol must be a number or a name");
    }

    void proto_value(const Node& n, const Layer& l, Label t, Label f) {
        const Proto p = n.qual.proto;
        if (p == Proto::Link) {
            std::uint32_t type = 0;
            if (n.value.kind == IdValue::Kind::Number) {
                type = n.value.number;
            } else if (n.value.kind == IdValue::Kind::Name) {
                if (!refused_family(n.value.text).empty() || n.value.text == "atalkarp") {
                    error_at(n.col, Errc::NotSupported,
                             fmt::format("'{}' belongs to {}, which sockfilter does not compile", n.value.text,
                                         refused_family(n.value.text).empty() ? "AppleTalk"
                                                                              : refused_family(n.value.text)));
                }
                auto e = resolve_ether_proto(n.value.text);
                if (!e) {
                    error_at(n.col, Errc::Parse, fmt::format("unknown ether proto '{}'", n.value.text));
                }
                type = *e;
            } else {
                error_at(n.col, Errc::Parse, "an Ethernet type must be a number or a name");
            }
            if (type > 0xffff) {
                error_at(n.col, Errc::Parse, fmt::format("ether proto {} greater than maximum 65535", type));
            }
            link_is(l, type, t, f);
            return;
        }
        if (p != Proto::Default && p != Proto::Ip && p != Proto::Ip6) {
            error_at(n.col, Errc::Parse, fmt::format("'{}' modifier applied to 'proto'", proto_name(p)));
        }
        const std::uint32_t num = ip_proto_value(n);
        const Label try6 = ir_.label();
        if (p != Proto::Ip6) {
            const Label is4 = ir_.label();
            link_is(l, kEthIp, is4, try6);
            ir_.bind(is4);
            ld(1, l.net + 9, n.col);
            test(Op::Jeq32Imm, num, t, try6);
        }
        ir_.bind(try6);
        if (p != Proto::Ip) {
            // The fixed header's next header, or the protocol after the extension headers.
            const Label is6 = ir_.label(), walk = ir_.label();
            link_is(l, kEthIp6, is6, f);
            ir_.bind(is6);
            ld(1, l.net + 6, n.col);
            test(Op::Jeq32Imm, num, t, walk);
            ir_.bind(walk);
            ipv6_walk(l, false, std::nullopt, t, f);
            ir_.jump(Op::Jeq32Imm, t, R9, static_cast<std::int32_t>(num));
        }
        ir_.go(f);
    }

    void protochain(const Node& n, const Layer& l, Label t, Label f) {
        const Proto p = n.qual.proto;
        if (p != Proto::Default && p != Proto::Ip && p != Proto::Ip6) {
            error_at(n.col, Errc::Parse, fmt::format("'{}' modifier applied to 'protochain'", proto_name(p)));
        }
        const std::uint32_t num = ip_proto_value(n);
        const Label try6 = ir_.label();
        if (p != Proto::Ip6) {
            const Label is4 = ir_.label();
            link_is(l, kEthIp, is4, try6);
            ir_.bind(is4);
            ipv4_chain(l, num, t, try6);
        }
        ir_.bind(try6);
        if (p != Proto::Ip) {
            const Label is6 = ir_.label();
            link_is(l, kEthIp6, is6, f);
            ir_.bind(is6);
            ipv6_walk(l, false, num, t, f);
        }
        ir_.go(f);
    }

    // ---- relations and arithmetic -------------------------------------------------------------

    /// Where an accessor's header starts: a constant offset, or a stack slot holding it.
    struct Base {
        std::int64_t konst = 0;
        std::optional<int> slot;
    };

    static void collect(const Arith& a, std::set<Proto>& protos) {
        if (a.kind == Arith::Kind::Load) {
            protos.insert(a.proto);
        }
        if (a.lhs) {
            collect(*a.lhs, protos);
        }
        if (a.rhs) {
            collect(*a.rhs, protos);
        }
    }

    /// Checks the protocol of an accessor and computes its header offset; jumps to f when the
    /// packet does not have that header.
    Base guard(Proto p, const Layer& l, Label f, std::uint32_t col) {
        switch (p) {
            case Proto::Link:
                if (l.link < 0) {
                    error_at(col, Errc::NotSupported, "a packet-dgram socket sees no link-layer header");
                }
                return Base{l.link, {}};
            case Proto::Ip:
            case Proto::Ip6:
            case Proto::Arp:
            case Proto::Rarp: {
                const Label ok = ir_.label();
                link_is(l, p == Proto::Ip ? kEthIp : p == Proto::Ip6 ? kEthIp6 : p == Proto::Arp ? kEthArp : kEthRarp,
                        ok, f);
                ir_.bind(ok);
                return Base{l.net, {}};
            }
            case Proto::Radio:
                error_at(col, Errc::NotSupported, "'radio' belongs to 802.11, which sockfilter does not compile");
            default: break;
        }
        if (!is_transport(p) || p == Proto::Esp || p == Proto::Ah) {
            error_at(col, Errc::NotSupported, fmt::format("'{}[...]' is not a supported accessor", proto_name(p)));
        }
        std::vector<std::uint32_t> v4, v6;
        if (v4_proto(p) != 0) {
            v4.push_back(v4_proto(p));
        }
        if (v6_proto(p) != 0) {
            v6.push_back(v6_proto(p));
        }
        const Label ok = ir_.label();
        transport(l, v4, v6, true, ok, f);
        ir_.bind(ok);
        const int slot = push_slot(col);
        ins(Op::Stx64, R10, R8, static_cast<std::int16_t>(slot));
        return Base{0, slot};
    }

    void relation(const Node& n, const Layer& l, Label t, Label f) {
        std::set<Proto> protos;
        collect(*n.a, protos);
        collect(*n.b, protos);
        std::map<Proto, Base> bases;
        const int saved = stack_used_;
        for (Proto p : protos) {
            bases[p] = guard(p, l, f, n.col);
        }
        Op op = Op::Jeq32Reg, imm_op = Op::Jeq32Imm;
        switch (n.rel) {
            case RelOp::Gt: op = Op::Jgt32Reg; imm_op = Op::Jgt32Imm; break;
            case RelOp::Ge: op = Op::Jge32Reg; imm_op = Op::Jge32Imm; break;
            case RelOp::Eq: op = Op::Jeq32Reg; imm_op = Op::Jeq32Imm; break;
            case RelOp::Le: op = Op::Jle32Reg; imm_op = Op::Jle32Imm; break;
            case RelOp::Lt: op = Op::Jlt32Reg; imm_op = Op::Jlt32Imm; break;
            case RelOp::Ne: op = Op::Jne32Reg; imm_op = Op::Jne32Imm; break;
        }
        eval(*n.a, bases);
        if (n.b->kind == Arith::Kind::Num) {
            test(imm_op, n.b->value, t, f);
        } else {
            const int slot = push_slot(n.col);
            ins(Op::Stx32, R10, R0, static_cast<std::int16_t>(slot));
            eval(*n.b, bases);
            ins(Op::Ldx32, R1, R10, static_cast<std::int16_t>(slot));
            ir_.jump(op, t, R1, 0, R0);
            ir_.go(f);
        }
        stack_used_ = saved;
    }

    static Op alu_imm(BinOp op) {
        switch (op) {
            case BinOp::Add: return Op::Add32Imm;
            case BinOp::Sub: return Op::Sub32Imm;
            case BinOp::Mul: return Op::Mul32Imm;
            case BinOp::Div: return Op::Div32Imm;
            case BinOp::Mod: return Op::Mod32Imm;
            case BinOp::And: return Op::And32Imm;
            case BinOp::Or: return Op::Or32Imm;
            case BinOp::Xor: return Op::Xor32Imm;
            case BinOp::Lsh: return Op::Lsh32Imm;
            case BinOp::Rsh: return Op::Rsh32Imm;
        }
        SF_UNREACHABLE();
    }
    static Op alu_reg(BinOp op) {
        switch (op) {
            case BinOp::Add: return Op::Add32Reg;
            case BinOp::Sub: return Op::Sub32Reg;
            case BinOp::Mul: return Op::Mul32Reg;
            case BinOp::Div: return Op::Div32Reg;
            case BinOp::Mod: return Op::Mod32Reg;
            case BinOp::And: return Op::And32Reg;
            case BinOp::Or: return Op::Or32Reg;
            case BinOp::Xor: return Op::Xor32Reg;
            case BinOp::Lsh: return Op::Lsh32Reg;
            case BinOp::Rsh: return Op::Rsh32Reg;
        }
        SF_UNREACHABLE();
    }

    /// w0 = the value of `a` (32-bit unsigned arithmetic, as classic BPF).
    void eval(const Arith& a, const std::map<Proto, Base>& bases) {
        switch (a.kind) {
            case Arith::Kind::Num: ins(Op::Mov32Imm, R0, 0, 0, static_cast<std::int32_t>(a.value)); return;
            case Arith::Kind::Len: ld_ctx(kCtxLen); return;
            case Arith::Kind::Neg:
                eval(*a.lhs, bases);
                ins(Op::Neg32, R0);
                return;
            case Arith::Kind::Load: {
                const Base& b = bases.at(a.proto);
                if (a.lhs->kind == Arith::Kind::Num) {
                    if (b.slot) {
                        ins(Op::Ldx64, R9, R10, static_cast<std::int16_t>(*b.slot));
                        ld_ind(a.size, R9, a.lhs->value, a.col);
                    } else {
                        ld(a.size, b.konst + a.lhs->value, a.col);
                    }
                    return;
                }
                eval(*a.lhs, bases);
                if (b.slot) {
                    ins(Op::Ldx64, R9, R10, static_cast<std::int16_t>(*b.slot));
                    ins(Op::Add64Reg, R9, R0);
                    ld_ind(a.size, R9, 0, a.col);
                } else {
                    ins(Op::Mov64Reg, R9, R0);
                    ld_ind(a.size, R9, b.konst, a.col);
                }
                return;
            }
            case Arith::Kind::Binary: {
                if (a.rhs->kind == Arith::Kind::Num) {
                    const std::uint32_t k = a.rhs->value;
                    if ((a.op == BinOp::Div || a.op == BinOp::Mod) && k == 0) {
                        error_at(a.rhs->col, Errc::Parse, a.op == BinOp::Div ? "division by zero" : "modulus by zero");
                    }
                    if ((a.op == BinOp::Lsh || a.op == BinOp::Rsh) && k > 31) {
                        error_at(a.rhs->col, Errc::Parse, fmt::format("shift by {}: must be less than 32", k));
                    }
                    eval(*a.lhs, bases);
                    ins(alu_imm(a.op), R0, 0, 0, static_cast<std::int32_t>(k));
                    return;
                }
                eval(*a.lhs, bases);
                const int slot = push_slot(a.col);
                ins(Op::Stx32, R10, R0, static_cast<std::int16_t>(slot));
                eval(*a.rhs, bases);
                ins(Op::Ldx32, R1, R10, static_cast<std::int16_t>(slot));
                pop_slot();
                if (a.op == BinOp::Div || a.op == BinOp::Mod) {
                    // Classic BPF ends the filter with 0 on a zero divisor; eBPF would go on.
                    ir_.jump(Op::Jeq32Imm, reject_, R0, 0);
                }
                if (a.op == BinOp::Lsh || a.op == BinOp::Rsh) {
                    ins(Op::And32Imm, R0, 0, 0, 31);
                }
                ins(alu_reg(a.op), R1, R0);
                ins(Op::Mov32Reg, R0, R1);
                return;
            }
        }
    }
};

}  // namespace

bool has_socket_link_header(int linktype) {
    return linktype == runtime::dlt::kEn10mb || linktype == runtime::dlt::kRaw || linktype == runtime::dlt::kIpv4 ||
           linktype == runtime::dlt::kIpv6;
}

Socket default_socket(int linktype) {
    return has_socket_link_header(linktype) ? Socket::Packet : Socket::PacketDgram;
}

Result<int> parse_linktype(std::string_view text) {
    std::string up(text);
    std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return std::toupper(c); });
    if (up.rfind("DLT_", 0) == 0) {
        up = up.substr(4);
    }
    struct Entry {
        std::string_view name;
        int dlt;
    };
    static constexpr Entry kNames[] = {
        {"EN10MB", runtime::dlt::kEn10mb}, {"LINUX_SLL", runtime::dlt::kLinuxSll},
        {"LINUX_SLL2", runtime::dlt::kLinuxSll2}, {"RAW", runtime::dlt::kRaw}, {"IPV4", runtime::dlt::kIpv4},
        {"IPV6", runtime::dlt::kIpv6}, {"NULL", runtime::dlt::kNull}, {"LOOP", runtime::dlt::kLoop},
    };
    for (const auto& e : kNames) {
        if (e.name == up) {
            return e.dlt;
        }
    }
    if (!up.empty() && std::all_of(up.begin(), up.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        const int v = std::stoi(up.substr(0, 6));
        if (v == runtime::dlt::kRawOpenBsd || v == runtime::dlt::kLinktypeRaw) {
            return runtime::dlt::kRaw;
        }
        for (const auto& e : kNames) {
            if (e.dlt == v) {
                return v;
            }
        }
    }
    return fail(Errc::InvalidArgument,
                "link type '{}' is not supported: use EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL or LOOP",
                text);
}

std::string linktype_name(int linktype) {
    switch (linktype) {
        case runtime::dlt::kEn10mb: return "EN10MB";
        case runtime::dlt::kLinuxSll: return "LINUX_SLL";
        case runtime::dlt::kLinuxSll2: return "LINUX_SLL2";
        case runtime::dlt::kRaw: return "RAW";
        case runtime::dlt::kIpv4: return "IPV4";
        case runtime::dlt::kIpv6: return "IPV6";
        case runtime::dlt::kNull: return "NULL";
        case runtime::dlt::kLoop: return "LOOP";
        default: return fmt::format("DLT {}", linktype);
    }
}

Result<Socket> parse_socket(std::string_view text) {
    if (text == "packet") {
        return Socket::Packet;
    }
    if (text == "packet-dgram") {
        return Socket::PacketDgram;
    }
    return fail(Errc::InvalidArgument, "socket kind '{}' is not one a filter compiles for: use packet or packet-dgram",
                text);
}

Result<program::Program> compile(const Expr& expr, const Options& options) {
    auto lt = parse_linktype(std::to_string(options.linktype));
    if (!lt) {
        return tl::unexpected(std::move(lt.error()));
    }
    Options o = options;
    o.linktype = *lt;
    if (o.socket == Socket::Packet && !has_socket_link_header(o.linktype)) {
        return fail(Errc::InvalidArgument,
                    "a {} capture's link header is not what a socket sees (the kernel keeps its fields in the "
                    "metadata): compile for --socket packet-dgram",
                    linktype_name(o.linktype));
    }
    return Gen(o).run(expr);
}

Result<program::Program> compile(std::string_view text, const Options& options) {
    auto e = parse(text);
    if (!e) {
        return tl::unexpected(std::move(e.error()));
    }
    return compile(*e, options);
}

}  // namespace sockfilter::filter
