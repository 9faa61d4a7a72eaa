// SPDX-License-Identifier: MIT
// Operands both syntaxes share: relative branch targets and the sources of lddw.
#include <fmt/format.h>

#include <limits>

#include "asm/parser.h"
#include "asm/tables.h"

namespace sockfilter::assembler::detail {

namespace {

constexpr std::int64_t kInt32Min = std::numeric_limits<std::int32_t>::min();
constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();

void set_relative(Cursor& c, Stmt& s, bool wide) {
    if (wide) {
        s.insn.imm = static_cast<std::int32_t>(c.read_int("a 32-bit offset", kInt32Min, kInt32Max));
    } else {
        s.insn.off = c.read_off16();
    }
}

const PseudoName* pseudo_by_name(std::string_view name) {
    for (const auto& p : kPseudoNames) {
        if (p.name == name) {
            return &p;
        }
    }
    return nullptr;
}

void set_lddw_row(Cursor& c, Stmt& s, std::uint8_t src) {
    const auto op = tables().lddw_by_src[src];
    if (!op) {
        c.fail(fmt::format("no lddw row for pseudo source {}", src));
    }
    s.op = *op;
    s.insn.src = src;
}

// map[fd:N] / map[idx:N], then optionally [0] and +OFF (a map value address).
void parse_map_brackets(Cursor& c, Stmt& s) {
    c.expect("map");
    c.expect("[");
    bool by_fd = false;
    if (c.accept("fd")) {
        by_fd = true;
    } else if (!c.accept("idx")) {
        c.fail_expected("'fd' or 'idx'");
    }
    c.expect(":");
    s.insn.imm = c.read_imm32();
    c.expect("]");
    bool value = false;
    if (c.is("[")) {
        c.next();
        if (!c.is("0")) {
            c.fail_expected("'0'");
        }
        c.next();
        c.expect("]");
        value = true;
    }
    if (c.accept("+")) {
        value = true;
        s.hi = c.read_imm32();
    }
    const std::uint8_t src = by_fd ? (value ? isa::kPseudoMapValue : isa::kPseudoMapFd)
                                   : (value ? isa::kPseudoMapIdxValue : isa::kPseudoMapIdx);
    set_lddw_row(c, s, src);
}

}  // namespace

void parse_target(Cursor& c, Stmt& s, bool wide) {
    if (c.is("pc") && (c.is("+", 1) || c.is("-", 1))) {
        c.next();
        set_relative(c, s, wide);
    } else if (c.at_number()) {
        set_relative(c, s, wide);
    } else if (c.peek().kind == Tok::Ident) {
        s.label = LabelRef{std::string(c.peek().text), c.peek().col};
        c.next();
    } else {
        c.fail_expected("a branch target (+N, -N or a label)");
    }
    if (c.accept("<")) {
        while (!c.at_end() && !c.is(">")) {
            c.next();
        }
        c.expect(">");
    }
}

void parse_lddw_source(Cursor& c, Stmt& s, bool kernel) {
    const Token& t = c.peek();
    if (t.kind != Tok::Ident) {
        const std::uint64_t v = c.read_imm64();
        s.insn.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
        s.hi = static_cast<std::int32_t>(static_cast<std::uint32_t>(v >> 32));
        set_lddw_row(c, s, isa::kPseudoNone);
        return;
    }
    if (kernel && t.text == "map" && c.is("[", 1)) {
        parse_map_brackets(c, s);
        return;
    }
    const PseudoName* p = pseudo_by_name(t.text);
    if (p == nullptr) {
        c.fail_expected("a 64-bit immediate or a pseudo source (map_fd(N), func(label), ...)");
    }
    c.next();
    set_lddw_row(c, s, p->src);
    c.expect("(");
    if (p->src == isa::kPseudoFunc) {
        parse_target(c, s, true);
    } else {
        s.insn.imm = c.read_imm32();
    }
    if (c.accept(",")) {
        s.hi = c.read_imm32();
    }
    c.expect(")");
}

}  // namespace sockfilter::assembler::detail
