// SPDX-License-Identifier: MIT
// Line lexer, literal parsing and the token cursor of the assembler.
#include "asm/lexer.h"

#include <fmt/format.h>

#include <limits>

namespace sockfilter::assembler::detail {

namespace {

constexpr bool is_ident_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '.';
}
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }
constexpr bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }
constexpr std::string_view kPunct = ",[]()+-*=<>!&|^/%:#~";

constexpr std::uint64_t kTwoTo31 = std::uint64_t{1} << 31;
constexpr std::uint64_t kTwoTo63 = std::uint64_t{1} << 63;

std::uint32_t column(std::size_t index) { return static_cast<std::uint32_t>(index + 1); }

}  // namespace

std::vector<Token> lex_line(std::string_view line) {
    std::vector<Token> out;
    std::size_t i = 0;
    bool spaced = true;
    while (i < line.size()) {
        const char c = line[i];
        if (is_space(c)) {
            spaced = true;
            ++i;
            continue;
        }
        if (c == ';' || (c == '/' && i + 1 < line.size() && line[i + 1] == '/')) {
            break;
        }
        if (c == '#' && (i == 0 || !is_ident_char(line[i - 1]))) {
            break;
        }
        Token t;
        t.col = column(i);
        t.spaced = spaced;
        const std::size_t start = i;
        if (is_ident_start(c)) {
            while (i < line.size() && is_ident_char(line[i])) {
                ++i;
            }
            t.kind = Tok::Ident;
        } else if (is_digit(c)) {
            while (i < line.size() && is_ident_char(line[i])) {
                ++i;
            }
            t.kind = Tok::Number;
        } else if (kPunct.find(c) != std::string_view::npos) {
            ++i;
            t.kind = Tok::Punct;
        } else {
            const auto byte = static_cast<unsigned char>(c);
            if (byte >= 0x20 && byte < 0x7f) {
                throw ParseError{column(i), fmt::format("unexpected character '{}'", c)};
            }
            throw ParseError{column(i), fmt::format("unexpected character '\\x{:02x}'", byte)};
        }
        t.text = line.substr(start, i - start);
        out.push_back(t);
        spaced = false;
    }
    Token end;
    end.kind = Tok::End;
    end.col = column(line.size());
    out.push_back(end);
    return out;
}

std::string describe(const Token& t) {
    if (t.kind == Tok::End) {
        return "end of line";
    }
    return fmt::format("'{}'", t.text);
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
    unsigned base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    if (text.empty()) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (char c : text) {
        unsigned d = 0;
        if (is_digit(c)) {
            d = static_cast<unsigned>(c - '0');
        } else if (base == 16 && c >= 'a' && c <= 'f') {
            d = static_cast<unsigned>(c - 'a' + 10);
        } else if (base == 16 && c >= 'A' && c <= 'F') {
            d = static_cast<unsigned>(c - 'A' + 10);
        } else {
            return std::nullopt;
        }
        if (v > (std::numeric_limits<std::uint64_t>::max() - d) / base) {
            return std::nullopt;
        }
        v = v * base + d;
    }
    return v;
}

std::optional<int> register_number(std::string_view text, char letter) {
    if (text.size() < 2 || text[0] != letter) {
        return std::nullopt;
    }
    for (std::size_t i = 1; i < text.size(); ++i) {
        if (!is_digit(text[i])) {
            return std::nullopt;
        }
    }
    const std::string_view digits = text.substr(1);
    if (digits.size() > 2 || (digits.size() == 2 && digits != "10")) {
        return -1;
    }
    return digits == "10" ? 10 : digits[0] - '0';
}

const Token& Cursor::peek(std::size_t ahead) const {
    const std::size_t i = pos_ + ahead;
    return i < tokens_.size() ? tokens_[i] : tokens_.back();
}

const Token& Cursor::next() {
    const Token& t = peek();
    if (pos_ + 1 < tokens_.size()) {
        ++pos_;
    }
    return t;
}

bool Cursor::is(std::string_view text, std::size_t ahead) const {
    const Token& t = peek(ahead);
    return t.kind != Tok::End && t.text == text;
}

bool Cursor::accept(std::string_view text) {
    if (is(text)) {
        next();
        return true;
    }
    return false;
}

void Cursor::expect(std::string_view text) {
    if (!accept(text)) {
        fail_expected(fmt::format("'{}'", text));
    }
}

void Cursor::fail_expected(std::string_view what) const {
    throw ParseError{peek().col, fmt::format("expected {}, found {}", what, describe(peek()))};
}

void Cursor::fail(std::string message) const { throw ParseError{peek().col, std::move(message)}; }

void Cursor::expect_end() const {
    if (!at_end()) {
        fail_expected("end of line");
    }
}

std::optional<std::string> Cursor::accept_operator(const std::vector<std::string>& known) {
    std::string spelled;
    std::size_t count = 0;
    std::vector<std::size_t> ends;  // spelled.size() after each token
    if (peek().kind == Tok::Ident && peek().text == "s" && peek(1).kind == Tok::Punct && !peek(1).spaced) {
        spelled = "s";
        ends.push_back(spelled.size());
        ++count;
    }
    while (peek(count).kind == Tok::Punct && (count == 0 || !peek(count).spaced) && spelled.size() < 4) {
        const char c = peek(count).text[0];
        if (std::string_view("=<>!&|^/%*+-").find(c) == std::string_view::npos) {
            break;
        }
        spelled += c;
        ends.push_back(spelled.size());
        ++count;
    }
    for (std::size_t n = count; n > 0; --n) {
        const std::string candidate = spelled.substr(0, ends[n - 1]);
        for (const auto& k : known) {
            if (k == candidate) {
                for (std::size_t j = 0; j < n; ++j) {
                    next();
                }
                return candidate;
            }
        }
    }
    return std::nullopt;
}

bool Cursor::at_number() const {
    if (peek().kind == Tok::Number) {
        return true;
    }
    return (is("+") || is("-")) && peek(1).kind == Tok::Number;
}

Cursor::Signed Cursor::read_signed(std::string_view what) {
    Signed s{0, false, peek().col, {}};
    if (is("+") || is("-")) {
        s.negative = is("-");
        s.text = std::string(peek().text);
        if (peek(1).kind != Tok::Number) {
            next();
            fail_expected(what);
        }
        next();
    }
    if (peek().kind != Tok::Number) {
        fail_expected(what);
    }
    const Token& t = peek();
    auto v = parse_number(t.text);
    if (!v) {
        fail(fmt::format("expected {}, found malformed number '{}'", what, t.text));
    }
    s.magnitude = *v;
    s.text += std::string(t.text);
    next();
    return s;
}

std::int64_t Cursor::read_int(std::string_view what, std::int64_t lo, std::int64_t hi) {
    const Signed s = read_signed(what);
    bool ok = false;
    std::int64_t v = 0;
    if (s.negative) {
        if (s.magnitude <= kTwoTo63) {
            v = s.magnitude == kTwoTo63 ? std::numeric_limits<std::int64_t>::min()
                                         : -static_cast<std::int64_t>(s.magnitude);
            ok = v >= lo && v <= hi;
        }
    } else if (s.magnitude < kTwoTo63) {
        v = static_cast<std::int64_t>(s.magnitude);
        ok = v >= lo && v <= hi;
    }
    if (!ok) {
        throw ParseError{s.col, fmt::format("expected {}, found {}", what, s.text)};
    }
    return v;
}

std::int32_t Cursor::read_imm32() {
    const std::int64_t v = read_int("a 32-bit immediate", -static_cast<std::int64_t>(kTwoTo31), 0xffffffffLL);
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(v)));
}

std::uint64_t Cursor::read_imm64() {
    const Signed s = read_signed("a 64-bit immediate");
    if (s.negative) {
        if (s.magnitude > kTwoTo63) {
            throw ParseError{s.col, fmt::format("expected a 64-bit immediate, found {}", s.text)};
        }
        return ~s.magnitude + 1;
    }
    return s.magnitude;
}

std::int16_t Cursor::read_off16() {
    return static_cast<std::int16_t>(read_int("a 16-bit offset", std::numeric_limits<std::int16_t>::min(),
                                              std::numeric_limits<std::int16_t>::max()));
}

}  // namespace sockfilter::assembler::detail
