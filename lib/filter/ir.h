// SPDX-License-Identifier: MIT
// The compiler's block IR: eBPF instructions whose jumps name labels instead of offsets, and the
// linearizer that lays the blocks out, threads jumps to the next instruction away and resolves
// the labels into offsets.
#pragma once

#include <cstdint>
#include <vector>

#include "isa/isa.h"
#include "support/result.h"

namespace sockfilter::filter {

/// A label: a position in the code, bound once.
using Label = std::uint32_t;

/// Code under construction.
class Ir {
public:
    /// A fresh, unbound label.
    [[nodiscard]] Label label();
    /// Binds `l` to the next instruction emitted.
    void bind(Label l);
    /// Appends a non-jump instruction.
    void emit(const isa::Insn& insn);
    /// Appends a jump of `op` (a conditional or `ja`) to `target`.
    void jump(isa::Op op, Label target, std::uint8_t dst = 0, std::int32_t imm = 0, std::uint8_t src = 0);
    /// Appends `ja target`.
    void go(Label target) { jump(isa::Op::Ja, target); }
    /// Number of instructions emitted so far.
    [[nodiscard]] std::size_t size() const { return items_.size(); }

    /// The instructions with resolved offsets. Jumps to the instruction that follows them are
    /// dropped (repeatedly, so chains collapse). Errors: a jump too far for a 16-bit offset.
    [[nodiscard]] Result<std::vector<isa::Insn>> linearize() const;

private:
    struct Item {
        isa::Insn insn;
        std::int64_t target = -1;  ///< label id for jumps, else -1
    };
    std::vector<Item> items_;
    std::vector<std::int64_t> where_;  ///< label -> index of the instruction it names
};

}  // namespace sockfilter::filter
