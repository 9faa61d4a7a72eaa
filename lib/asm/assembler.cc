// SPDX-License-Identifier: MIT
// The assembler's driver: lines, labels, syntax detection, encoding and label fixups.
#include <fmt/format.h>

#include <limits>
#include <optional>
#include <unordered_map>

#include "asm/assembler.h"
#include "asm/parser.h"
#include "asm/tables.h"

namespace sockfilter::assembler {

namespace {

using detail::Cursor;
using detail::ParseError;
using detail::Stmt;
using detail::Tok;
using detail::Token;

/// Splits on '\n'; the pieces keep no newline.
std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos) {
            lines.push_back(text.substr(start));
            break;
        }
        lines.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return lines;
}

/// Skips what precedes an instruction: a slot-number prefix (`12:`, as `disasm --pc` prints), an
/// llvm-objdump symbol line (`0000000000000078 <LBB0_2>:`, returned as a label) and `name:` labels.
std::vector<Token> skip_prefix(Cursor& c) {
    std::vector<Token> labels;
    if (c.peek().kind == Tok::Number && c.is(":", 1)) {
        c.next();
        c.next();
    } else if (c.peek().kind == Tok::Number && c.is("<", 1) && c.peek(2).kind == Tok::Ident && c.is(">", 3) &&
               c.is(":", 4)) {
        c.next();
        c.next();
        labels.push_back(c.next());
        c.next();
        c.next();
    }
    while (c.peek().kind == Tok::Ident && c.is(":", 1)) {
        labels.push_back(c.next());
        c.next();
    }
    return labels;
}

std::optional<Syntax> detect_line(const std::vector<Token>& tokens) {
    Cursor c(tokens);
    skip_prefix(c);
    if (c.at_end()) {
        return std::nullopt;
    }
    for (std::size_t i = 0; c.peek(i).kind != Tok::End; ++i) {
        const Token& t = c.peek(i);
        if (t.kind == Tok::Punct && t.text == "%" && c.peek(i + 1).kind == Tok::Ident && !c.peek(i + 1).spaced) {
            return Syntax::Conformance;
        }
    }
    if (c.peek().kind == Tok::Ident && detail::tables().conf_only.contains(std::string(c.peek().text))) {
        return Syntax::Conformance;
    }
    for (std::size_t i = 0; c.peek(i).kind != Tok::End; ++i) {
        const Token& t = c.peek(i);
        if (t.kind == Tok::Ident && (t.text == "if" || t.text == "goto" || t.text == "gotol" ||
                                     detail::register_number(t.text, 'r') || detail::register_number(t.text, 'w'))) {
            return Syntax::Kernel;
        }
        if (t.kind == Tok::Punct && t.text == "=") {
            return Syntax::Kernel;
        }
        if (t.kind == Tok::Ident && ((t.text == "pc" && (c.is("+", i + 1) || c.is("-", i + 1))) ||
                                     (c.is("#", i + 1) && !c.peek(i + 1).spaced))) {
            return Syntax::Kernel;
        }
    }
    return std::nullopt;
}

/// A label reference waiting for its definition.
struct Fixup {
    std::size_t pc;
    isa::Op op;
    detail::LabelRef ref;
    std::uint32_t line;
};

void encode(const Stmt& s, std::vector<isa::Insn>& slots) {
    slots.push_back(isa::encode_op(s.op, s.insn.dst, s.insn.src, s.insn.off, s.insn.imm));
    if (isa::width(s.op) == 2) {
        isa::Insn hi{};
        hi.imm = s.hi;
        slots.push_back(hi);
    }
}

}  // namespace

Syntax detect_syntax(std::string_view text) {
    for (std::string_view line : split_lines(text)) {
        try {
            const auto tokens = detail::lex_line(line);
            if (auto s = detect_line(tokens)) {
                return *s;
            }
        } catch (const ParseError&) {
            continue;
        }
    }
    return Syntax::Conformance;
}

Result<Assembly> assemble_slots(std::string_view text, std::string_view file_name, Syntax syntax) {
    if (syntax == Syntax::Auto) {
        syntax = detect_syntax(text);
    }
    const std::string file(file_name);
    Assembly out;
    std::unordered_map<std::string, std::pair<std::size_t, std::uint32_t>> labels;  // name -> (pc, line)
    std::vector<Fixup> fixups;
    std::optional<std::size_t> first_exit;
    const auto lines = split_lines(text);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto line_no = static_cast<std::uint32_t>(i + 1);
        try {
            const auto tokens = detail::lex_line(lines[i]);
            Cursor c(tokens);
            for (const Token& label : skip_prefix(c)) {
                const std::string name(label.text);
                auto [it, inserted] = labels.emplace(name, std::make_pair(out.slots.size(), line_no));
                if (!inserted) {
                    throw ParseError{label.col, fmt::format("duplicate label '{}' (first defined at line {})", name,
                                                            it->second.second)};
                }
            }
            if (c.at_end()) {
                continue;
            }
            const std::uint32_t col = c.peek().col;
            Stmt s = syntax == Syntax::Kernel ? detail::parse_kernel(c) : detail::parse_conformance(c);
            if (s.label) {
                fixups.push_back(Fixup{out.slots.size(), s.op, *s.label, line_no});
            }
            if (s.op == isa::Op::Exit && !first_exit) {
                first_exit = out.slots.size();
            }
            encode(s, out.slots);
            out.source.resize(out.slots.size(), SourcePos{file, line_no, col});
        } catch (const ParseError& e) {
            return fail(Errc::Parse, SourcePos{file, line_no, e.col}, "{}", e.message);
        }
    }
    for (const Fixup& f : fixups) {
        const SourcePos at{file, f.line, f.ref.col};
        std::size_t target = 0;
        if (auto it = labels.find(f.ref.name); it != labels.end()) {
            target = it->second.first;
        } else if (f.ref.name == "exit" && first_exit) {
            // The suite's assembler lets `exit` name the first exit instruction.
            target = *first_exit;
        } else {
            return fail(Errc::Parse, at, "undefined label '{}'", f.ref.name);
        }
        const std::int64_t delta = static_cast<std::int64_t>(target) - static_cast<std::int64_t>(f.pc) - 1;
        isa::Insn& in = out.slots[f.pc];
        if (detail::target_in_imm(f.op)) {
            if (delta < std::numeric_limits<std::int32_t>::min() || delta > std::numeric_limits<std::int32_t>::max()) {
                return fail(Errc::Parse, at, "expected a target within 32-bit offset range, found label '{}' at {:+}",
                            f.ref.name, delta);
            }
            in.imm = static_cast<std::int32_t>(delta);
        } else {
            if (delta < std::numeric_limits<std::int16_t>::min() || delta > std::numeric_limits<std::int16_t>::max()) {
                return fail(Errc::Parse, at, "expected a target within 16-bit offset range, found label '{}' at {:+}",
                            f.ref.name, delta);
            }
            in.off = static_cast<std::int16_t>(delta);
        }
    }
    return out;
}

Result<program::Program> assemble(std::string_view text, std::string_view file_name, Syntax syntax) {
    auto a = assemble_slots(text, file_name, syntax);
    if (!a) {
        return tl::unexpected(std::move(a.error()));
    }
    return program::Program::from_slots(std::string(file_name), std::move(a->slots), std::move(a->source));
}

}  // namespace sockfilter::assembler
