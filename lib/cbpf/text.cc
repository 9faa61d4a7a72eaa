// SPDX-License-Identifier: MIT
// Reading and writing classic BPF text (tcpdump -d/-dd/-ddd, bpf_asm source and bytecode).
#include "cbpf/text.h"

#include <cctype>
#include <charconv>
#include <map>
#include <optional>
#include <vector>

#include <fmt/format.h>

namespace sockfilter::cbpf {

namespace {

using namespace code;

// ----------------------------------------------------------------------------------------------
// Printing.

std::string_view alu_name(std::uint16_t o) {
    switch (o) {
        case kAdd: return "add";
        case kSub: return "sub";
        case kMul: return "mul";
        case kDiv: return "div";
        case kOr: return "or";
        case kAnd: return "and";
        case kLsh: return "lsh";
        case kRsh: return "rsh";
        case kNeg: return "neg";
        case kMod: return "mod";
        case kXor: return "xor";
        default: return {};
    }
}

std::string_view jmp_name(std::uint16_t o) {
    switch (o) {
        case kJa: return "ja";
        case kJeq: return "jeq";
        case kJgt: return "jgt";
        case kJge: return "jge";
        case kJset: return "jset";
        default: return {};
    }
}

std::string_view load_name(std::uint16_t c) { return size(c) == kW ? "ld" : size(c) == kH ? "ldh" : "ldb"; }

/// bpf_asm's spelling of an ancillary load (tools/bpf/bpf_exp.l); it has none for xor_x.
std::optional<std::string_view> bpf_asm_ancillary(Ancillary a) {
    switch (a) {
        case Ancillary::VlanTagPresent: return "vlan_avail";
        case Ancillary::Random: return "rand";
        case Ancillary::AluXorX: return std::nullopt;
        default: return ancillary_name(a);
    }
}

/// Mnemonic and operand as libpcap's bpf_image prints them (unknown codes as "unimp 0x..").
std::pair<std::string, std::string> image(const Insn& in, std::size_t pc) {
    const std::uint16_t c = in.code;
    const auto sk = static_cast<std::int32_t>(in.k);
    switch (cls(c)) {
        case kRet:
            if (c == (kRet | kK)) return {"ret", fmt::format("#{}", in.k)};
            if (c == (kRet | kA)) return {"ret", ""};
            break;
        case kLd:
            if (c == (kLd | kImm)) return {"ld", fmt::format("#{:#x}", in.k)};
            if (c == (kLd | kW | kLen)) return {"ld", "#pktlen"};
            if (c == (kLd | kMem)) return {"ld", fmt::format("M[{}]", in.k)};
            if (mode(c) == kAbs && size(c) != 0x18) {
                if (auto a = ancillary(in.k)) return {std::string(load_name(c)), fmt::format("[{}]", ancillary_name(*a))};
                return {std::string(load_name(c)), fmt::format("[{}]", sk)};
            }
            if (mode(c) == kInd && size(c) != 0x18) return {std::string(load_name(c)), fmt::format("[x + {}]", sk)};
            break;
        case kLdx:
            if (c == (kLdx | kImm)) return {"ldx", fmt::format("#{:#x}", in.k)};
            if (c == (kLdx | kW | kLen)) return {"ldx", "#pktlen"};
            if (c == (kLdx | kMem)) return {"ldx", fmt::format("M[{}]", in.k)};
            if (c == (kLdx | kB | kMsh)) return {"ldxb", fmt::format("4*([{}]&0xf)", sk)};
            break;
        case kSt:
            if (c == kSt) return {"st", fmt::format("M[{}]", in.k)};
            break;
        case kStx:
            if (c == kStx) return {"stx", fmt::format("M[{}]", in.k)};
            break;
        case kAlu: {
            const auto name = alu_name(op(c));
            if (name.empty() || (c & 0xff00) != 0) break;
            if (op(c) == kNeg) {
                if (c == (kAlu | kNeg)) return {"neg", ""};
                break;
            }
            if (src(c) == kX) return {std::string(name), "x"};
            const bool hex = op(c) == kAnd || op(c) == kOr || op(c) == kXor;
            return {std::string(name), hex ? fmt::format("#{:#x}", in.k) : fmt::format("#{}", sk)};
        }
        case kJmp: {
            const auto name = jmp_name(op(c));
            if (name.empty() || (c & 0xff00) != 0) break;
            if (op(c) == kJa) {
                if (c == (kJmp | kJa)) return {"ja", fmt::format("{}", pc + 1 + in.k)};
                break;
            }
            return {std::string(name), src(c) == kX ? std::string("x") : fmt::format("#{:#x}", in.k)};
        }
        case kMisc:
            if (c == (kMisc | kTax)) return {"tax", ""};
            if (c == (kMisc | kTxa)) return {"txa", ""};
            break;
        default: break;
    }
    return {"unimp", fmt::format("{:#x}", c)};
}

bool is_cond_jump(std::uint16_t c) { return cls(c) == kJmp && op(c) != kJa && !jmp_name(op(c)).empty(); }

std::string write_listing(std::span<const Insn> f) {
    std::string out;
    for (std::size_t pc = 0; pc < f.size(); ++pc) {
        out += fmt::format("({:03}) {}\n", pc, format_insn(f[pc], pc));
    }
    return out;
}

/// bpf_asm source: one instruction per line, a label "lN:" on every jump target.
std::string write_bpf_asm(std::span<const Insn> f) {
    std::vector<bool> target(f.size() + 256 + 1, false);
    for (std::size_t pc = 0; pc < f.size(); ++pc) {
        const Insn& in = f[pc];
        if (in.code == (kJmp | kJa)) {
            if (pc + 1 + in.k < target.size()) target[pc + 1 + in.k] = true;
        } else if (is_cond_jump(in.code)) {
            target[pc + 1 + in.jt] = true;
            target[pc + 1 + in.jf] = true;
        }
    }
    std::string out;
    for (std::size_t pc = 0; pc < f.size(); ++pc) {
        const Insn& in = f[pc];
        std::string line = target[pc] ? fmt::format("l{}:", pc) : std::string();
        const std::uint16_t c = in.code;
        std::string text;
        if (c == (kRet | kA)) {
            text = "ret a";
        } else if (c == (kLd | kW | kLen) || c == (kLdx | kW | kLen)) {
            text = c == (kLd | kW | kLen) ? "ld #len" : "ldx #len";
        } else if (cls(c) == kLd && mode(c) == kAbs && ancillary(in.k) && bpf_asm_ancillary(*ancillary(in.k))) {
            text = fmt::format("{} #{}", load_name(c), *bpf_asm_ancillary(*ancillary(in.k)));
        } else if (cls(c) == kLd && mode(c) == kAbs && size(c) != 0x18) {
            text = fmt::format("{} [{}]", load_name(c), static_cast<std::int32_t>(in.k));
        } else if (c == (kJmp | kJa)) {
            text = fmt::format("ja l{}", pc + 1 + in.k);
        } else if (is_cond_jump(c)) {
            const auto [mn, operand] = image(in, pc);
            text = fmt::format("{} {}, l{}, l{}", mn, operand, pc + 1 + in.jt, pc + 1 + in.jf);
        } else if (cls(c) == kAlu && src(c) == kK && op(c) != kNeg) {
            text = fmt::format("{} #{:#x}", alu_name(op(c)), in.k);
        } else {
            const auto [mn, operand] = image(in, pc);
            if (mn == "unimp") {
                // Not expressible in bpf_asm: leave the raw record as a comment and fail loudly
                // on reassembly rather than emit something else.
                text = fmt::format("; unrepresentable instruction {{ {:#06x}, {}, {}, {:#010x} }}", c, in.jt, in.jf, in.k);
            } else {
                text = operand.empty() ? mn : mn + " " + operand;
            }
        }
        out += fmt::format("{:<8}{}\n", line, text);
    }
    return out;
}

// ----------------------------------------------------------------------------------------------
// Parsing.

/// A cursor over one line, reporting errors at its column.
class Line {
public:
    Line(std::string_view text, std::uint32_t lineno, const std::string& file)
        : text_(text), lineno_(lineno), file_(file) {}

    void skip_ws() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r')) ++pos_;
    }
    [[nodiscard]] bool at_end() {
        skip_ws();
        return pos_ >= text_.size();
    }
    [[nodiscard]] std::size_t pos() const { return pos_; }
    void set_pos(std::size_t p) { pos_ = p; }
    [[nodiscard]] char peek() {
        skip_ws();
        return pos_ < text_.size() ? text_[pos_] : '\0';
    }
    bool eat(char c) {
        if (peek() == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    /// A word of letters, digits and '_' (case kept).
    std::string_view word() {
        skip_ws();
        const std::size_t start = pos_;
        while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) != 0 || text_[pos_] == '_')) {
            ++pos_;
        }
        return text_.substr(start, pos_ - start);
    }
    /// A number: decimal with an optional sign, 0x hex, 0b binary, 0-prefixed octal; as u32
    /// (negative values wrap, as strtol into a u32 does in bpf_asm).
    std::optional<std::uint32_t> number(bool decimal_only = false) {
        skip_ws();
        std::size_t p = pos_;
        bool neg = false;
        if (p < text_.size() && (text_[p] == '-' || text_[p] == '+')) {
            neg = text_[p] == '-';
            ++p;
        }
        int base = 10;
        const bool prefixed = !decimal_only && p + 1 < text_.size() && text_[p] == '0';
        if (prefixed && (text_[p + 1] == 'x' || text_[p + 1] == 'X')) {
            base = 16;
            p += 2;
        } else if (prefixed && (text_[p + 1] == 'b' || text_[p + 1] == 'B')) {
            base = 2;
            p += 2;
        } else if (prefixed && std::isdigit(static_cast<unsigned char>(text_[p + 1])) != 0) {
            base = 8;
            p += 1;
        }
        std::uint64_t v = 0;
        const char* first = text_.data() + p;
        const char* last = text_.data() + text_.size();
        auto [ptr, ec] = std::from_chars(first, last, v, base);
        if (ec != std::errc() || ptr == first) {
            return std::nullopt;
        }
        if (ptr < last && (std::isalnum(static_cast<unsigned char>(*ptr)) != 0 || *ptr == '_')) {
            return std::nullopt;
        }
        const std::uint64_t limit = neg ? 0x80000000ULL : 0xffffffffULL;
        if (v > limit) {
            return std::nullopt;
        }
        pos_ = static_cast<std::size_t>(ptr - text_.data());
        return neg ? static_cast<std::uint32_t>(0U - static_cast<std::uint32_t>(v)) : static_cast<std::uint32_t>(v);
    }
    template <class... Args>
    [[nodiscard]] tl::unexpected<Error> error(fmt::format_string<Args...> f, Args&&... args) {
        skip_ws();
        return fail(Errc::Parse, SourcePos{file_, lineno_, static_cast<std::uint32_t>(pos_ + 1)}, f,
                    std::forward<Args>(args)...);
    }
    [[nodiscard]] std::string rest() { return std::string(text_.substr(std::min(pos_, text_.size()))); }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
    std::uint32_t lineno_;
    const std::string& file_;
};

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return out;
}

/// The ancillary load a name selects: libpcap's names (what tcpdump -d prints) and bpf_asm's.
std::optional<Ancillary> ancillary_by_name(std::string_view name) {
    const std::string n = lower(name);
    for (Ancillary a : all_ancillaries()) {
        if (n == ancillary_name(a) || (bpf_asm_ancillary(a) && n == *bpf_asm_ancillary(a))) {
            return a;
        }
    }
    if (n == "vlan_pr") return Ancillary::VlanTagPresent;
    if (n == "protocol") return Ancillary::Protocol;
    return std::nullopt;
}

/// A jump destination as written: an absolute instruction number (listing) or a label.
struct Target {
    std::optional<std::uint32_t> pc;
    std::string label;
    std::uint32_t col = 0;
};

/// One instruction being parsed, with the jump destinations still to resolve.
struct Parsed {
    Insn insn;
    std::optional<Target> jt, jf, ja;
};

enum class Syntax { Listing, BpfAsm };

using ParseResult = Result<Parsed>;

/// The operand after ld/ldh/ldb, shared by both syntaxes: `#k`, `#len`/`#pktlen`, `#name`/
/// `name` (ancillary), `M[k]`, `[k]`, `[name]`, `[x + k]`/`[%x + k]`.
ParseResult parse_load(Line& l, std::uint16_t sz, bool word_load) {
    Parsed p;
    const std::size_t start = l.pos();
    if (l.eat('#')) {
        if (auto v = l.number()) {
            if (!word_load) return l.error("ldh/ldb take a packet offset, not an immediate");
            p.insn = {static_cast<std::uint16_t>(kLd | kImm), 0, 0, *v};
            return p;
        }
        const auto w = l.word();
        if (lower(w) == "len" || lower(w) == "pktlen") {
            if (!word_load) return l.error("ldh/ldb cannot load the packet length; use ld #len");
            p.insn = {static_cast<std::uint16_t>(kLd | kW | kLen), 0, 0, 0};
            return p;
        }
        if (auto a = ancillary_by_name(w)) {
            p.insn = {static_cast<std::uint16_t>(kLd | sz | kAbs), 0, 0, kAdOff + static_cast<std::uint32_t>(*a)};
            return p;
        }
        l.set_pos(start + 1);
        return l.error("expected a number, len or an ancillary name after '#'");
    }
    if (l.peek() == 'M' || l.peek() == 'm') {
        const std::size_t at = l.pos();
        const auto w = l.word();
        if (lower(w) == "m" && l.eat('[')) {
            if (!word_load) return l.error("ldh/ldb cannot load scratch memory");
            auto v = l.number();
            if (!v) return l.error("expected a scratch slot number");
            if (!l.eat(']')) return l.error("expected ']'");
            p.insn = {static_cast<std::uint16_t>(kLd | kMem), 0, 0, *v};
            return p;
        }
        l.set_pos(at);
    }
    if (l.eat('[')) {
        const std::size_t at = l.pos();
        l.eat('%');
        const auto w = l.word();
        if (lower(w) == "x") {
            if (!l.eat('+')) return l.error("expected '+' after x");
            auto v = l.number();
            if (!v) return l.error("expected an offset");
            if (!l.eat(']')) return l.error("expected ']'");
            p.insn = {static_cast<std::uint16_t>(kLd | sz | kInd), 0, 0, *v};
            return p;
        }
        if (!w.empty()) {
            if (auto a = ancillary_by_name(w)) {
                if (!l.eat(']')) return l.error("expected ']'");
                p.insn = {static_cast<std::uint16_t>(kLd | sz | kAbs), 0, 0, kAdOff + static_cast<std::uint32_t>(*a)};
                return p;
            }
        }
        l.set_pos(at);
        auto v = l.number();
        if (!v) return l.error("expected an offset, x + offset or an ancillary name");
        if (!l.eat(']')) return l.error("expected ']'");
        p.insn = {static_cast<std::uint16_t>(kLd | sz | kAbs), 0, 0, *v};
        return p;
    }
    const auto w = l.word();
    if (auto a = ancillary_by_name(w)) {
        p.insn = {static_cast<std::uint16_t>(kLd | sz | kAbs), 0, 0, kAdOff + static_cast<std::uint32_t>(*a)};
        return p;
    }
    if (lower(w) == "len") {
        p.insn = {static_cast<std::uint16_t>(kLd | kW | kLen), 0, 0, 0};
        return p;
    }
    l.set_pos(start);
    return l.error("expected a load operand: #k, #len, M[k], [k], [x + k] or an ancillary name");
}

/// `4*([k]&0xf)` after ldxb (or ldx).
Result<std::uint32_t> parse_msh(Line& l) {
    auto four = l.number();
    if (!four || *four != 4) return l.error("expected 4*([k]&0xf)");
    if (!l.eat('*') || !l.eat('(') || !l.eat('[')) return l.error("expected 4*([k]&0xf)");
    auto k = l.number();
    if (!k) return l.error("expected an offset");
    if (!l.eat(']') || !l.eat('&')) return l.error("expected ']&0xf)'");
    auto mask = l.number();
    if (!mask || *mask != 0xf) return l.error("expected the mask 0xf");
    if (!l.eat(')')) return l.error("expected ')'");
    return *k;
}

/// `#k`, `x` or `%x`: the source of an ALU operation or comparison; sets BPF_X or k.
Result<void> parse_src(Line& l, Insn& in) {
    if (l.eat('#')) {
        auto v = l.number();
        if (!v) return l.error("expected a number after '#'");
        in.k = *v;
        return {};
    }
    const std::size_t at = l.pos();
    l.eat('%');
    if (lower(l.word()) == "x") {
        in.code |= kX;
        return {};
    }
    l.set_pos(at);
    return l.error("expected #k or x");
}

Result<Target> parse_target(Line& l, Syntax syn) {
    l.skip_ws();
    Target t;
    t.col = static_cast<std::uint32_t>(l.pos() + 1);
    if (syn == Syntax::Listing) {
        auto v = l.number(true);
        if (!v) return l.error("expected an instruction number");
        t.pc = *v;
        return t;
    }
    const auto w = l.word();
    if (w.empty()) return l.error("expected a label");
    t.label = std::string(w);
    return t;
}

/// One instruction after its mnemonic.
ParseResult parse_insn(Line& l, std::string_view mnemonic, Syntax syn) {
    const std::string mn = lower(mnemonic);
    Parsed p;
    Insn& in = p.insn;
    if (mn == "ld" || mn == "ldh" || mn == "ldb") {
        return parse_load(l, mn == "ld" ? kW : mn == "ldh" ? kH : kB, mn == "ld");
    }
    if (mn == "ldi" || mn == "ldxi") {
        l.eat('#');
        auto v = l.number();
        if (!v) return l.error("expected a number");
        in = {static_cast<std::uint16_t>(mn == "ldi" ? kLd | kImm : kLdx | kImm), 0, 0, *v};
        return p;
    }
    if (mn == "ldx" || mn == "ldxb") {
        if (l.peek() == '4' || mn == "ldxb") {
            auto k = parse_msh(l);
            if (!k) return tl::unexpected(k.error());
            in = {static_cast<std::uint16_t>(kLdx | kB | kMsh), 0, 0, *k};
            return p;
        }
        if (l.eat('#')) {
            if (auto v = l.number()) {
                in = {static_cast<std::uint16_t>(kLdx | kImm), 0, 0, *v};
                return p;
            }
            const auto w = lower(l.word());
            if (w == "len" || w == "pktlen") {
                in = {static_cast<std::uint16_t>(kLdx | kW | kLen), 0, 0, 0};
                return p;
            }
            return l.error("expected a number or len after '#'");
        }
        const std::size_t at = l.pos();
        const auto w = lower(l.word());
        if (w == "len") {
            in = {static_cast<std::uint16_t>(kLdx | kW | kLen), 0, 0, 0};
            return p;
        }
        if (w == "m" && l.eat('[')) {
            auto v = l.number();
            if (!v || !l.eat(']')) return l.error("expected M[k]");
            in = {static_cast<std::uint16_t>(kLdx | kMem), 0, 0, *v};
            return p;
        }
        l.set_pos(at);
        return l.error("expected an ldx operand: #k, #len, M[k] or 4*([k]&0xf)");
    }
    if (mn == "st" || mn == "stx") {
        if (lower(l.word()) != "m" || !l.eat('[')) return l.error("expected M[k]");
        auto v = l.number();
        if (!v || !l.eat(']')) return l.error("expected M[k]");
        in = {static_cast<std::uint16_t>(mn == "st" ? kSt : kStx), 0, 0, *v};
        return p;
    }
    if (mn == "ja" || mn == "jmp") {
        auto t = parse_target(l, syn);
        if (!t) return tl::unexpected(t.error());
        in.code = kJmp | kJa;
        p.ja = *t;
        return p;
    }
    static const std::map<std::string, std::pair<std::uint16_t, int>, std::less<>> kJumps = {
        // (op, form): form 0 = jt[, jf]; 1 = only the false target (jneq/jlt/jle)
        {"jeq", {kJeq, 0}}, {"jgt", {kJgt, 0}}, {"jge", {kJge, 0}}, {"jset", {kJset, 0}},
        {"jneq", {kJeq, 1}}, {"jne", {kJeq, 1}}, {"jlt", {kJge, 1}}, {"jle", {kJgt, 1}},
    };
    if (auto it = kJumps.find(mn); it != kJumps.end() && (syn == Syntax::BpfAsm || it->second.second == 0)) {
        in.code = static_cast<std::uint16_t>(kJmp | it->second.first);
        if (auto r = parse_src(l, in); !r) return tl::unexpected(r.error());
        if (syn == Syntax::Listing) {
            if (lower(l.word()) != "jt") return l.error("expected 'jt N'");
            auto t = parse_target(l, syn);
            if (!t) return tl::unexpected(t.error());
            if (lower(l.word()) != "jf") return l.error("expected 'jf N'");
            auto f = parse_target(l, syn);
            if (!f) return tl::unexpected(f.error());
            p.jt = *t;
            p.jf = *f;
            return p;
        }
        if (!l.eat(',')) return l.error("expected ',' and a label");
        auto t = parse_target(l, syn);
        if (!t) return tl::unexpected(t.error());
        if (it->second.second == 1) {
            p.jf = *t;
            return p;
        }
        p.jt = *t;
        if (l.eat(',')) {
            auto f = parse_target(l, syn);
            if (!f) return tl::unexpected(f.error());
            p.jf = *f;
        }
        return p;
    }
    static const std::map<std::string, std::uint16_t, std::less<>> kAlu = {
        {"add", kAdd}, {"sub", kSub}, {"mul", kMul}, {"div", kDiv}, {"mod", kMod}, {"and", kAnd},
        {"or", kOr},   {"xor", kXor}, {"lsh", kLsh}, {"rsh", kRsh},
    };
    if (auto it = kAlu.find(mn); it != kAlu.end()) {
        in.code = static_cast<std::uint16_t>(code::kAlu | it->second);
        if (auto r = parse_src(l, in); !r) return tl::unexpected(r.error());
        return p;
    }
    if (mn == "neg") {
        in.code = code::kAlu | kNeg;
        return p;
    }
    if (mn == "tax" || mn == "txa") {
        in.code = static_cast<std::uint16_t>(kMisc | (mn == "tax" ? kTax : kTxa));
        return p;
    }
    if (mn == "ret") {
        if (l.at_end()) {
            in.code = kRet | kA;  // tcpdump -d prints "ret" alone for ret a
            return p;
        }
        if (l.eat('#')) {
            auto v = l.number();
            if (!v) return l.error("expected a number after '#'");
            in = {static_cast<std::uint16_t>(kRet | kK), 0, 0, *v};
            return p;
        }
        l.eat('%');
        const auto w = lower(l.word());
        if (w == "a") {
            in.code = kRet | kA;
            return p;
        }
        if (w == "x") {
            in.code = kRet | kX;  // bpf_asm accepts it; validation rejects it for sockets
            return p;
        }
        return l.error("expected #k or a after ret");
    }
    return fail(Errc::Parse, "unknown mnemonic");
}

/// Strips a `;` comment and `/* ... */` comments on one line (and bpf_asm's `#` comment lines).
std::string strip_comments(std::string_view line, Syntax syn) {
    std::string out;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == ';') break;
        if (line[i] == '/' && i + 1 < line.size() && line[i + 1] == '*') {
            const std::size_t end = line.find("*/", i + 2);
            if (end == std::string_view::npos) break;
            out.append(end + 2 - i, ' ');  // keep columns
            i = end + 1;
            continue;
        }
        out += line[i];
    }
    if (syn == Syntax::BpfAsm && !out.empty() && out[0] == '#') return {};
    return out;
}

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t nl = text.find('\n', start);
        const std::size_t end = nl == std::string_view::npos ? text.size() : nl;
        lines.push_back(text.substr(start, end - start));
        if (nl == std::string_view::npos) break;
        start = nl + 1;
    }
    return lines;
}

bool blank(std::string_view s) {
    for (char ch : s) {
        if (ch != ' ' && ch != '\t' && ch != '\r') return false;
    }
    return true;
}

/// Resolves a jump destination to a jt/jf/ja displacement from `pc`.
Result<std::uint32_t> displacement(const Target& t, std::size_t pc, const std::map<std::string, std::size_t>& labels,
                                   std::size_t count, std::uint32_t lineno, const std::string& file, bool wide) {
    std::size_t dest = 0;
    if (t.pc) {
        dest = *t.pc;
    } else {
        auto it = labels.find(t.label);
        if (it == labels.end()) {
            return fail(Errc::Parse, SourcePos{file, lineno, t.col}, "no label '{}'", t.label);
        }
        dest = it->second;
    }
    if (dest <= pc || dest >= count) {
        return fail(Errc::Parse, SourcePos{file, lineno, t.col},
                    "jump from instruction {} to {}: classic jumps go forward to an existing instruction", pc, dest);
    }
    const std::size_t d = dest - pc - 1;
    if (!wide && d > 255) {
        return fail(Errc::Parse, SourcePos{file, lineno, t.col},
                    "jump from instruction {} to {} is {} instructions forward; jt/jf hold at most 255", pc, dest, d);
    }
    return static_cast<std::uint32_t>(d);
}

Result<Filter> parse_assembly(std::string_view text, Syntax syn, const std::string& file) {
    struct Pending {
        Parsed p;
        std::uint32_t lineno;
    };
    std::vector<Pending> insns;
    std::map<std::string, std::size_t> labels;
    const auto lines = split_lines(text);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto lineno = static_cast<std::uint32_t>(i + 1);
        const std::string stripped = strip_comments(lines[i], syn);
        Line l(stripped, lineno, file);
        if (l.at_end()) continue;
        if (syn == Syntax::Listing) {
            if (!l.eat('(')) return l.error("expected '(NNN)' at the start of a tcpdump -d line");
            const std::size_t at = l.pos();
            auto n = l.number(true);
            if (!n || !l.eat(')')) return l.error("expected '(NNN)' at the start of a tcpdump -d line");
            if (*n != insns.size()) {
                l.set_pos(at);
                return l.error("instruction numbered {} where {} was expected", *n, insns.size());
            }
        }
        std::size_t mn_col = l.pos();
        std::string_view mn = l.word();
        while (syn == Syntax::BpfAsm && !mn.empty() && l.peek() == ':') {
            l.eat(':');
            const std::string name(mn);
            if (labels.count(name) != 0) {
                l.set_pos(mn_col);
                return l.error("label '{}' defined twice", name);
            }
            labels[name] = insns.size();
            if (l.at_end()) break;
            mn_col = l.pos();
            mn = l.word();
        }
        if (l.at_end() && mn.empty()) continue;
        if (mn.empty()) return l.error("expected a mnemonic");
        auto parsed = parse_insn(l, mn, syn);
        if (!parsed) {
            if (parsed.error().where.index() == 0) {
                l.set_pos(mn_col);
                return l.error("unknown mnemonic '{}'", mn);
            }
            return tl::unexpected(parsed.error());
        }
        if (!l.at_end()) return l.error("unexpected '{}' after the instruction", l.rest());
        insns.push_back({std::move(*parsed), lineno});
        if (insns.size() > kMaxInsns) {
            return l.error("more than {} instructions (BPF_MAXINSNS)", kMaxInsns);
        }
    }
    if (insns.empty()) {
        return fail(Errc::Parse, SourcePos{file, 1, 0}, "no instructions");
    }
    Filter out;
    for (std::size_t pc = 0; pc < insns.size(); ++pc) {
        Parsed& p = insns[pc].p;
        const std::uint32_t ln = insns[pc].lineno;
        if (p.ja) {
            auto d = displacement(*p.ja, pc, labels, insns.size(), ln, file, true);
            if (!d) return tl::unexpected(d.error());
            p.insn.k = *d;
        }
        if (p.jt) {
            auto d = displacement(*p.jt, pc, labels, insns.size(), ln, file, false);
            if (!d) return tl::unexpected(d.error());
            p.insn.jt = static_cast<std::uint8_t>(*d);
        }
        if (p.jf) {
            auto d = displacement(*p.jf, pc, labels, insns.size(), ln, file, false);
            if (!d) return tl::unexpected(d.error());
            p.insn.jf = static_cast<std::uint8_t>(*d);
        }
        out.push_back(p.insn);
    }
    return out;
}

/// Four numbers of one record: code, jt, jf, k (each within its field's range).
Result<Insn> record(Line& l, const char* sep) {
    std::uint32_t v[4];
    static constexpr std::uint32_t kMax[4] = {0xffff, 0xff, 0xff, 0xffffffff};
    static constexpr const char* kName[4] = {"code", "jt", "jf", "k"};
    for (int i = 0; i < 4; ++i) {
        if (i > 0 && *sep != '\0' && !l.eat(*sep)) return l.error("expected '{}' before {}", sep, kName[i]);
        auto n = l.number();
        if (!n) return l.error("expected a number ({})", kName[i]);
        if (*n > kMax[i]) return l.error("{} {} does not fit its field (at most {})", kName[i], *n, kMax[i]);
        v[i] = *n;
    }
    return Insn{static_cast<std::uint16_t>(v[0]), static_cast<std::uint8_t>(v[1]), static_cast<std::uint8_t>(v[2]), v[3]};
}

Result<Filter> parse_c_array(std::string_view text, const std::string& file) {
    Filter out;
    const auto lines = split_lines(text);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string s = strip_comments(lines[i], Syntax::Listing);
        Line l(s, static_cast<std::uint32_t>(i + 1), file);
        while (!l.at_end()) {
            if (!l.eat('{')) return l.error("expected '{{' starting a {{ code, jt, jf, k }} record");
            auto r = record(l, ",");
            if (!r) return tl::unexpected(r.error());
            if (!l.eat('}')) return l.error("expected '}}' closing the record");
            l.eat(',');
            out.push_back(*r);
        }
    }
    if (out.empty()) return fail(Errc::Parse, SourcePos{file, 1, 0}, "no {{ code, jt, jf, k }} records");
    return out;
}

Result<Filter> parse_decimal(std::string_view text, const std::string& file) {
    Filter out;
    std::optional<std::uint32_t> count;
    std::uint32_t last_line = 1;
    const auto lines = split_lines(text);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        Line l(lines[i], static_cast<std::uint32_t>(i + 1), file);
        if (l.at_end()) continue;
        last_line = static_cast<std::uint32_t>(i + 1);
        if (!count) {
            count = l.number();
            if (!count) return l.error("expected the instruction count (tcpdump -ddd's first line)");
            if (!l.at_end()) return l.error("expected only the instruction count on the first line");
            continue;
        }
        if (out.size() == *count) return l.error("more records than the count {} on the first line", *count);
        auto r = record(l, "");
        if (!r) return tl::unexpected(r.error());
        if (!l.at_end()) return l.error("expected four numbers: code jt jf k");
        out.push_back(*r);
    }
    if (!count) return fail(Errc::Parse, SourcePos{file, 1, 0}, "empty input");
    if (out.size() != *count) {
        return fail(Errc::Parse, SourcePos{file, last_line, 0}, "the first line says {} instructions, {} follow",
                    *count, out.size());
    }
    return out;
}

Result<Filter> parse_bytecode(std::string_view text, const std::string& file) {
    // One logical line; newlines are allowed between records and are counted for positions.
    Filter out;
    std::string joined(text);
    for (char& ch : joined) {
        if (ch == '\n') ch = ' ';
    }
    Line l(joined, 1, file);
    auto count = l.number();
    if (!count || !l.eat(',')) return l.error("expected 'N,' (the instruction count and a comma)");
    while (!l.at_end()) {
        auto r = record(l, "");
        if (!r) return tl::unexpected(r.error());
        out.push_back(*r);
        if (!l.eat(',') && !l.at_end()) return l.error("expected ',' after a record");
    }
    if (out.size() != *count) {
        return l.error("the count says {} instructions, {} follow", *count, out.size());
    }
    return out;
}

}  // namespace

std::string_view text_format_name(TextFormat f) {
    switch (f) {
        case TextFormat::Listing: return "listing";
        case TextFormat::CArray: return "c";
        case TextFormat::Decimal: return "decimal";
        case TextFormat::Bytecode: return "bytecode";
        case TextFormat::BpfAsm: return "bpf_asm";
    }
    return "?";
}

Result<TextFormat> parse_text_format(std::string_view name) {
    for (TextFormat f : {TextFormat::Listing, TextFormat::CArray, TextFormat::Decimal, TextFormat::Bytecode,
                         TextFormat::BpfAsm}) {
        if (name == text_format_name(f)) return f;
    }
    return fail(Errc::InvalidArgument, "unknown classic format '{}' (listing, c, decimal, bytecode, bpf_asm)", name);
}

std::string format_insn(const Insn& in, std::size_t pc) {
    const auto [mn, operand] = image(in, pc);
    if (is_cond_jump(in.code) && (in.code & 0xff00) == 0) {
        return fmt::format("{:<8} {:<16} jt {}\tjf {}", mn, operand, pc + 1 + in.jt, pc + 1 + in.jf);
    }
    return fmt::format("{:<8} {}", mn, operand);
}

std::string write_text(std::span<const Insn> f, TextFormat fmt_) {
    std::string out;
    switch (fmt_) {
        case TextFormat::Listing: return write_listing(f);
        case TextFormat::CArray:
            for (const Insn& in : f) out += fmt::format("{{ {:#x}, {}, {}, {:#010x} }},\n", in.code, in.jt, in.jf, in.k);
            return out;
        case TextFormat::Decimal:
            out = fmt::format("{}\n", f.size());
            for (const Insn& in : f) out += fmt::format("{} {} {} {}\n", in.code, in.jt, in.jf, in.k);
            return out;
        case TextFormat::Bytecode:
            out = fmt::format("{},", f.size());
            for (const Insn& in : f) out += fmt::format("{} {} {} {},", in.code, in.jt, in.jf, in.k);
            return out + "\n";
        case TextFormat::BpfAsm: return write_bpf_asm(f);
    }
    return out;
}

Result<Filter> parse_text(std::string_view text, TextFormat f, const std::string& file) {
    switch (f) {
        case TextFormat::Listing: return parse_assembly(text, Syntax::Listing, file);
        case TextFormat::CArray: return parse_c_array(text, file);
        case TextFormat::Decimal: return parse_decimal(text, file);
        case TextFormat::Bytecode: return parse_bytecode(text, file);
        case TextFormat::BpfAsm: return parse_assembly(text, Syntax::BpfAsm, file);
    }
    return fail(Errc::InvalidArgument, "unknown classic format");
}

std::optional<TextFormat> sniff_text_format(std::string_view text) {
    const auto lines = split_lines(text);
    std::size_t i = 0;
    while (i < lines.size() && blank(lines[i])) ++i;
    if (i == lines.size()) return std::nullopt;
    std::string_view first = lines[i];
    while (!first.empty() && (first.front() == ' ' || first.front() == '\t')) first.remove_prefix(1);
    if (first.size() > 1 && first[0] == '(' && std::isdigit(static_cast<unsigned char>(first[1])) != 0) {
        return TextFormat::Listing;
    }
    if (first[0] == '{') return TextFormat::CArray;
    std::size_t d = 0;
    while (d < first.size() && std::isdigit(static_cast<unsigned char>(first[d])) != 0) ++d;
    if (d == 0) return std::nullopt;
    if (d < first.size() && first[d] == ',') return TextFormat::Bytecode;
    if (blank(first.substr(d))) return TextFormat::Decimal;
    return std::nullopt;
}

}  // namespace sockfilter::cbpf
