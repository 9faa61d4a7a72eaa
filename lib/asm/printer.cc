// SPDX-License-Identifier: MIT
// The disassembler: one printer per syntax, each reading mnemonics and operators from the isa table.
#include <fmt/format.h>

#include <set>

#include "asm/assembler.h"
#include "asm/parser.h"
#include "support/assert.h"

namespace sockfilter::assembler {

namespace {

using isa::Format;
using isa::Insn;
using isa::Op;

/// How a relative target is printed: `+N`/`-N`, or `L<pc>` when labels are on.
struct Targets {
    bool labels = false;

    [[nodiscard]] std::string operator()(std::size_t pc, std::int64_t delta) const {
        if (labels) {
            return fmt::format("L{}", static_cast<std::int64_t>(pc) + 1 + delta);
        }
        return fmt::format("{:+}", delta);
    }
};

std::string conf_reg(std::uint8_t r) { return fmt::format("%r{}", r); }

/// Conformance immediates: small and negative values in decimal, others as 32-bit hex (the suite's habit).
std::string conf_imm(std::int32_t v) {
    if (v >= -4096 && v <= 4096) {
        return fmt::format("{}", v);
    }
    return fmt::format("{:#x}", static_cast<std::uint32_t>(v));
}

std::string conf_mem(std::uint8_t base, std::int16_t off) {
    if (off == 0) {
        return fmt::format("[{}]", conf_reg(base));
    }
    return fmt::format("[{}{:+}]", conf_reg(base), off);
}

/// ` + N` / ` - N` after a base register (kernel syntax), or nothing for 0 when `omit_zero`.
std::string kernel_disp(std::int64_t off, bool omit_zero) {
    if (off == 0 && omit_zero) {
        return {};
    }
    return fmt::format(" {} {}", off < 0 ? '-' : '+', off < 0 ? -off : off);
}

std::string kernel_mem(std::uint8_t base, std::int16_t off) { return fmt::format("(r{}{})", base, kernel_disp(off, false)); }

const detail::PseudoName& pseudo(std::uint8_t src) {
    for (const auto& p : detail::kPseudoNames) {
        if (p.src == src) {
            return p;
        }
    }
    SF_UNREACHABLE();
}

/// lddw operand: the 64-bit value, a bracket form (kernel) or a function form.
std::string lddw_source(std::span<const Insn> slots, std::size_t pc, Op op, bool kernel, const Targets& t) {
    const Insn& in = slots[pc];
    const auto hi = static_cast<std::uint32_t>(slots[pc + 1].imm);
    if (op == Op::Lddw) {
        return fmt::format("{:#x}{}", isa::lddw_imm(slots, pc), kernel ? " ll" : "");
    }
    if (kernel) {
        switch (op) {
            case Op::LddwMapFd:
                if (hi == 0) {
                    return fmt::format("map[fd:{}]", in.imm);
                }
                break;
            case Op::LddwMapIdx:
                if (hi == 0) {
                    return fmt::format("map[idx:{}]", in.imm);
                }
                break;
            case Op::LddwMapValue: return fmt::format("map[fd:{}]+{}", in.imm, hi);
            case Op::LddwMapIdxValue: return fmt::format("map[idx:{}]+{}", in.imm, hi);
            default: break;
        }
    }
    const detail::PseudoName& p = pseudo(in.src);
    const std::string first = op == Op::LddwFunc ? t(pc, in.imm) : fmt::format("{}", in.imm);
    if (p.value || hi != 0) {
        return fmt::format("{}({}, {})", p.name, first, hi);
    }
    return fmt::format("{}({})", p.name, first);
}

std::string print_conformance(std::span<const Insn> slots, std::size_t pc, Op op, const Targets& t) {
    const isa::OpInfo& oi = isa::info(op);
    const Insn& in = slots[pc];
    const std::string_view m = oi.conf;
    switch (oi.format) {
        case Format::AluImm: return fmt::format("{} {}, {}", m, conf_reg(in.dst), conf_imm(in.imm));
        case Format::AluReg:
        case Format::MovSx: return fmt::format("{} {}, {}", m, conf_reg(in.dst), conf_reg(in.src));
        case Format::Neg:
        case Format::Endian:
        case Format::Callx: return fmt::format("{} {}", m, conf_reg(in.dst));
        case Format::Ja: return fmt::format("{} {}", m, t(pc, in.off));
        case Format::Ja32:
        case Format::CallLocal: return fmt::format("{} {}", m, t(pc, in.imm));
        case Format::JmpImm:
            return fmt::format("{} {}, {}, {}", m, conf_reg(in.dst), conf_imm(in.imm), t(pc, in.off));
        case Format::JmpReg:
            return fmt::format("{} {}, {}, {}", m, conf_reg(in.dst), conf_reg(in.src), t(pc, in.off));
        case Format::CallHelper: return fmt::format("{} {}", m, in.imm);
        case Format::CallKfunc:
            return in.off == 0 ? fmt::format("{} {}", m, in.imm) : fmt::format("{} {}, {}", m, in.imm, in.off);
        case Format::Exit: return std::string(m);
        case Format::Lddw: return fmt::format("{} {}, {}", m, conf_reg(in.dst), lddw_source(slots, pc, op, false, t));
        case Format::LdAbs: return fmt::format("{} {}", m, conf_imm(in.imm));
        case Format::LdInd: return fmt::format("{} {}, {}", m, conf_reg(in.src), conf_imm(in.imm));
        case Format::Ldx:
        case Format::Ldsx: return fmt::format("{} {}, {}", m, conf_reg(in.dst), conf_mem(in.src, in.off));
        case Format::St: return fmt::format("{} {}, {}", m, conf_mem(in.dst, in.off), conf_imm(in.imm));
        case Format::Stx:
        case Format::Atomic: return fmt::format("{} {}, {}", m, conf_mem(in.dst, in.off), conf_reg(in.src));
    }
    SF_UNREACHABLE();
}

std::string print_atomic(const isa::OpInfo& oi, const Insn& in) {
    const char w = oi.size == 8 ? 'r' : 'w';
    const std::string_view k = oi.ktok;
    const std::string_view type = oi.size == 8 ? "u64" : "u32";
    if ((oi.flags & isa::kFetch) == 0) {
        return fmt::format("lock *({} *){} {} {}{}", type, kernel_mem(in.dst, in.off), k, w, in.src);
    }
    const std::string addr = fmt::format("r{}{}", in.dst, kernel_disp(in.off, false));
    const std::string_view suffix = oi.size == 8 ? "_64" : "32_32";
    if (k == "xchg") {
        return fmt::format("{}{} = {}{}({}, {}{})", w, in.src, k, suffix, addr, w, in.src);
    }
    if (k == "cmpxchg") {
        return fmt::format("{}0 = {}{}({}, {}0, {}{})", w, k, suffix, addr, w, w, in.src);
    }
    return fmt::format("{}{} = atomic_{}(({} *){}, {}{})", w, in.src, k, type, kernel_mem(in.dst, in.off), w, in.src);
}

std::string print_kernel(std::span<const Insn> slots, std::size_t pc, Op op, const Targets& t) {
    const isa::OpInfo& oi = isa::info(op);
    const Insn& in = slots[pc];
    const std::string_view k = oi.ktok;
    const char w = oi.alu32() ? 'w' : 'r';
    switch (oi.format) {
        case Format::AluImm: return fmt::format("{}{} {} {}", w, in.dst, k, in.imm);
        case Format::AluReg: return fmt::format("{}{} {} {}{}", w, in.dst, k, w, in.src);
        case Format::Neg: return fmt::format("{}{} = -{}{}", w, in.dst, w, in.dst);
        case Format::Endian: return fmt::format("r{} = {} r{}", in.dst, k, in.dst);
        case Format::MovSx: return fmt::format("{}{} = ({}){}{}", w, in.dst, k, w, in.src);
        case Format::Ja: return fmt::format("{} {}", k, t(pc, in.off));
        case Format::Ja32: return fmt::format("{} {}", k, t(pc, in.imm));
        case Format::JmpImm: return fmt::format("if {}{} {} {} goto {}", w, in.dst, k, in.imm, t(pc, in.off));
        case Format::JmpReg:
            return fmt::format("if {}{} {} {}{} goto {}", w, in.dst, k, w, in.src, t(pc, in.off));
        case Format::CallHelper:
            return in.imm < 0 ? fmt::format("{} helper {}", k, in.imm) : fmt::format("{} {}", k, in.imm);
        case Format::CallLocal:
            return t.labels ? fmt::format("{} {}", k, t(pc, in.imm)) : fmt::format("{} pc{}", k, t(pc, in.imm));
        case Format::CallKfunc:
            return in.off == 0 ? fmt::format("{} kfunc {}", k, in.imm)
                               : fmt::format("{} kfunc {}, {}", k, in.imm, in.off);
        case Format::Callx: return fmt::format("{} r{}", k, in.dst);
        case Format::Exit: return std::string(k);
        case Format::Lddw: return fmt::format("r{} = {}", in.dst, lddw_source(slots, pc, op, true, t));
        case Format::LdAbs: return fmt::format("r0 = *({} *)skb[{}]", k, in.imm);
        case Format::LdInd: return fmt::format("r0 = *({} *)skb[r{}{}]", k, in.src, kernel_disp(in.imm, true));
        case Format::Ldx:
        case Format::Ldsx: return fmt::format("r{} = *({} *){}", in.dst, k, kernel_mem(in.src, in.off));
        case Format::St: return fmt::format("*({} *){} = {}", k, kernel_mem(in.dst, in.off), in.imm);
        case Format::Stx: return fmt::format("*({} *){} = r{}", k, kernel_mem(in.dst, in.off), in.src);
        case Format::Atomic: return print_atomic(oi, in);
    }
    SF_UNREACHABLE();
}

std::string print(std::span<const Insn> slots, std::size_t pc, Op op, Syntax syntax, const Targets& t) {
    return syntax == Syntax::Conformance ? print_conformance(slots, pc, op, t) : print_kernel(slots, pc, op, t);
}

}  // namespace

std::string format_insn(std::span<const isa::Insn> slots, std::size_t pc, isa::Op op, Syntax syntax) {
    return print(slots, pc, op, syntax, Targets{});
}

std::string disassemble(const program::Program& program, Syntax syntax, DisasmOptions options) {
    const Targets t{options.labels};
    const auto slots = program.slots();
    std::set<std::size_t> targets;
    if (options.labels) {
        for (std::size_t pc = 0; pc < program.size(); pc += isa::width(program.op(pc))) {
            const Op op = program.op(pc);
            if (detail::has_target(op)) {
                const std::int64_t delta = detail::target_in_imm(op) ? slots[pc].imm : slots[pc].off;
                targets.insert(static_cast<std::size_t>(static_cast<std::int64_t>(pc) + 1 + delta));
            }
        }
    }
    std::string out;
    for (std::size_t pc = 0; pc < program.size(); pc += isa::width(program.op(pc))) {
        if (targets.contains(pc)) {
            out += fmt::format("L{}:\n", pc);
        }
        if (options.pc) {
            out += fmt::format("{:>4}: ", pc);
        }
        out += print(slots, pc, program.op(pc), syntax, t);
        out += '\n';
    }
    return out;
}

}  // namespace sockfilter::assembler
