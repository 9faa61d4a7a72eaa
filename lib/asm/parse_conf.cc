// SPDX-License-Identifier: MIT
// Parser of the bpf_conformance syntax: `mnemonic operand, operand, ...` with `%rN` registers.
#include <fmt/format.h>

#include <algorithm>

#include "asm/parser.h"
#include "asm/tables.h"

namespace sockfilter::assembler::detail {

namespace {

using isa::Format;
using isa::Op;

constexpr std::string_view kRegister = "a register %r0-%r10";

bool at_reg(const Cursor& c) { return c.is("%"); }

std::uint8_t reg(Cursor& c) {
    const Token& name = c.peek(1);
    if (!c.is("%") || name.kind != Tok::Ident || name.spaced) {
        c.fail_expected(kRegister);
    }
    const auto n = register_number(name.text, 'r');
    if (!n || *n < 0) {
        throw ParseError{c.peek().col, fmt::format("expected {}, found '%{}'", kRegister, name.text)};
    }
    c.next();
    c.next();
    return static_cast<std::uint8_t>(*n);
}

// [%rN], [%rN+off], [%rN-off]
void mem(Cursor& c, std::uint8_t& base, std::int16_t& off) {
    if (!c.is("[")) {
        c.fail_expected("a memory operand [%rN+offset]");
    }
    c.next();
    base = reg(c);
    off = 0;
    if (c.is("+") || c.is("-")) {
        off = c.read_off16();
    }
    c.expect("]");
}

void comma(Cursor& c) { c.expect(","); }

// Longest run of up to three leading words that is a mnemonic; returns how many words it took.
std::size_t match_mnemonic(const Cursor& c, std::string& mnemonic) {
    std::string joined;
    std::size_t best = 0;
    for (std::size_t k = 0; k < 3 && c.peek(k).kind == Tok::Ident; ++k) {
        if (k > 0) {
            joined += ' ';
        }
        joined += c.peek(k).text;
        if (tables().conf.contains(joined)) {
            best = k + 1;
            mnemonic = joined;
        }
    }
    return best;
}

}  // namespace

Stmt parse_conformance(Cursor& c) {
    if (c.peek().kind != Tok::Ident) {
        c.fail_expected("a mnemonic");
    }
    std::string mnemonic;
    const std::size_t words = match_mnemonic(c, mnemonic);
    if (words == 0) {
        c.fail(fmt::format("unknown mnemonic '{}'", c.peek().text));
    }
    for (std::size_t i = 0; i < words; ++i) {
        c.next();
    }
    const std::vector<Op>& rows = tables().conf.at(mnemonic);
    auto pick = [&](Format f) {
        auto it = std::find_if(rows.begin(), rows.end(), [f](Op op) { return isa::info(op).format == f; });
        if (it == rows.end()) {
            c.fail(fmt::format("'{}' does not take this operand", mnemonic));
        }
        return *it;
    };

    Stmt s;
    s.op = rows.front();
    isa::Insn& in = s.insn;
    switch (isa::info(rows.front()).format) {
        case Format::AluImm:
        case Format::AluReg:
            in.dst = reg(c);
            comma(c);
            if (at_reg(c)) {
                s.op = pick(Format::AluReg);
                in.src = reg(c);
            } else {
                s.op = pick(Format::AluImm);
                in.imm = c.read_imm32();
            }
            break;
        case Format::Neg:
        case Format::Endian:
        case Format::Callx:
            in.dst = reg(c);
            break;
        case Format::MovSx:
            in.dst = reg(c);
            comma(c);
            in.src = reg(c);
            break;
        case Format::Ja:
            parse_target(c, s, false);
            break;
        case Format::Ja32:
        case Format::CallLocal:
            parse_target(c, s, true);
            break;
        case Format::JmpImm:
        case Format::JmpReg:
            in.dst = reg(c);
            comma(c);
            if (at_reg(c)) {
                s.op = pick(Format::JmpReg);
                in.src = reg(c);
            } else {
                s.op = pick(Format::JmpImm);
                in.imm = c.read_imm32();
            }
            comma(c);
            parse_target(c, s, false);
            break;
        case Format::CallHelper:
            if (at_reg(c)) {
                s.op = pick(Format::Callx);
                in.dst = reg(c);
            } else {
                in.imm = c.read_imm32();
            }
            break;
        case Format::CallKfunc:
            in.imm = c.read_imm32();
            if (c.accept(",")) {
                in.off = c.read_off16();
            }
            break;
        case Format::Exit:
            break;
        case Format::Lddw:
            in.dst = reg(c);
            comma(c);
            parse_lddw_source(c, s, false);
            break;
        case Format::LdAbs:
            in.imm = c.read_imm32();
            break;
        case Format::LdInd:
            in.src = reg(c);
            comma(c);
            in.imm = c.read_imm32();
            break;
        case Format::Ldx:
        case Format::Ldsx:
            in.dst = reg(c);
            comma(c);
            mem(c, in.src, in.off);
            break;
        case Format::St:
            mem(c, in.dst, in.off);
            comma(c);
            in.imm = c.read_imm32();
            break;
        case Format::Stx:
        case Format::Atomic:
            mem(c, in.dst, in.off);
            comma(c);
            in.src = reg(c);
            break;
    }
    c.expect_end();
    return s;
}

}  // namespace sockfilter::assembler::detail
