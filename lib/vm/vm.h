// SPDX-License-Identifier: MIT
// The engine interface shared by the interpreter and (later) the JIT: one run of a loaded program
// on one packet or memory buffer, with the kernel's semantics.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "runtime/load.h"
#include "runtime/skb.h"

namespace sockfilter::vm {

/// How a run ended. Engines must agree on the status and the pc.
enum class ExecStatus : std::uint8_t {
    Ok,              ///< the program returned; r0 is its result
    MemoryFault,     ///< a load or store outside the regions the program was given
    BudgetExceeded,  ///< more instructions executed than the budget allows
    CallDepth,       ///< more than 8 nested bpf-to-bpf call frames
    BadCall,         ///< a call to a helper or function that does not exist at run time
    HelperFault,     ///< a helper could not complete (its message says why)
    TailCall,        ///< bpf_tail_call succeeded: r0 is the index of the program to run next
};

/// The result of one run (HOUSE_STYLE §3: no Result in the hot loop).
struct ExecResult {
    std::uint64_t r0 = 0;
    ExecStatus status = ExecStatus::Ok;
    std::uint32_t pc = 0;  ///< the faulting instruction, or the exit that returned
};

/// Run-time limits and modes.
struct Options {
    std::uint64_t budget = 100'000'000;  ///< instructions per run
    bool checked = true;                 ///< bounds-check every memory access
};

/// What a run sees: a packet for a program type with a context, or memory for raw mode.
struct RunInput {
    runtime::Skb* skb = nullptr;       ///< socket filter: r1 = the context of this packet
    std::span<std::uint8_t> mem;       ///< raw mode: r1 = mem.data(), r2 = mem.size()
    std::uint32_t tail_calls = 0;      ///< tail calls already made in this run (carried across programs)
};

/// One register change for --trace.
struct TraceStep {
    std::uint32_t pc;
    std::uint64_t before[11];
    std::uint64_t after[11];
};

/// Receives each executed instruction when tracing.
class TraceSink {
public:
    virtual ~TraceSink() = default;
    virtual void step(const TraceStep& step) = 0;
};

/// An execution engine.
class Engine {
public:
    virtual ~Engine() = default;
    /// Runs the program once. After a non-Ok status, fault_message() explains it.
    virtual ExecResult run(RunInput& input) = 0;
    /// "pc 5: read of 4 bytes at r1+200 is outside the context (192 bytes)"-style text for the last fault.
    [[nodiscard]] virtual const std::string& fault_message() const = 0;
};

}  // namespace sockfilter::vm
