// SPDX-License-Identifier: MIT
// Parser of the kernel/LLVM syntax (`w1 += 2`, `r0 = *(u32 *)(r1 + 4)`), including the spellings of the
// kernel verifier log (`(r1 +0)`, `atomic64_fetch_add`).
#include <fmt/format.h>

#include <limits>

#include "asm/parser.h"
#include "asm/tables.h"

namespace sockfilter::assembler::detail {

namespace {

using isa::Format;
using isa::Op;

/// A register operand: number and whether it was written as a 32-bit `w` register.
struct Reg {
    std::uint8_t n = 0;
    bool w = false;
    std::uint32_t col = 0;
};

enum class Width { R, W, Either };

std::string_view reg_expectation(Width width) {
    switch (width) {
        case Width::R: return "a register r0-r10";
        case Width::W: return "a register w0-w10";
        case Width::Either: return "a register r0-r10 or w0-w10";
    }
    return {};
}

bool at_reg(const Cursor& c) {
    const Token& t = c.peek();
    return t.kind == Tok::Ident && (register_number(t.text, 'r') || register_number(t.text, 'w'));
}

Reg reg(Cursor& c, Width width) {
    const Token& t = c.peek();
    if (t.kind == Tok::Ident) {
        for (char letter : {'r', 'w'}) {
            const bool allowed = width == Width::Either || (letter == 'w') == (width == Width::W);
            const auto n = register_number(t.text, letter);
            if (allowed && n && *n >= 0) {
                c.next();
                return Reg{static_cast<std::uint8_t>(*n), letter == 'w', t.col};
            }
        }
    }
    c.fail_expected(reg_expectation(width));
}

Width same_as(const Reg& r) { return r.w ? Width::W : Width::R; }

std::string reg_name(const Reg& r) { return fmt::format("{}{}", r.w ? 'w' : 'r', r.n); }

void require_same(Cursor& c, const Reg& want, std::string_view why) {
    const std::uint32_t col = c.peek().col;
    const Reg got = reg(c, same_as(want));
    if (got.n != want.n) {
        throw ParseError{col, fmt::format("expected '{}' ({}), found '{}'", reg_name(want), why, reg_name(got))};
    }
}

Op row(Cursor& c, Format f, std::string_view ktok, bool alu32, std::uint8_t size = 0) {
    const auto op = tables().find(f, ktok, alu32, size);
    if (!op) {
        c.fail(fmt::format("no {}-bit form of '{}'", alu32 ? 32 : 64, ktok));
    }
    return *op;
}

// `(u32 *)`: the type name inside a pointer cast.
std::string cast(Cursor& c) {
    c.expect("(");
    const Token t = c.peek();
    static constexpr std::string_view kTypes[] = {"u8", "u16", "u32", "u64", "s8", "s16", "s32"};
    bool known = false;
    for (auto k : kTypes) {
        known = known || (t.kind == Tok::Ident && t.text == k);
    }
    if (!known) {
        c.fail_expected("a type u8, u16, u32, u64, s8, s16 or s32");
    }
    c.next();
    c.expect("*");
    c.expect(")");
    return std::string(t.text);
}

std::uint8_t type_size(std::string_view type) {
    const std::string_view bits = type.substr(1);
    return bits == "8" ? 1 : bits == "16" ? 2 : bits == "32" ? 4 : 8;
}

// `rN + off` / `rN - off` / `rN` (without the parentheses).
void address(Cursor& c, std::uint8_t& base, std::int16_t& off) {
    base = reg(c, Width::R).n;
    off = 0;
    if (c.accept("+")) {
        off = c.read_off16();
    } else if (c.is("-")) {
        off = c.read_off16();
    }
}

// `(rN + off)`
void mem(Cursor& c, std::uint8_t& base, std::int16_t& off) {
    c.expect("(");
    address(c, base, off);
    c.expect(")");
}

// `*(u32 *)(r1 + 4)`: returns the type.
std::string deref(Cursor& c, std::uint8_t& base, std::int16_t& off) {
    c.expect("*");
    std::string type = cast(c);
    mem(c, base, off);
    return type;
}

void if_goto(Cursor& c, Stmt& s) {
    c.expect("if");
    const Reg dst = reg(c, Width::Either);
    const auto op = c.accept_operator(tables().jmp_ops);
    if (!op) {
        c.fail_expected("a comparison operator");
    }
    s.insn.dst = dst.n;
    if (at_reg(c)) {
        s.insn.src = reg(c, same_as(dst)).n;
        s.op = row(c, Format::JmpReg, *op, dst.w);
    } else {
        s.insn.imm = c.read_imm32();
        s.op = row(c, Format::JmpImm, *op, dst.w);
    }
    c.expect("goto");
    parse_target(c, s, false);
}

void call(Cursor& c, Stmt& s) {
    c.expect("call");
    if (at_reg(c)) {
        s.op = Op::Callx;
        s.insn.dst = reg(c, Width::R).n;
    } else if (c.accept("kfunc") || c.accept("runtime")) {
        s.op = Op::CallKfunc;
        s.insn.imm = c.read_imm32();
        if (c.accept(",")) {
            s.insn.off = c.read_off16();
        }
    } else if (c.accept("helper")) {
        s.op = Op::CallHelper;
        s.insn.imm = c.read_imm32();
    } else if (c.accept("local") || c.is("pc")) {
        s.op = Op::CallLocal;
        parse_target(c, s, true);
    } else if (c.at_number()) {
        // llvm-objdump prints a local call as `call -N`; helper ids are not negative.
        const std::int64_t v = c.read_int("a 32-bit immediate", std::numeric_limits<std::int32_t>::min(), 0xffffffffLL);
        s.op = v < 0 ? Op::CallLocal : Op::CallHelper;
        s.insn.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(v)));
    } else if (c.peek().kind == Tok::Ident && c.is("#", 1) && !c.peek(1).spaced) {
        c.next();
        c.next();
        s.op = Op::CallHelper;
        s.insn.imm = c.read_imm32();
    } else {
        s.op = Op::CallLocal;
        parse_target(c, s, true);
    }
}

// `lock *(u64 *)(r1 + 0) += r2`
void lock(Cursor& c, Stmt& s) {
    c.expect("lock");
    const std::string type = deref(c, s.insn.dst, s.insn.off);
    const std::uint8_t size = type_size(type);
    const std::uint32_t op_col = c.peek().col;
    const auto op = c.accept_operator(tables().alu_ops);
    const auto found = op ? tables().find(Format::Atomic, *op, false, size) : std::nullopt;
    if (!found || type[0] != 'u' || size < 4) {
        throw ParseError{op_col, fmt::format("expected an atomic operation on u32 or u64 (+=, |=, &=, ^=), found {}",
                                             op ? fmt::format("'{}' on {}", *op, type) : describe(c.peek()))};
    }
    s.op = *found;
    s.insn.src = reg(c, size == 8 ? Width::R : Width::Either).n;
}

// The right-hand side of `dst = atomic_fetch_add((u64 *)(r1 + 0), r2)` and its relatives, from the name on.
void atomic_call(Cursor& c, Stmt& s, const Reg& dst) {
    const Token name = c.next();
    std::string_view n = name.text;
    std::string_view kt;
    std::uint8_t size = 0;  // from the name, else from the cast
    bool llvm_form = false;  // xchg_64(r1 + 0, r2): address without cast
    if (n.starts_with("atomic64_")) {
        kt = n.substr(9);
        size = 8;
    } else if (n.starts_with("atomic_")) {
        kt = n.substr(7);
    } else if (n.ends_with("32_32")) {
        kt = n.substr(0, n.size() - 5);
        size = 4;
        llvm_form = true;
    } else {
        kt = n.substr(0, n.size() - 3);
        size = 8;
        llvm_form = true;
    }
    c.expect("(");
    if (llvm_form) {
        address(c, s.insn.dst, s.insn.off);
    } else {
        const std::uint32_t col = c.peek(1).col;
        const std::string type = cast(c);
        if (type[0] != 'u' || type_size(type) < 4 || (size != 0 && size != type_size(type))) {
            throw ParseError{col, fmt::format("expected (u{} *), found ({} *)", size == 0 ? 64 : size * 8, type)};
        }
        size = type_size(type);
        mem(c, s.insn.dst, s.insn.off);
    }
    s.op = row(c, Format::Atomic, kt, false, size);
    c.expect(",");
    const Width w = size == 8 ? Width::R : Width::Either;
    if (s.op == Op::AtomicCmpxchg64 || s.op == Op::AtomicCmpxchg32) {
        require_same(c, Reg{0, dst.w, 0}, "cmpxchg compares with r0");
        c.expect(",");
        if (dst.n != 0) {
            throw ParseError{name.col, fmt::format("expected the result in r0, found '{}'", reg_name(dst))};
        }
    }
    const std::uint32_t src_col = c.peek().col;
    s.insn.src = reg(c, w).n;
    if (s.op != Op::AtomicCmpxchg64 && s.op != Op::AtomicCmpxchg32 && s.insn.src != dst.n) {
        throw ParseError{src_col, fmt::format("expected '{}' (the result register), found '{}{}'", reg_name(dst),
                                              dst.w ? 'w' : 'r', s.insn.src)};
    }
    c.expect(")");
}

bool is_atomic_name(std::string_view n) {
    if (n.starts_with("atomic64_") || n.starts_with("atomic_")) {
        return true;
    }
    return n.ends_with("_64") || n.ends_with("32_32");
}

bool is_pseudo_name(std::string_view n) {
    for (const auto& p : kPseudoNames) {
        if (p.name == n) {
            return true;
        }
    }
    return n == "map";
}

// `dst = ...`
void assign(Cursor& c, Stmt& s, const Reg& dst) {
    s.insn.dst = dst.n;
    if (c.is("-") && !c.at_number()) {
        c.next();
        require_same(c, dst, "neg works in place");
        s.op = row(c, Format::Neg, "-", dst.w);
    } else if (c.is("(") && c.peek(1).kind == Tok::Ident && c.is(")", 2)) {
        const Token type = c.peek(1);
        c.next();
        c.next();
        c.next();
        const auto op = tables().find(Format::MovSx, type.text, dst.w, 0);
        if (!op) {
            throw ParseError{type.col, fmt::format("expected a sign-extension type {}, found '{}'",
                                                   dst.w ? "(s8) or (s16)" : "(s8), (s16) or (s32)", type.text)};
        }
        s.op = *op;
        s.insn.src = reg(c, same_as(dst)).n;
    } else if (c.peek().kind == Tok::Ident && tables().endian.contains(std::string(c.peek().text))) {
        s.op = tables().endian.at(std::string(c.next().text));
        require_same(c, dst, "byte swaps work in place");
    } else if (c.is("*")) {
        c.next();
        const std::string type = cast(c);
        const std::uint8_t size = type_size(type);
        if (c.accept("skb")) {
            if (dst.n != 0 || dst.w) {
                throw ParseError{dst.col, "packet loads (skb[...]) always load into r0"};
            }
            c.expect("[");
            if (at_reg(c)) {
                s.insn.dst = 0;
                s.insn.src = reg(c, Width::R).n;
                if (c.accept("+") || c.is("-")) {
                    s.insn.imm = c.read_imm32();
                }
                s.op = row(c, Format::LdInd, type, false);
            } else {
                s.insn.imm = c.read_imm32();
                s.op = row(c, Format::LdAbs, type, false);
            }
            c.expect("]");
        } else {
            mem(c, s.insn.src, s.insn.off);
            if (type[0] == 's') {
                if (dst.w || size == 8) {
                    c.fail(fmt::format("a sign-extending load ({} *) needs a 64-bit r destination of 1, 2 or 4 bytes",
                                       type));
                }
                s.op = row(c, Format::Ldsx, type, false);
            } else {
                if (dst.w && size == 8) {
                    c.fail("a 64-bit load needs an r destination");
                }
                s.op = row(c, Format::Ldx, type, false);
            }
        }
    } else if (c.peek().kind == Tok::Ident && is_atomic_name(c.peek().text)) {
        atomic_call(c, s, dst);
    } else if (c.peek().kind == Tok::Ident && is_pseudo_name(c.peek().text)) {
        if (dst.w) {
            c.fail("lddw needs an r destination");
        }
        parse_lddw_source(c, s, true);
        c.accept("ll");
    } else if (at_reg(c)) {
        s.insn.src = reg(c, same_as(dst)).n;
        s.op = row(c, Format::AluReg, "=", dst.w);
    } else if (c.at_number()) {
        const bool ll = c.is("ll", c.is("+") || c.is("-") ? 2 : 1);
        const Token first = c.peek();
        if (dst.w) {
            s.insn.imm = c.read_imm32();
            s.op = row(c, Format::AluImm, "=", true);
            if (ll) {
                throw ParseError{first.col, "lddw needs an r destination"};
            }
            return;
        }
        Cursor probe = c;
        const std::uint64_t v = probe.read_imm64();
        const auto sv = static_cast<std::int64_t>(v);
        const bool fits = sv >= std::numeric_limits<std::int32_t>::min() && sv <= std::numeric_limits<std::int32_t>::max();
        if (ll || !fits) {
            parse_lddw_source(c, s, true);
            c.accept("ll");
        } else {
            s.insn.imm = c.read_imm32();
            s.op = row(c, Format::AluImm, "=", false);
        }
    } else {
        c.fail_expected("an operand");
    }
}

}  // namespace

Stmt parse_kernel(Cursor& c) {
    Stmt s;
    const Token& t = c.peek();
    if (c.is("if")) {
        if_goto(c, s);
    } else if (c.accept("goto")) {
        s.op = Op::Ja;
        parse_target(c, s, false);
    } else if (c.accept("gotol")) {
        s.op = Op::Ja32;
        parse_target(c, s, true);
    } else if (c.accept("exit")) {
        s.op = Op::Exit;
    } else if (c.is("call")) {
        call(c, s);
    } else if (c.accept("callx")) {
        s.op = Op::Callx;
        s.insn.dst = reg(c, Width::R).n;
    } else if (c.is("lock")) {
        lock(c, s);
    } else if (c.is("*")) {
        const std::string type = deref(c, s.insn.dst, s.insn.off);
        if (type[0] != 'u') {
            c.fail(fmt::format("stores take an unsigned type, found ({} *)", type));
        }
        c.expect("=");
        if (at_reg(c)) {
            s.insn.src = reg(c, type == "u64" ? Width::R : Width::Either).n;
            s.op = row(c, Format::Stx, type, false);
        } else {
            s.insn.imm = c.read_imm32();
            s.op = row(c, Format::St, type, false);
        }
    } else if (at_reg(c)) {
        const Reg dst = reg(c, Width::Either);
        const auto op = c.accept_operator(tables().alu_ops);
        if (!op) {
            c.fail_expected("an assignment operator (=, +=, ...)");
        }
        if (*op == "=") {
            assign(c, s, dst);
        } else {
            s.insn.dst = dst.n;
            if (at_reg(c)) {
                s.insn.src = reg(c, same_as(dst)).n;
                s.op = row(c, Format::AluReg, *op, dst.w);
            } else {
                s.insn.imm = c.read_imm32();
                s.op = row(c, Format::AluImm, *op, dst.w);
            }
        }
    } else if (t.kind == Tok::Ident) {
        c.fail(fmt::format("unknown instruction '{}'", t.text));
    } else {
        c.fail_expected("an instruction");
    }
    c.expect_end();
    return s;
}

}  // namespace sockfilter::assembler::detail
