// SPDX-License-Identifier: MIT
// Structural validation of a Program: decoding, control flow targets, function boundaries.
#include "program/program.h"

#include <algorithm>

namespace sockfilter::program {

namespace {
Location at(const std::vector<SourcePos>& source, std::size_t pc) {
    if (pc < source.size()) {
        return source[pc];
    }
    return InsnIndex{static_cast<std::uint32_t>(pc)};
}
}  // namespace

Result<Program> Program::from_bytes(std::string name, std::span<const std::uint8_t> bytes) {
    auto slots = isa::slots_from_bytes(bytes);
    if (!slots) {
        return tl::unexpected(std::move(slots.error()));
    }
    return from_slots(std::move(name), std::move(*slots));
}

Result<Program> Program::from_slots(std::string name, std::vector<isa::Insn> slots, std::vector<SourcePos> source) {
    Program p;
    p.name_ = std::move(name);
    p.slots_ = std::move(slots);
    p.source_ = std::move(source);
    const std::size_t n = p.slots_.size();
    if (n == 0) {
        return fail(Errc::InvalidProgram, "empty program");
    }
    p.ops_.resize(n);
    p.starts_.assign(n, 0);
    for (std::size_t pc = 0; pc < n;) {
        auto op = isa::classify(p.slots_, pc);
        if (!op) {
            Error e = std::move(op.error());
            e.where = at(p.source_, pc);
            return tl::unexpected(std::move(e));
        }
        p.ops_[pc] = *op;
        p.starts_[pc] = 1;
        if (isa::width(*op) == 2) {
            p.ops_[pc + 1] = *op;
        }
        pc += isa::width(*op);
    }

    // Functions: entry plus every target of a local call or a function pointer.
    std::vector<std::uint32_t> funcs{0};
    for (std::size_t pc = 0; pc < n; pc += isa::width(p.ops_[pc])) {
        const isa::Op op = p.ops_[pc];
        if (op != isa::Op::CallLocal && op != isa::Op::LddwFunc) {
            continue;
        }
        const std::int64_t target = static_cast<std::int64_t>(pc) + 1 + p.slots_[pc].imm;
        if (target < 0 || target >= static_cast<std::int64_t>(n) || p.starts_[static_cast<std::size_t>(target)] == 0) {
            return fail(Errc::InvalidProgram, at(p.source_, pc), "call to invalid destination {} (program has {} slots)",
                        target, n);
        }
        funcs.push_back(static_cast<std::uint32_t>(target));
    }
    std::sort(funcs.begin(), funcs.end());
    funcs.erase(std::unique(funcs.begin(), funcs.end()), funcs.end());
    p.functions_ = std::move(funcs);

    // Jumps stay inside their function and land on instruction starts.
    for (std::size_t pc = 0; pc < n; pc += isa::width(p.ops_[pc])) {
        const isa::Op op = p.ops_[pc];
        if (!isa::is_jump(op)) {
            continue;
        }
        const std::int64_t target = static_cast<std::int64_t>(pc) + 1 + isa::jump_offset(op, p.slots_[pc]);
        const std::size_t fn = p.function_of(pc);
        const std::int64_t lo = p.functions_[fn];
        const std::int64_t hi = fn + 1 < p.functions_.size() ? p.functions_[fn + 1] : static_cast<std::int64_t>(n);
        if (target < lo || target >= hi) {
            return fail(Errc::InvalidProgram, at(p.source_, pc), "jump out of range from insn {} to {}", pc, target);
        }
        if (p.starts_[static_cast<std::size_t>(target)] == 0) {
            return fail(Errc::InvalidProgram, at(p.source_, pc), "jump into the middle of ldimm64 insn {}", target - 1);
        }
    }

    // Control must not fall off the end of a function.
    for (std::size_t fn = 0; fn < p.functions_.size(); ++fn) {
        const std::size_t end = fn + 1 < p.functions_.size() ? p.functions_[fn + 1] : n;
        std::size_t last = end - 1;
        if (p.starts_[last] == 0) {
            last -= 1;
        }
        const isa::Format f = isa::info(p.ops_[last]).format;
        if (f != isa::Format::Exit && f != isa::Format::Ja && f != isa::Format::Ja32) {
            return fail(Errc::InvalidProgram, at(p.source_, last), "last insn is not an exit or jmp");
        }
    }
    return p;
}

std::size_t Program::function_of(std::size_t pc) const {
    auto it = std::upper_bound(functions_.begin(), functions_.end(), static_cast<std::uint32_t>(pc));
    return static_cast<std::size_t>(it - functions_.begin()) - 1;
}

std::optional<SourcePos> Program::source(std::size_t pc) const {
    if (pc < source_.size()) {
        return source_[pc];
    }
    return std::nullopt;
}

}  // namespace sockfilter::program
