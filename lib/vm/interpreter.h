// SPDX-License-Identifier: MIT
// The interpreter: runs a pre-decoded program with the kernel's semantics, in checked mode (every
// memory access bounds-checked against the regions the run was given) or unchecked mode.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/helpers.h"
#include "runtime/instance.h"
#include "runtime/load.h"
#include "vm/decoded.h"
#include "vm/vm.h"

namespace sockfilter::vm {

/// Size of the window the interpreter reserves for the socket-filter context (`struct __sk_buff`,
/// 192 bytes) followed by the socket ctx->sk points to (`struct bpf_sock`, 80 bytes). Accesses
/// inside the window never touch memory: they go through the program type's access rules.
inline constexpr std::uint32_t kCtxWindow = 192;
/// See kCtxWindow.
inline constexpr std::uint32_t kSockWindow = 80;

/// The reference engine.
///
/// Memory model: registers hold host addresses. A run is given these regions:
///  - the stack: kFrameSize bytes per active frame, frames laid out upwards from frame 0, r10 =
///    the end of the current frame (so a callee may use pointers into its callers' frames);
///  - socket-filter mode (env.type set): the context window (r1 at entry; 0 when RunInput::skb is
///    null, the kernel's FLAG_NO_DATA) and the sock window (ctx->sk when SkbMeta::has_sk, read
///    through runtime::check_sock_access and runtime::read_sock);
///  - raw mode (env.type null): RunInput::mem, read-write (r1 = its address, r2 = its size).
/// Checked mode faults (MemoryFault) on any load, store or atomic not entirely inside one region;
/// unchecked mode (for verified programs) only routes context-window accesses through the access
/// rules. Checked mode also zeroes each frame when it is entered, so an unverified program that
/// reads stack it never wrote sees 0 on every engine (a program that never names r10 cannot reach
/// its stack, so its runs skip the zeroing).
///
/// Atomics are plain read-modify-writes: a run is single-threaded and no memory is shared yet.
/// An Interpreter runs one program at a time; use one per thread.
class Interpreter final : public Engine {
public:
    /// Decodes `prog` once; `prog.program` must outlive the interpreter.
    explicit Interpreter(const runtime::LoadedProgram& prog, Options options = {});

    /// Runs the program once on `input` (RunInput::skb in socket-filter mode, RunInput::mem in raw
    /// mode). The skb's cb[] receives the program's writes.
    ExecResult run(RunInput& input) override;

    /// Runs the program's function whose function-pointer value is `entry` (see kFuncPtrBase) on
    /// its own, with r1..r5 as given: a fresh stack frame and the instance's map regions, no packet
    /// and no context (r1 is not a context pointer). Tools fire due bpf_timer callbacks this way.
    /// `entry` that is no function of the program is a BadCall.
    ExecResult call_function(std::uint64_t entry, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3,
                             std::uint64_t r4, std::uint64_t r5);

    /// Why the last run did not end with ExecStatus::Ok: "pc N: ..." (empty after an Ok run).
    [[nodiscard]] const std::string& fault_message() const override { return fault_; }

    /// Reports every executed instruction to `sink` (null turns tracing off). The untraced run
    /// loop is a separate instantiation and pays nothing for this.
    void set_trace(TraceSink* sink) { trace_ = sink; }

    /// The pre-decoded form this interpreter runs.
    [[nodiscard]] const DecodedProgram& decoded() const { return code_; }

    /// The options the interpreter was built with.
    [[nodiscard]] const Options& options() const { return options_; }

private:
    struct Regions;
    class MemoryView;
    class CallbackRunner;
    struct Frame;
    enum class Access : std::uint8_t { Read, Write, Atomic };
    enum class PacketLoad : std::uint8_t { Loaded, OutOfRange, NoPacket };

    /// Runs from slot `start` with `base` frames already active below (0 for the program itself).
    template <bool kChecked, bool kTrace>
    ExecResult execute(std::uint64_t* r, Regions& rg, std::uint32_t start, std::uint32_t base);
    /// execute() instantiated for the interpreter's mode.
    ExecResult dispatch(std::uint64_t* r, Regions& rg, std::uint32_t start, std::uint32_t base);

    template <class T, bool kSigned, bool kChecked>
    bool load(const DecodedInsn& in, std::uint64_t* r, const Regions& rg, std::uint32_t pc);
    template <class T, bool kChecked>
    bool store(const DecodedInsn& in, std::uint64_t* r, std::uint64_t value, bool imm, const Regions& rg,
               std::uint32_t pc);
    template <class T, bool kChecked>
    bool atomic(const DecodedInsn& in, std::uint64_t* r, const Regions& rg, std::uint32_t pc);

    bool window_load(const DecodedInsn& in, std::uint64_t* r, std::uint64_t addr, std::uint32_t size, bool sign,
                     std::uint32_t pc);
    bool window_store(const DecodedInsn& in, std::uint64_t addr, std::uint32_t size, std::uint64_t value, bool imm,
                      std::uint32_t pc);
    bool window_atomic(const DecodedInsn& in, std::uint64_t addr, std::uint32_t pc);
    bool region_fault(std::uint32_t pc, Access kind, std::uint8_t base, std::int16_t off, std::uint64_t addr,
                      std::uint32_t size, const Regions& rg);
    template <class T, bool kInd>
    PacketLoad load_packet(const DecodedInsn& in, std::uint64_t* r, std::uint32_t pc);
    PacketLoad no_packet(std::uint32_t pc);
    ExecResult fail(ExecStatus status, std::uint32_t pc, std::uint64_t r0, std::string message);
    /// `result` of an Ok run, or a fault when the run ends inside an RCU or preemption section or
    /// with an open iterator (the kernel's messages).
    ExecResult check_exit_state(const ExecResult& result);
    ExecResult helper_stopped(const HelperEntry& h, std::uint32_t pc, std::uint64_t r0);
    bool is_function_entry(std::uint64_t value) const;

    DecodedProgram code_;
    runtime::Environment env_;
    Options options_;
    TraceSink* trace_ = nullptr;
    std::string fault_;
    bool uses_stack_ = true;  // some instruction names r10 (else checked runs skip zeroing the stack)

    // Per-run state.
    runtime::Skb* skb_ = nullptr;
    runtime::CallEnv call_env_;
    std::vector<runtime::MemRegion> map_regions_;  // the instance's map arenas, fixed at construction
    std::uint64_t left_ = 0;          // instructions the run may still execute (see execute())
    std::uint32_t active_frames_ = 0; // frames in use when a helper was called (callbacks stack above)
    alignas(16) std::array<std::uint8_t, kFrameSize * kMaxFrames> stack_{};
    alignas(16) std::array<std::uint8_t, kCtxWindow + kSockWindow> window_{};
};

}  // namespace sockfilter::vm
