// SPDX-License-Identifier: MIT
// Line lexer and token cursor shared by the two syntax parsers (internal to lib/asm).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockfilter::assembler::detail {

/// A parse failure inside one line; the assembler's entry point turns it into an Error with a SourcePos.
/// Never escapes lib/asm.
struct ParseError {
    std::uint32_t col;  ///< 1-based column
    std::string message;
};

/// Token kinds: identifiers (`[A-Za-z_.][A-Za-z0-9_.]*`), numbers (a digit followed by letters and digits,
/// checked when converted) and single punctuation characters.
enum class Tok : std::uint8_t { Ident, Number, Punct, End };

/// One token of a line.
struct Token {
    Tok kind = Tok::End;
    std::string_view text;
    std::uint32_t col = 0;  ///< 1-based column of the first character
    bool spaced = true;     ///< white space (or the line start) precedes it
};

/// Splits one line (without its newline) into tokens, ending with a Tok::End token. Comments run from `;`,
/// `//` or `#` to the end of the line; a `#` directly after an identifier is a token (bpftool's `name#id`).
/// Throws ParseError on a character no syntax uses.
[[nodiscard]] std::vector<Token> lex_line(std::string_view line);

/// How a token is quoted in messages: `'text'` or `end of line`.
[[nodiscard]] std::string describe(const Token& t);

/// Reads tokens of one line; every failure is a ParseError "expected X, found Y" at the current token.
class Cursor {
public:
    /// Reads `tokens`, which must end with a Tok::End token and outlive the cursor.
    explicit Cursor(const std::vector<Token>& tokens) : tokens_(tokens) {}

    /// The token `ahead` places on (the End token past the end).
    [[nodiscard]] const Token& peek(std::size_t ahead = 0) const;
    /// True when only the End token is left.
    [[nodiscard]] bool at_end() const { return peek().kind == Tok::End; }
    /// Consumes and returns the next token (never moves past End).
    const Token& next();
    /// True when the next token is `text` (an identifier or one punctuation character).
    [[nodiscard]] bool is(std::string_view text, std::size_t ahead = 0) const;
    /// Consumes the next token when it is `text`.
    bool accept(std::string_view text);
    /// Consumes `text` or fails with "expected 'text'".
    void expect(std::string_view text);
    /// Fails at the current token: "expected <what>, found <token>".
    [[noreturn]] void fail_expected(std::string_view what) const;
    /// Fails at the current token with `message`.
    [[noreturn]] void fail(std::string message) const;
    /// Fails unless the line is finished ("expected end of line").
    void expect_end() const;

    /// Consumes the longest operator from `known` spelled by the next adjacent punctuation tokens (a
    /// leading identifier `s` joins them: `s>>=`). Returns nullopt, consuming nothing, when none matches.
    std::optional<std::string> accept_operator(const std::vector<std::string>& known);

    /// An integer literal as written: magnitude, sign, position and spelling.
    struct Signed {
        std::uint64_t magnitude;
        bool negative;
        std::uint32_t col;
        std::string text;  ///< as written, for messages
    };
    /// Reads an optionally signed integer literal; "expected <what>" when there is none.
    Signed read_signed(std::string_view what);
    /// True when the next tokens start a number (a digit, or `+`/`-` followed by a digit).
    [[nodiscard]] bool at_number() const;

    /// A signed value in [lo, hi]; "expected <what>, found <text>" otherwise.
    std::int64_t read_int(std::string_view what, std::int64_t lo, std::int64_t hi);
    /// A 32-bit immediate: any value in [-2^31, 2^32 - 1], wrapped to int32.
    std::int32_t read_imm32();
    /// A 64-bit immediate: any value in [-2^63, 2^64 - 1], wrapped to uint64.
    std::uint64_t read_imm64();
    /// A 16-bit signed offset.
    std::int16_t read_off16();

private:
    const std::vector<Token>& tokens_;
    std::size_t pos_ = 0;
};

/// Parses an unsigned literal: decimal or 0x-hex; nullopt when malformed or above 2^64 - 1.
[[nodiscard]] std::optional<std::uint64_t> parse_number(std::string_view text);

/// Register number when `text` is `<letter>0`..`<letter>10` (`r7`, `w3`); -1 when it has the shape of a
/// register but is out of range (`r11`, `r007`); nullopt when it is not a register name at all.
[[nodiscard]] std::optional<int> register_number(std::string_view text, char letter);

}  // namespace sockfilter::assembler::detail
