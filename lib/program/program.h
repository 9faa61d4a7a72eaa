// SPDX-License-Identifier: MIT
// The one Program value: every input format builds it, every backend consumes it (DESIGN §3).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "isa/isa.h"
#include "support/result.h"

namespace sockfilter::program {

/// A structurally valid eBPF program: its slots, the operation of each slot, its functions, and
/// where each slot came from when it was built from text.
///
/// Invariants (checked by `Program::from_slots`): every slot classifies against the isa table;
/// lddw is followed by its second slot; every jump lands on an instruction start inside the same
/// function; every local call and lddw-func targets an instruction start; the last instruction of
/// every function is `exit` or an unconditional jump.
class Program {
public:
    /// Validates `slots` and builds the program. `source`, when not empty, has one entry per slot
    /// and is used to report errors at a text position instead of a pc.
    [[nodiscard]] static Result<Program> from_slots(std::string name, std::vector<isa::Insn> slots,
                                                    std::vector<SourcePos> source = {});

    /// Validates raw little-endian instruction bytes (a multiple of 8).
    [[nodiscard]] static Result<Program> from_bytes(std::string name, std::span<const std::uint8_t> bytes);

    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] std::span<const isa::Insn> slots() const { return slots_; }
    /// The operation of the slot at `pc`; for the second slot of an lddw, the lddw's operation.
    [[nodiscard]] isa::Op op(std::size_t pc) const { return ops_[pc]; }
    /// True for the second slot of an lddw (not an instruction start).
    [[nodiscard]] bool is_lddw_tail(std::size_t pc) const { return starts_[pc] == 0; }
    [[nodiscard]] std::size_t size() const { return slots_.size(); }
    /// First slot of each function, ascending; function 0 starts at 0.
    [[nodiscard]] const std::vector<std::uint32_t>& functions() const { return functions_; }
    /// The index in functions() of the function containing `pc`.
    [[nodiscard]] std::size_t function_of(std::size_t pc) const;
    /// Source position of the slot at `pc`, if the program was built from text.
    [[nodiscard]] std::optional<SourcePos> source(std::size_t pc) const;
    /// Raw bytes of the program.
    [[nodiscard]] std::vector<std::uint8_t> bytes() const { return isa::slots_to_bytes(slots_); }

private:
    std::string name_;
    std::vector<isa::Insn> slots_;
    std::vector<isa::Op> ops_;
    std::vector<std::uint8_t> starts_;  // 1 where an instruction starts
    std::vector<std::uint32_t> functions_;
    std::vector<SourcePos> source_;
};

}  // namespace sockfilter::program
