// SPDX-License-Identifier: MIT
// Test helpers for the vm tests: building instructions from the isa table and running programs in
// raw and socket-filter mode.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "isa/isa.h"
#include "program/program.h"
#include "runtime/helpers.h"
#include "runtime/load.h"
#include "runtime/prog_type.h"
#include "runtime/skb.h"
#include "vm/interpreter.h"

namespace sockfilter::vm::testing {

using isa::Op;

/// One instruction of `op`, with its discriminator filled in from the table.
inline isa::Insn I(Op op, std::uint8_t dst = 0, std::uint8_t src = 0, std::int16_t off = 0, std::int32_t imm = 0) {
    return isa::encode_op(op, dst, src, off, imm);
}

/// A program as a list of instruction groups (lddw is a group of two).
class Code {
public:
    Code() = default;
    Code(std::initializer_list<isa::Insn> insns) : slots_(insns) {}
    /// Appends one instruction.
    Code& operator<<(const isa::Insn& insn) {
        slots_.push_back(insn);
        return *this;
    }
    /// Appends `lddw dst, value` (two slots).
    Code& lddw(std::uint8_t dst, std::uint64_t value, Op op = Op::Lddw) {
        isa::Insn lo = I(op, dst);
        lo.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(value));
        isa::Insn hi{};
        hi.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(value >> 32));
        slots_.push_back(lo);
        slots_.push_back(hi);
        return *this;
    }
    [[nodiscard]] const std::vector<isa::Insn>& slots() const { return slots_; }

private:
    std::vector<isa::Insn> slots_;
};

/// Builds a Program and fails the test if the slots are invalid.
inline program::Program make_program(const Code& code) {
    auto p = program::Program::from_slots("test", code.slots());
    if (!p) {
        ADD_FAILURE() << p.error().render();
        return *program::Program::from_slots("exit", {I(Op::Mov64Imm), I(Op::Exit)});
    }
    return std::move(*p);
}

/// The outcome of one run with its fault message.
struct Outcome {
    ExecResult result;
    std::string message;
};

/// Environment for raw mode with the conformance helpers, or a custom registry.
inline runtime::Environment raw_environment(const runtime::HelperRegistry* helpers = &runtime::conformance_helpers()) {
    return runtime::Environment{nullptr, helpers};
}

/// Environment for socket-filter mode.
inline runtime::Environment sf_environment() {
    return runtime::Environment{&runtime::socket_filter(), &runtime::socket_filter_helpers()};
}

/// Runs `code` in raw mode on `mem`.
inline Outcome run_raw(const Code& code, std::vector<std::uint8_t> mem = {}, Options options = {},
                       const runtime::HelperRegistry* helpers = &runtime::conformance_helpers()) {
    const program::Program prog = make_program(code);
    Interpreter vm(runtime::LoadedProgram{&prog, raw_environment(helpers)}, options);
    RunInput in;
    in.mem = mem;
    const ExecResult r = vm.run(in);
    return Outcome{r, vm.fault_message()};
}

/// Runs `code` as a socket filter on `skb` (null: the context is NULL).
inline Outcome run_skb(const Code& code, runtime::Skb* skb, Options options = {}) {
    const program::Program prog = make_program(code);
    Interpreter vm(runtime::LoadedProgram{&prog, sf_environment()}, options);
    RunInput in;
    in.skb = skb;
    const ExecResult r = vm.run(in);
    return Outcome{r, vm.fault_message()};
}

/// Runs `code` in raw mode and returns r0, failing the test on a non-Ok status.
inline std::uint64_t r0_of(const Code& code, std::vector<std::uint8_t> mem = {}) {
    const Outcome o = run_raw(code, std::move(mem));
    EXPECT_EQ(o.result.status, ExecStatus::Ok) << o.message;
    return o.result.r0;
}

/// Prints each executed instruction and the registers it changed ("  pc    3: r0=0x1"), for the
/// `-v` mode of the data-suite runners.
class RegisterPrinter final : public TraceSink {
public:
    void step(const TraceStep& s) override {
        std::string changed;
        for (int i = 0; i < 11; ++i) {
            if (s.before[i] != s.after[i]) {
                changed += fmt::format(" r{}={:#x}", i, s.after[i]);
            }
        }
        fmt::print("  pc {:4}:{}\n", s.pc, changed);
    }
};

}  // namespace sockfilter::vm::testing
