// SPDX-License-Identifier: MIT
// Recursive descent over the token vector. Where libpcap's LALR grammar decides with one token of
// look-ahead after a reduction, this parser tries the alternative and backtracks (parenthesised
// value lists versus parenthesised expressions, `not value` versus `not term`, relations).
#include "filter/parser.h"

#include <arpa/inet.h>

#include <optional>
#include <utility>
#include <vector>

#include "filter/lexer.h"

namespace sockfilter::filter {
namespace {

/// Thrown inside this file only; parse() turns it into a Result (HOUSE_STYLE §3).
struct ParseError {
    Error error;
};

using NodePtr = std::unique_ptr<Node>;
using ArithPtr = std::unique_ptr<Arith>;

/// The qualifiers a bare value after `and`/`or` inherits; nullopt after a term that has none
/// (libpcap's `qerr`).
using Carry = std::optional<Qual>;

class Parser {
public:
    explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

    Expr run() {
        Expr e;
        if (peek().kind == Tok::End) {
            return e;
        }
        Carry carry;
        e.root = expr(carry);
        if (peek().kind != Tok::End) {
            expected("'and', 'or' or end of expression");
        }
        return e;
    }

private:
    std::vector<Token> t_;
    std::size_t pos_ = 0;
    std::optional<Error> furthest_;  // the error of an abandoned alternative that got furthest

    static std::uint32_t column(const Error& e) { return std::get<SourcePos>(e.where).col; }
    void note(Error e) {
        if (!furthest_ || column(e) > column(*furthest_)) {
            furthest_ = std::move(e);
        }
    }

public:
    /// The error to report: an abandoned alternative that got further explains more.
    Error best(Error e) {
        if (furthest_ && column(*furthest_) > column(e)) {
            return std::move(*furthest_);
        }
        return e;
    }

private:

    const Token& peek(std::size_t ahead = 0) const { return t_[std::min(pos_ + ahead, t_.size() - 1)]; }
    const Token& next() {
        const Token& tok = t_[pos_];
        if (pos_ + 1 < t_.size()) {
            ++pos_;
        }
        return tok;
    }
    bool accept(Tok k) {
        if (peek().kind == k) {
            next();
            return true;
        }
        return false;
    }

    [[noreturn]] void error_at(const Token& tok, Errc code, std::string message) const {
        throw ParseError{Error{code, std::move(message), SourcePos{"expression", 1, tok.col}, {}, 0}};
    }
    [[noreturn]] void expected(std::string_view what) const {
        const Token& tok = peek();
        std::string got = tok.kind == Tok::End ? "end of expression" : fmt::format("'{}'", tok.text);
        error_at(tok, Errc::Parse, fmt::format("expected {}, got {}", what, got));
    }
    [[noreturn]] void refused(const Token& tok) const {
        error_at(tok, Errc::NotSupported,
                 fmt::format("'{}' belongs to {}, which sockfilter does not compile (docs/FILTER.md lists the "
                             "refused families)",
                             tok.text, tok.family));
    }
    void expect(Tok k) {
        if (!accept(k)) {
            expected(describe(k));
        }
    }

    static NodePtr make(Node::Kind kind, std::uint32_t col) {
        auto n = std::make_unique<Node>();
        n->kind = kind;
        n->col = col;
        return n;
    }
    static NodePtr join(Node::Kind kind, NodePtr a, NodePtr b) {
        auto n = make(kind, a->col);
        n->lhs = std::move(a);
        n->rhs = std::move(b);
        return n;
    }
    static NodePtr negate(NodePtr a, std::uint32_t col) {
        auto n = make(Node::Kind::Not, col);
        n->lhs = std::move(a);
        return n;
    }

    /// Runs `f`; if it throws a ParseError, restores the position and returns nullopt.
    template <class F>
    auto attempt(F&& f) -> std::optional<decltype(f())> {
        const std::size_t saved = pos_;
        try {
            return f();
        } catch (ParseError& e) {
            note(std::move(e.error));
            pos_ = saved;
            return std::nullopt;
        }
    }

    // expr: term | expr (and|or) term | expr (and|or) id
    NodePtr expr(Carry& carry) {
        NodePtr left = term(carry);
        while (peek().kind == Tok::And || peek().kind == Tok::Or) {
            const Node::Kind kind = next().kind == Tok::And ? Node::Kind::And : Node::Kind::Or;
            NodePtr right;
            if (carry) {
                Qual q = *carry;
                if (auto id = attempt([&] { return value_node(q); })) {
                    right = std::move(*id);
                }
            } else if (starts_value()) {
                expected("a qualifier before this value (the term before 'and'/'or' has none to carry over)");
            }
            if (!right) {
                right = term(carry);
            }
            left = join(kind, std::move(left), std::move(right));
        }
        return left;
    }

    /// Whether the next token can only begin a bare value (not a term).
    bool starts_value() const {
        switch (peek().kind) {
            case Tok::Id:
            case Tok::Hid:
            case Tok::Hid6:
            case Tok::Eid: return true;
            case Tok::Num: return !is_arith_continuation(peek(1).kind);
            default: return false;
        }
    }
    static bool is_arith_continuation(Tok k) {
        switch (k) {
            case Tok::Gt: case Tok::Ge: case Tok::Eq: case Tok::Le: case Tok::Lt: case Tok::Ne:
            case Tok::Plus: case Tok::Minus: case Tok::Star: case Tok::Slash: case Tok::Percent:
            case Tok::Amp: case Tok::Pipe: case Tok::Caret: case Tok::Lsh: case Tok::Rsh: return true;
            default: return false;
        }
    }

    // term: not term | rterm
    NodePtr term(Carry& carry) {
        const Token& first = peek();
        if (accept(Tok::Not)) {
            return negate(term(carry), first.col);
        }
        return rterm(carry);
    }

    NodePtr rterm(Carry& carry) {
        const Token& first = peek();
        // arth relop arth
        if (may_start_arith()) {
            if (auto rel = attempt([&] { return relation(); })) {
                carry.reset();
                return std::move(*rel);
            }
        }
        switch (first.kind) {
            case Tok::LParen: {
                next();
                Carry inner = carry;
                NodePtr e = expr(inner);
                expect(Tok::RParen);
                return e;
            }
            case Tok::Refused: refused(first);
            case Tok::Pname: {
                const Token& p = next();
                const auto proto = static_cast<Proto>(p.proto);
                if (accept(Tok::Broadcast)) {
                    carry.reset();
                    auto n = make(Node::Kind::Broadcast, first.col);
                    n->qual.proto = proto;
                    return n;
                }
                if (accept(Tok::Multicast)) {
                    carry.reset();
                    auto n = make(Node::Kind::Multicast, first.col);
                    n->qual.proto = proto;
                    return n;
                }
                if (is_head_continuation(peek().kind)) {
                    return head_and_value(proto, first.col, carry);
                }
                if (peek().kind == Tok::Refused) {
                    refused(peek());
                }
                carry.reset();
                auto n = make(Node::Kind::ProtoName, first.col);
                n->qual.proto = proto;
                return n;
            }
            case Tok::Src:
            case Tok::Dst:
            case Tok::Host:
            case Tok::Net:
            case Tok::Port:
            case Tok::Portrange:
            case Tok::ProtoKw:
            case Tok::Protochain: return head_and_value(Proto::Default, first.col, carry);
            default: break;
        }
        NodePtr n = other();
        carry.reset();
        return n;
    }

    static bool is_head_continuation(Tok k) {
        return k == Tok::Src || k == Tok::Dst || k == Tok::Host || k == Tok::Net || k == Tok::Port ||
               k == Tok::Portrange || k == Tok::ProtoKw || k == Tok::Protochain;
    }

    // head id: pqual [dqual] [aqual | proto | protochain] id
    NodePtr head_and_value(Proto proto, std::uint32_t col, Carry& carry) {
        Qual q;
        q.proto = proto;
        if (peek().kind == Tok::Src || peek().kind == Tok::Dst) {
            const Tok d = next().kind;
            const Tok other = d == Tok::Src ? Tok::Dst : Tok::Src;
            if ((peek().kind == Tok::Or || peek().kind == Tok::And) && peek(1).kind == other) {
                q.dir = next().kind == Tok::Or ? Dir::SrcOrDst : Dir::SrcAndDst;
                next();
            } else {
                q.dir = d == Tok::Src ? Dir::Src : Dir::Dst;
            }
        }
        switch (peek().kind) {
            case Tok::Host: q.addr = Addr::Host; next(); break;
            case Tok::Net: q.addr = Addr::Net; next(); break;
            case Tok::Port: q.addr = Addr::Port; next(); break;
            case Tok::Portrange: q.addr = Addr::Portrange; next(); break;
            case Tok::ProtoKw:
            case Tok::Protochain:
                if (q.dir != Dir::Default) {
                    expected("'host', 'net', 'port', 'portrange' or a value after the direction");
                }
                q.addr = next().kind == Tok::ProtoKw ? Addr::Proto : Addr::Protochain;
                break;
            case Tok::Refused: refused(peek());
            default:
                if (q.dir == Dir::Default) {
                    expected("'host', 'net', 'port', 'portrange', 'proto' or 'protochain'");
                }
                break;
        }
        NodePtr v = value_node(q);
        v->col = col;
        carry = q;
        return v;
    }

    // id: nid | pnum | '(' pid ')' ; nid: ID | HID [/NUM | mask HID] | HID6 [/NUM] | EID | not id
    NodePtr value_node(const Qual& q) {
        const Token& tok = peek();
        if (accept(Tok::Not)) {
            return negate(value_node(q), tok.col);
        }
        if (accept(Tok::LParen)) {
            NodePtr left = value_node(q);
            while (peek().kind == Tok::And || peek().kind == Tok::Or) {
                const Node::Kind kind = next().kind == Tok::And ? Node::Kind::And : Node::Kind::Or;
                left = join(kind, std::move(left), value_node(q));
            }
            expect(Tok::RParen);
            return left;
        }
        auto n = make(Node::Kind::Id, tok.col);
        n->qual = q;
        IdValue& v = n->value;
        v.text = tok.text;
        switch (tok.kind) {
            case Tok::Num:
                next();
                v.kind = IdValue::Kind::Number;
                v.number = number_value(tok);
                return n;
            case Tok::Id:
                next();
                v.kind = IdValue::Kind::Name;
                return n;
            case Tok::Eid:
                next();
                v.kind = IdValue::Kind::Mac;
                v.bytes = mac_value(tok);
                return n;
            case Tok::Hid: {
                next();
                parse_ipv4(tok, v);
                if (accept(Tok::Slash)) {
                    check_address_qualifier(tok, q, "IP address and prefix length");
                    const Token& len = peek();
                    expect(Tok::Num);
                    const std::uint32_t bits = number_value(len);
                    if (bits > 32) {
                        error_at(len, Errc::Parse, fmt::format("mask length must be <= 32, got {}", bits));
                    }
                    v.kind = IdValue::Kind::Ipv4Cidr;
                    v.prefix = bits;
                    v.mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
                    v.text += "/" + len.text;
                } else if (accept(Tok::Mask)) {
                    check_address_qualifier(tok, q, "IP address and netmask");
                    const Token& m = peek();
                    expect(Tok::Hid);
                    IdValue mv;
                    parse_ipv4(m, mv);
                    // Both the network and the mask may be written short; they are left-aligned.
                    v.kind = IdValue::Kind::Ipv4Mask;
                    v.mask = mv.number << (32 - 8 * mv.parts);
                    v.text += " mask " + m.text;
                } else {
                    check_address_qualifier(tok, q, "IP address");
                }
                return n;
            }
            case Tok::Hid6: {
                next();
                v.kind = IdValue::Kind::Ipv6;
                in6_addr a{};
                inet_pton(AF_INET6, tok.text.c_str(), &a);
                std::copy(std::begin(a.s6_addr), std::end(a.s6_addr), v.bytes.begin());
                v.prefix = 128;
                if (accept(Tok::Slash)) {
                    check_address_qualifier(tok, q, "IP address and prefix length");
                    const Token& len = peek();
                    expect(Tok::Num);
                    v.prefix = number_value(len);
                    if (v.prefix > 128) {
                        error_at(len, Errc::Parse, fmt::format("mask length must be <= 128, got {}", v.prefix));
                    }
                    v.text += "/" + len.text;
                } else {
                    check_address_qualifier(tok, q, "IP address");
                }
                return n;
            }
            case Tok::Refused: refused(tok);
            default: expected("a host, network, port or protocol value");
        }
    }

    void check_address_qualifier(const Token& tok, const Qual& q, std::string_view what) const {
        const char* name = nullptr;
        switch (q.addr) {
            case Addr::Port: name = "port"; break;
            case Addr::Portrange: name = "portrange"; break;
            case Addr::Proto: name = "proto"; break;
            case Addr::Protochain: name = "protochain"; break;
            default: return;
        }
        error_at(tok, Errc::Parse, fmt::format("'{}' modifier applied to {}", name, what));
    }

    std::uint32_t number_value(const Token& tok) const {
        std::uint64_t v = 0;
        const std::string& s = tok.text;
        std::size_t i = 0;
        unsigned base = 10;
        if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
            base = 16;
            i = 2;
        } else if (s.size() > 1 && s[0] == '0') {
            base = 8;
            i = 1;
        }
        for (; i < s.size(); ++i) {
            const char c = s[i];
            unsigned d = c >= '0' && c <= '9' ? static_cast<unsigned>(c - '0')
                         : c >= 'a' && c <= 'f' ? static_cast<unsigned>(c - 'a' + 10)
                                                : static_cast<unsigned>(c - 'A' + 10);
            if (d >= base) {
                error_at(tok, Errc::Parse, fmt::format("number {} contains non-octal digit", s));
            }
            v = v * base + d;
            if (v > 0xffffffffULL) {
                error_at(tok, Errc::Parse, fmt::format("number {} overflows 32 bits", s));
            }
        }
        return static_cast<std::uint32_t>(v);
    }

    void parse_ipv4(const Token& tok, IdValue& v) const {
        std::uint32_t addr = 0;
        std::uint8_t parts = 0;
        std::size_t start = 0;
        while (start <= tok.text.size()) {
            std::size_t dot = tok.text.find('.', start);
            if (dot == std::string::npos) {
                dot = tok.text.size();
            }
            std::uint32_t part = 0;
            for (std::size_t i = start; i < dot; ++i) {
                part = part * 10 + static_cast<std::uint32_t>(tok.text[i] - '0');
                if (part > 255) {
                    error_at(tok, Errc::Parse, fmt::format("invalid IPv4 address '{}'", tok.text));
                }
            }
            addr = addr << 8 | part;
            ++parts;
            start = dot + 1;
        }
        v.kind = IdValue::Kind::Ipv4;
        v.parts = parts;
        v.number = addr;
    }

    static std::array<std::uint8_t, 16> mac_value(const Token& tok) {
        std::array<std::uint8_t, 16> out{};
        std::string digits;
        std::vector<std::string> groups;
        std::string cur;
        for (char c : tok.text) {
            if (c == ':' || c == '.' || c == '-') {
                groups.push_back(cur);
                cur.clear();
            } else {
                cur += c;
            }
        }
        groups.push_back(cur);
        for (auto& g : groups) {
            // 1-2 digit groups of a six-group address are bytes; 4-digit and 12-digit groups are
            // runs of bytes.
            if (groups.size() == 6 && g.size() == 1) {
                g = "0" + g;
            }
            digits += g;
        }
        for (std::size_t i = 0; i < 6; ++i) {
            out[i] = static_cast<std::uint8_t>(std::stoul(digits.substr(2 * i, 2), nullptr, 16));
        }
        return out;
    }

    bool may_start_arith() const {
        switch (peek().kind) {
            case Tok::Num:
            case Tok::Len:
            case Tok::Minus:
            case Tok::LParen: return true;
            case Tok::Pname: return peek(1).kind == Tok::LBracket;
            case Tok::Refused: return peek(1).kind == Tok::LBracket;
            default: return false;
        }
    }

    NodePtr relation() {
        const Token& first = peek();
        ArithPtr a = arith();
        RelOp op;
        switch (peek().kind) {
            case Tok::Gt: op = RelOp::Gt; break;
            case Tok::Ge: op = RelOp::Ge; break;
            case Tok::Eq: op = RelOp::Eq; break;
            case Tok::Le: op = RelOp::Le; break;
            case Tok::Lt: op = RelOp::Lt; break;
            case Tok::Ne: op = RelOp::Ne; break;
            default: expected("a relation ('>', '>=', '=', '!=', '<=', '<')");
        }
        next();
        auto n = make(Node::Kind::Relation, first.col);
        n->rel = op;
        n->a = std::move(a);
        n->b = arith();
        return n;
    }

    static ArithPtr binary(BinOp op, ArithPtr l, ArithPtr r) {
        auto a = std::make_unique<Arith>();
        a->kind = Arith::Kind::Binary;
        a->op = op;
        a->col = l->col;
        a->lhs = std::move(l);
        a->rhs = std::move(r);
        return a;
    }

    // Precedence, loosest first: | ^ & (<< >>) (+ -) (* / %) unary-minus.
    ArithPtr arith(int level = 0) {
        if (level == 6) {
            return arith_primary();
        }
        ArithPtr left = arith(level + 1);
        while (true) {
            std::optional<BinOp> op;
            const Tok k = peek().kind;
            switch (level) {
                case 0: if (k == Tok::Pipe) { op = BinOp::Or; } break;
                case 1: if (k == Tok::Caret) { op = BinOp::Xor; } break;
                case 2: if (k == Tok::Amp) { op = BinOp::And; } break;
                case 3: if (k == Tok::Lsh) { op = BinOp::Lsh; } else if (k == Tok::Rsh) { op = BinOp::Rsh; } break;
                case 4: if (k == Tok::Plus) { op = BinOp::Add; } else if (k == Tok::Minus) { op = BinOp::Sub; } break;
                case 5:
                    if (k == Tok::Star) { op = BinOp::Mul; }
                    else if (k == Tok::Slash) { op = BinOp::Div; }
                    else if (k == Tok::Percent) { op = BinOp::Mod; }
                    break;
                default: break;
            }
            if (!op) {
                return left;
            }
            next();
            left = binary(*op, std::move(left), arith(level + 1));
        }
    }

    ArithPtr arith_primary() {
        const Token& tok = peek();
        auto a = std::make_unique<Arith>();
        a->col = tok.col;
        switch (tok.kind) {
            case Tok::Num:
                next();
                a->kind = Arith::Kind::Num;
                a->value = number_value(tok);
                return a;
            case Tok::Len:
                next();
                a->kind = Arith::Kind::Len;
                return a;
            case Tok::Minus:
                next();
                a->kind = Arith::Kind::Neg;
                a->lhs = arith_primary();
                return a;
            case Tok::LParen: {
                next();
                ArithPtr inner = arith();
                expect(Tok::RParen);
                return inner;
            }
            case Tok::Refused: refused(tok);
            case Tok::Pname: {
                next();
                a->kind = Arith::Kind::Load;
                a->proto = static_cast<Proto>(tok.proto);
                expect(Tok::LBracket);
                a->lhs = arith();
                a->size = 1;
                if (accept(Tok::Colon)) {
                    const Token& sz = peek();
                    expect(Tok::Num);
                    const std::uint32_t size = number_value(sz);
                    if (size != 1 && size != 2 && size != 4) {
                        error_at(sz, Errc::Parse, fmt::format("data size must be 1, 2, or 4, got {}", size));
                    }
                    a->size = static_cast<std::uint8_t>(size);
                }
                expect(Tok::RBracket);
                return a;
            }
            default: expected("a number, 'len', a packet accessor like 'ip[0]' or '('");
        }
    }

    std::optional<std::uint32_t> optional_number() {
        if (peek().kind == Tok::Num) {
            return number_value(next());
        }
        if (peek().kind == Tok::LParen && peek(1).kind == Tok::Num && peek(2).kind == Tok::RParen) {
            next();
            const std::uint32_t v = number_value(next());
            next();
            return v;
        }
        return std::nullopt;
    }

    std::uint32_t required_number() {
        const Token& tok = peek();
        expect(Tok::Num);
        return number_value(tok);
    }

    // other: broadcast, multicast, less, greater, byte, inbound, outbound, ifindex, vlan, mpls,
    // pppoed, pppoes, geneve, vxlan, llc
    NodePtr other() {
        const Token& tok = peek();
        const std::uint32_t col = tok.col;
        switch (tok.kind) {
            case Tok::Broadcast: next(); return make(Node::Kind::Broadcast, col);
            case Tok::Multicast: next(); return make(Node::Kind::Multicast, col);
            case Tok::Less:
            case Tok::Greater: {
                next();
                auto n = make(tok.kind == Tok::Less ? Node::Kind::Less : Node::Kind::Greater, col);
                n->number = required_number();
                return n;
            }
            case Tok::Byte: {
                next();
                auto n = make(Node::Kind::Byte, col);
                n->number = required_number();
                switch (peek().kind) {
                    case Tok::Amp: n->byte_op = '&'; break;
                    case Tok::Pipe: n->byte_op = '|'; break;
                    case Tok::Lt: n->byte_op = '<'; break;
                    case Tok::Gt: n->byte_op = '>'; break;
                    case Tok::Eq: n->byte_op = '='; break;
                    default: expected("one of '&', '|', '<', '>', '='");
                }
                next();
                n->byte_value = required_number();
                return n;
            }
            case Tok::Inbound: next(); return make(Node::Kind::Inbound, col);
            case Tok::Outbound: next(); return make(Node::Kind::Outbound, col);
            case Tok::Ifindex: {
                next();
                auto n = make(Node::Kind::Ifindex, col);
                n->number = required_number();
                return n;
            }
            case Tok::Vlan:
            case Tok::Mpls:
            case Tok::Pppoes:
            case Tok::Geneve:
            case Tok::Vxlan: {
                next();
                const Node::Kind kind = tok.kind == Tok::Vlan     ? Node::Kind::Vlan
                                        : tok.kind == Tok::Mpls   ? Node::Kind::Mpls
                                        : tok.kind == Tok::Pppoes ? Node::Kind::Pppoes
                                        : tok.kind == Tok::Geneve ? Node::Kind::Geneve
                                                                  : Node::Kind::Vxlan;
                auto n = make(kind, col);
                n->number = optional_number();
                return n;
            }
            case Tok::Pppoed: next(); return make(Node::Kind::Pppoed, col);
            case Tok::Llc: {
                next();
                auto n = make(Node::Kind::Llc, col);
                if (peek().kind == Tok::Id || (peek().kind == Tok::Refused && peek().text == "rnr")) {
                    n->llc_kind = next().text;
                }
                return n;
            }
            case Tok::Batadv:
                error_at(tok, Errc::NotSupported, "'batadv' (batman-adv) is not supported by the eBPF compiler yet");
            case Tok::Refused: refused(tok);
            default: expected("a primitive (a qualifier, a protocol, 'not', '(' or a relation)");
        }
    }
};

}  // namespace

Result<Expr> parse(std::string_view text) {
    auto toks = tokenize(text);
    if (!toks) {
        return tl::unexpected(std::move(toks.error()));
    }
    Parser parser(std::move(*toks));
    try {
        return parser.run();
    } catch (ParseError& e) {
        return tl::unexpected(parser.best(std::move(e.error)));
    }
}

}  // namespace sockfilter::filter
