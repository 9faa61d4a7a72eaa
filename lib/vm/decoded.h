// SPDX-License-Identifier: MIT
// The pre-decoded program every engine runs from: the Program's slots turned once into a compact
// array with resolved jump targets and helper entries, plus the runtime ABI constants (stack,
// frames, function-pointer values, clobbered registers) the interpreter and the JIT share.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "isa/isa.h"
#include "runtime/helpers.h"
#include "runtime/load.h"

namespace sockfilter::vm {

/// Bytes of stack each call frame gets (MAX_BPF_STACK).
inline constexpr std::uint32_t kFrameSize = 512;
/// Most frames a run may have: the main program plus 7 nested bpf-to-bpf calls (MAX_CALL_FRAMES).
inline constexpr std::uint32_t kMaxFrames = 8;

/// Function-pointer values. The kernel's `lddw rX, <func>` (src = BPF_PSEUDO_FUNC) loads the
/// address of a sub-program; here it loads the tagged value `kFuncPtrBase + entry` (`entry` = the
/// sub-program's first slot). `callx rX` with such a value calls that sub-program; any other value
/// up to INT32_MAX is a helper id (the bpf_conformance convention, callx.data), anything else is a
/// BadCall. The base lies far from every helper id and, being a constant, never aliases a region
/// the program was given, so a checked run that dereferences it faults.
inline constexpr std::uint64_t kFuncPtrBase = 0x0000'0bf0'0000'0000;

/// Whether `v` is a function-pointer value (see kFuncPtrBase) for a program of `slots` slots.
[[nodiscard]] constexpr bool is_func_ptr(std::uint64_t v, std::size_t slots) {
    return v - kFuncPtrBase < slots;
}

/// Registers r1-r5 after a helper call, LD_ABS or LD_IND (the kernel leaves them unspecified and
/// the verifier forbids reading them). The values are fixed so that every engine agrees:
///  - helper call (call imm, callx to a helper): r1..r5 = 0;
///  - LD_ABS/LD_IND: r1 = the context pointer of the run (the kernel's rewrite sets r1 = r6, which
///    the verifier requires to be the context), r2 = the 64-bit offset before truncation
///    (ABS: the sign-extended imm; IND: src + imm), r3..r5 = 0.
/// A bpf-to-bpf call leaves r1..r5 as the callee left them (it shares the register file).
inline constexpr std::uint64_t kClobberValue = 0;

/// One pre-decoded instruction (16 bytes), one per Program slot so that indices are pcs:
///
///      0      1     2     3     4       6      8           12          16
///     +------+-----+-----+-----+-------+------+-----------+-----------+
///     |  op  | dst | src | pad |  off  | pad  |    imm    |    ext    |
///     +------+-----+-----+-----+-------+------+-----------+-----------+
///
/// `op` is the isa::Op (a small integer: engines `switch` on it). `ext` depends on the op:
///  - jumps (Ja, Ja32, Jxx): the absolute target index (pc + 1 + offset, already resolved);
///  - CallLocal: the absolute index of the callee's first slot;
///  - CallHelper: an index into DecodedProgram::helpers;
///  - CallKfunc: an index into DecodedProgram::kfuncs;
///  - Lddw and LddwFunc: the upper 32 bits of the 64-bit immediate (`imm` holds the lower 32; for
///    LddwFunc the immediate is already the function-pointer value, see kFuncPtrBase);
///  - LddwMapIdx / LddwMapIdxValue with an Instance: decoded as `Lddw` of the map's handle, or of
///    the address of its single value plus the offset (runtime::Instance::map_handle);
///  - everything else: 0.
/// The second slot of an lddw is never executed (Program forbids jumping into it); it is decoded
/// as a copy of the first.
struct DecodedInsn {
    isa::Op op = isa::Op::Exit;  ///< the operation (the table row, not the opcode byte)
    std::uint8_t dst = 0;         ///< destination register (callx: the register holding the target)
    std::uint8_t src = 0;         ///< source register (lddw, calls: the pseudo source as in the slot)
    std::uint8_t pad0 = 0;        ///< always 0
    std::int16_t off = 0;         ///< memory offset (jumps: as in the slot; use `ext`)
    std::uint16_t pad1 = 0;       ///< always 0
    std::int32_t imm = 0;         ///< immediate (lddw: the lower half of the 64-bit value)
    std::uint32_t ext = 0;        ///< resolved operand, see above

    /// lddw's 64-bit immediate.
    [[nodiscard]] constexpr std::uint64_t imm64() const {
        return static_cast<std::uint32_t>(imm) | (static_cast<std::uint64_t>(ext) << 32);
    }
};
static_assert(sizeof(DecodedInsn) == 16, "DecodedInsn must stay 16 bytes");

/// A helper a CallHelper resolved to at decode time. `fn` is null when the registry has no helper
/// with that id (runtime::load refuses such programs; a program run without load faults with
/// BadCall when it reaches the call).
struct HelperEntry {
    std::int32_t id = 0;
    std::string_view name;
    runtime::HelperFn fn = nullptr;
};

/// A program ready to run: what the interpreter dispatches on and what the JIT compiles from.
struct DecodedProgram {
    std::vector<DecodedInsn> insns;       ///< one per slot
    std::vector<HelperEntry> helpers;     ///< distinct helper ids the program calls, first use first
    /// kfuncs the program calls, by CallKfunc imm (runtime::Environment::kfuncs): `id` = imm, `fn`
    /// null when the environment does not implement it (runtime::load refuses such programs).
    std::vector<HelperEntry> kfuncs;
    std::vector<std::uint32_t> functions; ///< first slot of each function (Program::functions())
};

/// Decodes a loaded program: resolves jump and call targets, helper ids against the environment's
/// registry (if any), and lddw immediates. Never fails: the Program invariants guarantee valid
/// targets.
[[nodiscard]] DecodedProgram predecode(const runtime::LoadedProgram& prog);

}  // namespace sockfilter::vm
