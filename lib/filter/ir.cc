// SPDX-License-Identifier: MIT
// Labels, the linearizer and jump threading of the block IR.
#include "filter/ir.h"

#include <limits>

#include "support/assert.h"

namespace sockfilter::filter {

Label Ir::label() {
    where_.push_back(-1);
    return static_cast<Label>(where_.size() - 1);
}

void Ir::bind(Label l) {
    SF_ASSERT(where_[l] < 0);
    where_[l] = static_cast<std::int64_t>(items_.size());
}

void Ir::emit(const isa::Insn& insn) { items_.push_back(Item{insn, -1}); }

void Ir::jump(isa::Op op, Label target, std::uint8_t dst, std::int32_t imm, std::uint8_t src) {
    items_.push_back(Item{isa::encode_op(op, dst, src, 0, imm), static_cast<std::int64_t>(target)});
}

Result<std::vector<isa::Insn>> Ir::linearize() const {
    const std::size_t n = items_.size();
    // Dead code: the kernel refuses unreachable instructions, and a test that is decided at
    // compile time (ip on an IPv6-only link) leaves some behind.
    std::vector<bool> keep(n, false);
    const std::uint8_t ja = isa::info(isa::Op::Ja).opcode, exit = isa::info(isa::Op::Exit).opcode;
    std::vector<std::size_t> work{0};
    while (!work.empty()) {
        const std::size_t i = work.back();
        work.pop_back();
        if (i >= n || keep[i]) {
            continue;
        }
        keep[i] = true;
        const Item& it = items_[i];
        if (it.target >= 0) {
            work.push_back(static_cast<std::size_t>(where_[static_cast<std::size_t>(it.target)]));
        }
        if (it.insn.opcode != ja && it.insn.opcode != exit) {
            work.push_back(i + 1);
        }
    }
    // Where an instruction index lands once dropped instructions are skipped.
    auto resolve = [&](std::int64_t idx) {
        while (idx < static_cast<std::int64_t>(n) && !keep[static_cast<std::size_t>(idx)]) {
            ++idx;
        }
        return idx;
    };
    bool changed = true;
    while (changed) {
        changed = false;
        for (std::size_t i = n; i-- > 0;) {
            const Item& it = items_[i];
            if (!keep[i] || it.target < 0) {
                continue;
            }
            const std::int64_t to = resolve(where_[static_cast<std::size_t>(it.target)]);
            if (to == resolve(static_cast<std::int64_t>(i) + 1)) {
                // A jump to the next instruction, conditional or not, does nothing.
                keep[i] = false;
                changed = true;
            }
        }
    }
    std::vector<std::int64_t> new_index(n + 1, 0);
    std::int64_t next = 0;
    for (std::size_t i = 0; i < n; ++i) {
        new_index[i] = next;
        if (keep[i]) {
            ++next;
        }
    }
    new_index[n] = next;
    std::vector<isa::Insn> out;
    out.reserve(static_cast<std::size_t>(next));
    for (std::size_t i = 0; i < n; ++i) {
        if (!keep[i]) {
            continue;
        }
        isa::Insn insn = items_[i].insn;
        if (items_[i].target >= 0) {
            const std::int64_t at = where_[static_cast<std::size_t>(items_[i].target)];
            SF_ASSERT(at >= 0);
            const std::int64_t off = new_index[static_cast<std::size_t>(resolve(at))] - new_index[i] - 1;
            if (off > std::numeric_limits<std::int16_t>::max() || off < std::numeric_limits<std::int16_t>::min()) {
                return fail(Errc::NotSupported, "the filter is too large: a jump of {} instructions does not fit the "
                                                "16-bit offset", off);
            }
            insn.off = static_cast<std::int16_t>(off);
        }
        out.push_back(insn);
    }
    return out;
}

}  // namespace sockfilter::filter
