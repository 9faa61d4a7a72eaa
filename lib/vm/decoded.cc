// SPDX-License-Identifier: MIT
// Pre-decoding a Program into the form the engines dispatch on.
#include "vm/decoded.h"

#include "runtime/instance.h"

#include "program/program.h"
#include "support/assert.h"

namespace sockfilter::vm {

namespace {

std::uint32_t helper_index(DecodedProgram& out, const runtime::HelperRegistry* registry, std::int32_t id) {
    for (std::size_t i = 0; i < out.helpers.size(); ++i) {
        if (out.helpers[i].id == id) {
            return static_cast<std::uint32_t>(i);
        }
    }
    HelperEntry e;
    e.id = id;
    if (registry != nullptr) {
        if (const runtime::HelperDef* def = registry->find(id)) {
            e.name = def->name;
            e.fn = def->fn;
        }
    }
    out.helpers.push_back(e);
    return static_cast<std::uint32_t>(out.helpers.size() - 1);
}

std::uint32_t kfunc_index(DecodedProgram& out, const runtime::Environment& env, std::int32_t imm) {
    for (std::size_t i = 0; i < out.kfuncs.size(); ++i) {
        if (out.kfuncs[i].id == imm) {
            return static_cast<std::uint32_t>(i);
        }
    }
    HelperEntry e;
    e.id = imm;
    if (env.helpers != nullptr && imm >= 0 && static_cast<std::size_t>(imm) < env.kfuncs.size()) {
        e.name = env.kfuncs[static_cast<std::size_t>(imm)].name;
        if (const runtime::KfuncDef* def = env.helpers->find_kfunc(e.name)) {
            e.fn = def->fn;
        }
    }
    out.kfuncs.push_back(e);
    return static_cast<std::uint32_t>(out.kfuncs.size() - 1);
}

std::uint32_t target_of(std::size_t pc, std::int64_t offset, std::size_t n) {
    const std::int64_t t = static_cast<std::int64_t>(pc) + 1 + offset;
    SF_ASSERT(t >= 0 && t < static_cast<std::int64_t>(n));
    return static_cast<std::uint32_t>(t);
}

}  // namespace

DecodedProgram predecode(const runtime::LoadedProgram& prog) {
    SF_ASSERT(prog.program != nullptr);
    const program::Program& p = *prog.program;
    const auto slots = p.slots();
    const std::size_t n = p.size();
    DecodedProgram out;
    out.insns.resize(n);
    out.functions = p.functions();
    for (std::size_t pc = 0; pc < n;) {
        const isa::Op op = p.op(pc);
        const isa::Insn& s = slots[pc];
        DecodedInsn d;
        d.op = op;
        d.dst = s.dst;
        d.src = s.src;
        d.off = s.off;
        d.imm = s.imm;
        const isa::Format f = isa::info(op).format;
        if (isa::is_jump(op)) {
            d.ext = target_of(pc, isa::jump_offset(op, s), n);
        } else if (op == isa::Op::CallLocal) {
            d.ext = target_of(pc, s.imm, n);
        } else if (op == isa::Op::CallHelper) {
            d.ext = helper_index(out, prog.env.helpers, s.imm);
        } else if (op == isa::Op::CallKfunc) {
            d.ext = kfunc_index(out, prog.env, s.imm);
        } else if (op == isa::Op::LddwFunc) {
            const std::uint64_t v = kFuncPtrBase + target_of(pc, s.imm, n);
            d.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
            d.ext = static_cast<std::uint32_t>(v >> 32);
        } else if ((op == isa::Op::LddwMapIdx || op == isa::Op::LddwMapIdxValue) && prog.env.instance != nullptr) {
            // Resolved once: the map's handle, or the address of its single value plus the offset
            // (runtime::load checked both), loaded like any 64-bit immediate.
            const auto idx = static_cast<std::size_t>(s.imm);
            std::uint64_t v = prog.env.instance->map_handle(idx);
            if (op == isa::Op::LddwMapIdxValue) {
                const std::uint8_t key[4] = {};
                v = reinterpret_cast<std::uintptr_t>(prog.env.instance->map(idx).lookup(key)) +
                    static_cast<std::uint32_t>(slots[pc + 1].imm);
            }
            d.op = isa::Op::Lddw;
            d.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
            d.ext = static_cast<std::uint32_t>(v >> 32);
        } else if (f == isa::Format::Lddw) {
            d.ext = static_cast<std::uint32_t>(isa::lddw_imm(slots, pc) >> 32);
        }
        out.insns[pc] = d;
        if (isa::width(op) == 2) {
            out.insns[pc + 1] = d;
        }
        pc += isa::width(op);
    }
    return out;
}

}  // namespace sockfilter::vm
