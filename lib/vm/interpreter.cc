// SPDX-License-Identifier: MIT
// The interpreter's run loop: one switch over isa::Op with the kernel's semantics, instantiated
// for checked/unchecked and traced/untraced runs.
#include "vm/interpreter.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "runtime/instance.h"
#include "runtime/packet.h"
#include "runtime/prog_type.h"
#include "support/assert.h"
#include "support/bytes.h"

namespace sockfilter::vm {

static_assert(std::endian::native == std::endian::little, "the interpreter assumes a little-endian host");

namespace {

using isa::Op;
using u64 = std::uint64_t;
using u32 = std::uint32_t;
using s64 = std::int64_t;
using s32 = std::int32_t;

constexpr u64 sx(s32 v) { return static_cast<u64>(static_cast<s64>(v)); }
constexpr u32 lo32(u64 v) { return static_cast<u32>(v); }

template <class T>
constexpr u64 sext(T v) {
    return static_cast<u64>(static_cast<s64>(static_cast<std::make_signed_t<T>>(v)));
}

// Division and modulo with the kernel's rules: x / 0 = 0, x % 0 = x, and the signed INT_MIN / -1
// case wraps (INT_MIN) while INT_MIN % -1 = 0 (bpf_conformance sdiv*/smod*-intmin-by-negone).
constexpr u64 udiv64(u64 a, u64 b) { return b == 0 ? 0 : a / b; }
constexpr u64 umod64(u64 a, u64 b) { return b == 0 ? a : a % b; }
constexpr u32 udiv32(u32 a, u32 b) { return b == 0 ? 0 : a / b; }
constexpr u32 umod32(u32 a, u32 b) { return b == 0 ? a : a % b; }

constexpr u64 sdiv64(u64 a, u64 b) {
    const auto y = static_cast<s64>(b);
    if (y == 0) {
        return 0;
    }
    if (y == -1) {
        return u64{0} - a;
    }
    return static_cast<u64>(static_cast<s64>(a) / y);
}
constexpr u64 smod64(u64 a, u64 b) {
    const auto y = static_cast<s64>(b);
    if (y == 0) {
        return a;
    }
    if (y == -1) {
        return 0;
    }
    return static_cast<u64>(static_cast<s64>(a) % y);
}
constexpr u32 sdiv32(u32 a, u32 b) {
    const auto y = static_cast<s32>(b);
    if (y == 0) {
        return 0;
    }
    if (y == -1) {
        return u32{0} - a;
    }
    return static_cast<u32>(static_cast<s32>(a) / y);
}
constexpr u32 smod32(u32 a, u32 b) {
    const auto y = static_cast<s32>(b);
    if (y == 0) {
        return a;
    }
    if (y == -1) {
        return 0;
    }
    return static_cast<u32>(static_cast<s32>(a) % y);
}

constexpr u64 arsh64(u64 a, u64 n) { return static_cast<u64>(static_cast<s64>(a) >> (n & 63)); }
constexpr u32 arsh32(u64 a, u64 n) { return static_cast<u32>(static_cast<s32>(lo32(a)) >> (n & 31)); }

u64 addr_of(const void* p) { return static_cast<u64>(reinterpret_cast<std::uintptr_t>(p)); }

std::string_view access_name(bool write, bool atomic) {
    if (atomic) {
        return "atomic update";
    }
    return write ? "write" : "read";
}

std::string_view pseudo_name(Op op) {
    switch (op) {
        case Op::LddwMapFd: return "BPF_PSEUDO_MAP_FD";
        case Op::LddwMapValue: return "BPF_PSEUDO_MAP_VALUE";
        case Op::LddwBtfId: return "BPF_PSEUDO_BTF_ID";
        case Op::LddwMapIdx: return "BPF_PSEUDO_MAP_IDX";
        case Op::LddwMapIdxValue: return "BPF_PSEUDO_MAP_IDX_VALUE";
        default: return "?";
    }
}

}  // namespace

/// The memory a run may touch (see the class comment).
struct Interpreter::Regions {
    u64 stack_lo = 0;
    u64 stack_len = 0;  ///< kFrameSize * active frames
    u64 mem_lo = 0;
    u64 mem_len = 0;
    u64 win_lo = 0;
    u64 win_len = 0;    ///< 0 in raw mode: nothing is intercepted
    std::span<const runtime::MemRegion> maps;  ///< map value arenas, sorted by address

    /// Whether [addr, addr + size) lies inside the active stack frames, the raw memory or (for a
    /// read, or a write to a writable map) one map's values. The stack is tested first: it is
    /// where most accesses go.
    [[nodiscard]] bool contains(u64 addr, u64 size, bool write) const {
        if (size <= stack_len && addr - stack_lo <= stack_len - size) {
            return true;
        }
        const u64 m = addr - mem_lo;
        if (m < mem_len && mem_len - m >= size) {
            return true;
        }
        const runtime::MemRegion* r = map_region(addr);
        return r != nullptr && r->len - (addr - r->lo) >= size && (!write || r->writable);
    }
    /// The map region containing `addr`, if any.
    [[nodiscard]] const runtime::MemRegion* map_region(u64 addr) const {
        for (const runtime::MemRegion& r : maps) {
            if (addr - r.lo < r.len) {
                return &r;
            }
        }
        return nullptr;
    }
};

/// Answers helpers' pointer checks for the run in progress.
class Interpreter::MemoryView final : public runtime::MemoryCheck {
public:
    explicit MemoryView(const Regions& rg) : rg_(rg) {}
    [[nodiscard]] bool readable(u64 addr, u64 len) const override { return len == 0 || rg_.contains(addr, len, false); }
    [[nodiscard]] bool writable(u64 addr, u64 len) const override { return len == 0 || rg_.contains(addr, len, true); }

private:
    const Regions& rg_;
};

/// What a bpf-to-bpf call saves. Left uninitialized per run: enter() writes a frame before
/// leave() reads it, and zeroing the array cost as much as a short program (docs/PERFORMANCE.md).
struct Interpreter::Frame {
    u32 ret_pc;
    u64 saved[4];  ///< r6..r9
};

Interpreter::Interpreter(const runtime::LoadedProgram& prog, Options options)
    : code_(predecode(prog)), env_(prog.env), options_(options) {
    if (env_.instance != nullptr) {
        map_regions_ = env_.instance->regions();
    }
    // Only r10 points into the stack at entry, and no helper returns a stack pointer: a program
    // that never names r10 cannot read or write its stack, so a checked run need not zero it.
    uses_stack_ = std::any_of(code_.insns.begin(), code_.insns.end(),
                              [](const DecodedInsn& in) { return in.dst == 10 || in.src == 10; });
}

/// Runs callback sub-programs for helpers (bpf_loop, for_each_map_elem, ...) on a new frame
/// above the caller's, sharing the run's regions and budget.
class Interpreter::CallbackRunner final : public runtime::Callbacks {
public:
    CallbackRunner(Interpreter& vm, Regions& rg) : vm_(vm), rg_(rg) {}

    u64 call(u64 entry, u64 r1, u64 r2, u64 r3, u64 r4, u64 r5) override {
        if (!vm_.is_function_entry(entry)) {
            vm_.call_env_.fault = fmt::format("callback {:#x} is not a function of the program", entry);
            return 0;
        }
        const u32 below = vm_.active_frames_;
        if (below >= kMaxFrames) {
            vm_.call_env_.fault = fmt::format("the call stack of {} frames is too deep", kMaxFrames + 1);
            return 0;
        }
        const u64 saved_len = rg_.stack_len;
        rg_.stack_len = u64{kFrameSize} * (below + 1);
        if (vm_.options_.checked) {
            std::memset(vm_.stack_.data() + u64{kFrameSize} * below, 0, kFrameSize);
        }
        u64 r[11] = {};
        r[1] = r1;
        r[2] = r2;
        r[3] = r3;
        r[4] = r4;
        r[5] = r5;
        r[10] = rg_.stack_lo + rg_.stack_len;
        const ExecResult res = vm_.dispatch(r, rg_, static_cast<u32>(entry - kFuncPtrBase), below);
        rg_.stack_len = saved_len;
        vm_.active_frames_ = below;
        if (res.status != ExecStatus::Ok) {
            vm_.call_env_.fault = fmt::format("in callback: {}", vm_.fault_);
            return 0;
        }
        return res.r0;
    }

private:
    Interpreter& vm_;
    Regions& rg_;
};

ExecResult Interpreter::dispatch(std::uint64_t* r, Regions& rg, std::uint32_t start, std::uint32_t base) {
    if (trace_ != nullptr) {
        return options_.checked ? execute<true, true>(r, rg, start, base) : execute<false, true>(r, rg, start, base);
    }
    return options_.checked ? execute<true, false>(r, rg, start, base) : execute<false, false>(r, rg, start, base);
}

ExecResult Interpreter::run(RunInput& input) {
    fault_.clear();
    call_env_.stop = false;
    call_env_.stop_value = 0;
    call_env_.fault.clear();
    // Eleven plain stores: GCC turns `u64 r[11] = {}` into `rep stosq`, whose start-up cost was
    // a third of a 2-instruction run (docs/PERFORMANCE.md).
    u64 r[11];
    [&r]<std::size_t... I>(std::index_sequence<I...>) { ((r[I] = 0), ...); }(std::make_index_sequence<11>{});
    Regions rg;
    rg.maps = map_regions_;
    rg.stack_lo = addr_of(stack_.data());
    rg.stack_len = kFrameSize;
    if (env_.type != nullptr) {
        skb_ = input.skb;
        rg.win_lo = addr_of(window_.data());
        rg.win_len = window_.size();
        r[1] = skb_ != nullptr ? rg.win_lo : 0;
    } else {
        skb_ = nullptr;
        rg.mem_lo = addr_of(input.mem.data());
        rg.mem_len = input.mem.size();
        r[1] = rg.mem_lo;
        r[2] = rg.mem_len;
    }
    call_env_.skb = skb_;
    call_env_.ctx_addr = r[1];
    call_env_.instance = env_.instance;
    call_env_.tail_calls = input.tail_calls;
    call_env_.tail_call_target = -1;
    const MemoryView view(rg);
    call_env_.memory = &view;
    CallbackRunner callbacks(*this, rg);
    call_env_.callbacks = &callbacks;
    left_ = options_.budget;
    active_frames_ = 1;
    r[10] = rg.stack_lo + kFrameSize;
    if (options_.checked && uses_stack_) {
        std::memset(stack_.data(), 0, kFrameSize);
    }
    call_env_.rcu_locks = 0;
    call_env_.preempt_locks = 0;
    call_env_.open_iters = 0;
    ExecResult result = dispatch(r, rg, 0, 0);
    if (result.status == ExecStatus::Ok) {
        result = check_exit_state(result);
    }
    call_env_.memory = nullptr;
    call_env_.callbacks = nullptr;
    input.tail_calls = call_env_.tail_calls;
    return result;
}

ExecResult Interpreter::call_function(std::uint64_t entry, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3,
                                      std::uint64_t r4, std::uint64_t r5) {
    fault_.clear();
    if (!is_function_entry(entry)) {
        return fail(ExecStatus::BadCall, 0, 0, fmt::format("{:#x} is not a function of the program", entry));
    }
    call_env_.stop = false;
    call_env_.stop_value = 0;
    call_env_.fault.clear();
    u64 r[11] = {};
    Regions rg;
    rg.maps = map_regions_;
    rg.stack_lo = addr_of(stack_.data());
    rg.stack_len = kFrameSize;
    skb_ = nullptr;
    call_env_.skb = nullptr;
    call_env_.ctx_addr = 0;
    call_env_.instance = env_.instance;
    call_env_.tail_calls = 0;
    call_env_.tail_call_target = -1;
    const MemoryView view(rg);
    call_env_.memory = &view;
    CallbackRunner callbacks(*this, rg);
    call_env_.callbacks = &callbacks;
    left_ = options_.budget;
    active_frames_ = 1;
    r[1] = r1;
    r[2] = r2;
    r[3] = r3;
    r[4] = r4;
    r[5] = r5;
    r[10] = rg.stack_lo + kFrameSize;
    if (options_.checked) {
        std::memset(stack_.data(), 0, kFrameSize);
    }
    call_env_.rcu_locks = 0;
    call_env_.preempt_locks = 0;
    call_env_.open_iters = 0;
    ExecResult result = dispatch(r, rg, static_cast<u32>(entry - kFuncPtrBase), 0);
    if (result.status == ExecStatus::Ok) {
        result = check_exit_state(result);
    }
    call_env_.memory = nullptr;
    call_env_.callbacks = nullptr;
    return result;
}

ExecResult Interpreter::check_exit_state(const ExecResult& result) {
    // What the verifier refuses at BPF_EXIT (spec §6), found at run time here.
    if (call_env_.rcu_locks != 0) {
        return fail(ExecStatus::HelperFault, result.pc, result.r0,
                    "BPF_EXIT instruction in main prog cannot be used inside bpf_rcu_read_lock-ed region");
    }
    if (call_env_.preempt_locks != 0) {
        return fail(ExecStatus::HelperFault, result.pc, result.r0,
                    "BPF_EXIT instruction in main prog cannot be used inside bpf_preempt_disable-ed region");
    }
    if (call_env_.open_iters != 0) {
        return fail(ExecStatus::HelperFault, result.pc, result.r0,
                    "BPF_EXIT instruction in main prog would lead to reference leak");
    }
    return result;
}

ExecResult Interpreter::fail(ExecStatus status, std::uint32_t pc, std::uint64_t r0, std::string message) {
    fault_ = fmt::format("pc {}: {}", pc, message);
    return ExecResult{r0, status, pc};
}

ExecResult Interpreter::helper_stopped(const HelperEntry& h, std::uint32_t pc, std::uint64_t r0) {
    if (!call_env_.fault.empty()) {
        return fail(ExecStatus::HelperFault, pc, r0, fmt::format("helper {} ({}): {}", h.id, h.name, call_env_.fault));
    }
    if (call_env_.tail_call_target >= 0) {
        return ExecResult{static_cast<u64>(call_env_.tail_call_target), ExecStatus::TailCall, pc};
    }
    return ExecResult{call_env_.stop_value, ExecStatus::Ok, pc};
}

bool Interpreter::is_function_entry(std::uint64_t value) const {
    if (!is_func_ptr(value, code_.insns.size())) {
        return false;
    }
    const auto entry = static_cast<std::uint32_t>(value - kFuncPtrBase);
    return std::binary_search(code_.functions.begin(), code_.functions.end(), entry);
}

bool Interpreter::region_fault(std::uint32_t pc, Access kind, std::uint8_t base, std::int16_t off, std::uint64_t addr,
                               std::uint32_t size, const Regions& rg) {
    if (kind != Access::Read && rg.contains(addr, size, false)) {
        fault_ = fmt::format("pc {}: {} of {} bytes at r{}{:+} ({:#x}) into read-only map memory", pc,
                             access_name(true, kind == Access::Atomic), size, base, off, addr);
        return false;
    }
    fault_ = fmt::format("pc {}: {} of {} bytes at r{}{:+} ({:#x}) is outside every region the program was given", pc,
                         access_name(kind == Access::Write, kind == Access::Atomic), size, base, off, addr);
    return false;
}

bool Interpreter::window_load(const DecodedInsn& in, std::uint64_t* r, std::uint64_t addr, std::uint32_t size,
                              bool sign, std::uint32_t pc) {
    const auto off = static_cast<s32>(addr - addr_of(window_.data()));
    if (off >= static_cast<s32>(kCtxWindow)) {
        // struct bpf_sock behind ctx->sk (spec §1.5): read-only, through the sock access rules.
        const s32 sock_off = off - static_cast<s32>(kCtxWindow);
        if (skb_ == nullptr || !skb_->meta.has_sk) {
            fault_ = fmt::format("pc {}: read of {} bytes at offset {} of ctx->sk, which is NULL in this run", pc, size,
                                 sock_off);
            return false;
        }
        if (!runtime::check_sock_access(sock_off, size)) {
            fault_ = fmt::format("pc {}: R{} invalid sock_common access off={} size={}", pc, in.src, sock_off, size);
            return false;
        }
        const u64 v = runtime::read_sock(*skb_, sock_off, size);
        r[in.dst] = !sign ? v : size == 1 ? sext(static_cast<std::uint8_t>(v))
                            : size == 2 ? sext(static_cast<std::uint16_t>(v))
                            : size == 4 ? sext(static_cast<std::uint32_t>(v))
                                        : v;
        return true;
    }
    const auto acc = env_.type->check_access(off, size, sign ? runtime::CtxAccessKind::LoadSx
                                                              : runtime::CtxAccessKind::Load);
    if (!acc) {
        fault_ = fmt::format("pc {}: invalid bpf_context access off={} size={}", pc, off, size);
        return false;
    }
    if (skb_ == nullptr) {
        fault_ = fmt::format("pc {}: context access off={} size={} in a run without a packet", pc, off, size);
        return false;
    }
    const u64 sk = skb_->meta.has_sk ? addr_of(window_.data()) + kCtxWindow : 0;
    r[in.dst] = runtime::read_ctx(*skb_, off, size, sign, sk);
    return true;
}

bool Interpreter::window_store(const DecodedInsn& in, std::uint64_t addr, std::uint32_t size, std::uint64_t value,
                               bool imm, std::uint32_t pc) {
    const auto off = static_cast<s32>(addr - addr_of(window_.data()));
    if (off >= static_cast<s32>(kCtxWindow)) {
        fault_ = fmt::format("pc {}: R{} cannot write into sock_common (off={} size={})", pc, in.dst,
                             off - static_cast<s32>(kCtxWindow), size);
        return false;
    }
    const auto acc = env_.type->check_access(off, size, imm ? runtime::CtxAccessKind::StoreImm
                                                             : runtime::CtxAccessKind::Store);
    if (!acc) {
        fault_ = fmt::format("pc {}: invalid bpf_context access off={} size={}", pc, off, size);
        return false;
    }
    if (skb_ == nullptr) {
        fault_ = fmt::format("pc {}: context access off={} size={} in a run without a packet", pc, off, size);
        return false;
    }
    runtime::write_ctx_cb(*skb_, off, size, value);
    return true;
}

bool Interpreter::window_atomic(const DecodedInsn& in, std::uint64_t addr, std::uint32_t pc) {
    const bool sock = addr - addr_of(window_.data()) >= kCtxWindow;
    fault_ = fmt::format("pc {}: BPF_ATOMIC stores into R{} {} is not allowed", pc, in.dst, sock ? "sock_common" : "ctx");
    return false;
}

template <class T, bool kSigned, bool kChecked>
inline bool Interpreter::load(const DecodedInsn& in, std::uint64_t* r, const Regions& rg, std::uint32_t pc) {
    const u64 addr = r[in.src] + sx(in.off);
    if (addr - rg.win_lo < rg.win_len) [[unlikely]] {
        return window_load(in, r, addr, sizeof(T), kSigned, pc);
    }
    if constexpr (kChecked) {
        if (!rg.contains(addr, sizeof(T), false)) [[unlikely]] {
            return region_fault(pc, Access::Read, in.src, in.off, addr, sizeof(T), rg);
        }
    }
    T v;
    std::memcpy(&v, reinterpret_cast<const void*>(static_cast<std::uintptr_t>(addr)), sizeof(T));
    if constexpr (kSigned) {
        r[in.dst] = sext(v);
    } else {
        r[in.dst] = v;
    }
    return true;
}

template <class T, bool kChecked>
inline bool Interpreter::store(const DecodedInsn& in, std::uint64_t* r, std::uint64_t value, bool imm,
                               const Regions& rg, std::uint32_t pc) {
    const u64 addr = r[in.dst] + sx(in.off);
    if (addr - rg.win_lo < rg.win_len) [[unlikely]] {
        return window_store(in, addr, sizeof(T), value, imm, pc);
    }
    if constexpr (kChecked) {
        if (!rg.contains(addr, sizeof(T), true)) [[unlikely]] {
            return region_fault(pc, Access::Write, in.dst, in.off, addr, sizeof(T), rg);
        }
    }
    const auto v = static_cast<T>(value);
    std::memcpy(reinterpret_cast<void*>(static_cast<std::uintptr_t>(addr)), &v, sizeof(T));
    return true;
}

template <class T, bool kChecked>
inline bool Interpreter::atomic(const DecodedInsn& in, std::uint64_t* r, const Regions& rg, std::uint32_t pc) {
    const u64 addr = r[in.dst] + sx(in.off);
    if (addr - rg.win_lo < rg.win_len) [[unlikely]] {
        return window_atomic(in, addr, pc);
    }
    if constexpr (kChecked) {
        if (!rg.contains(addr, sizeof(T), true)) [[unlikely]] {
            return region_fault(pc, Access::Atomic, in.dst, in.off, addr, sizeof(T), rg);
        }
    }
    void* p = reinterpret_cast<void*>(static_cast<std::uintptr_t>(addr));
    T old;
    std::memcpy(&old, p, sizeof(T));
    const auto s = static_cast<T>(r[in.src]);
    T now = old;
    bool fetch = true;
    switch (in.op) {
        case Op::AtomicAdd64: case Op::AtomicAdd32: now = static_cast<T>(old + s); fetch = false; break;
        case Op::AtomicOr64: case Op::AtomicOr32: now = static_cast<T>(old | s); fetch = false; break;
        case Op::AtomicAnd64: case Op::AtomicAnd32: now = static_cast<T>(old & s); fetch = false; break;
        case Op::AtomicXor64: case Op::AtomicXor32: now = static_cast<T>(old ^ s); fetch = false; break;
        case Op::AtomicFetchAdd64: case Op::AtomicFetchAdd32: now = static_cast<T>(old + s); break;
        case Op::AtomicFetchOr64: case Op::AtomicFetchOr32: now = static_cast<T>(old | s); break;
        case Op::AtomicFetchAnd64: case Op::AtomicFetchAnd32: now = static_cast<T>(old & s); break;
        case Op::AtomicFetchXor64: case Op::AtomicFetchXor32: now = static_cast<T>(old ^ s); break;
        case Op::AtomicXchg64: case Op::AtomicXchg32: now = s; break;
        case Op::AtomicCmpxchg64: case Op::AtomicCmpxchg32:
            if (old == static_cast<T>(r[0])) {
                now = s;
            }
            std::memcpy(p, &now, sizeof(T));
            r[0] = old;  // the 32-bit form zero-extends
            return true;
        default: SF_UNREACHABLE();
    }
    std::memcpy(p, &now, sizeof(T));
    if (fetch) {
        r[in.src] = old;  // the 32-bit form zero-extends
    }
    return true;
}

Interpreter::PacketLoad Interpreter::no_packet(std::uint32_t pc) {
    fault_ = fmt::format("pc {}: LD_ABS/LD_IND needs a packet, and this run has none ({})", pc,
                         env_.type == nullptr ? "raw mode" : "the context is NULL");
    return PacketLoad::NoPacket;
}

// A template per size and mode, inlined into the run loop: the out-of-line version that looked
// both up in the isa table was a quarter of a `tcp dst port 80` run (docs/PERFORMANCE.md).
template <class T, bool kInd>
inline Interpreter::PacketLoad Interpreter::load_packet(const DecodedInsn& in, std::uint64_t* r, std::uint32_t pc) {
    // The kernel rewrites LD_ABS/LD_IND into "r2 = offset; r1 = r6; call load_helper_N" (spec
    // §2.2); the registers are left as decoded.h documents.
    constexpr u32 size = sizeof(T);
    const u64 wide = kInd ? r[in.src] + sx(in.imm) : sx(in.imm);
    r[1] = call_env_.ctx_addr;
    r[2] = wide;
    r[3] = kClobberValue;
    r[4] = kClobberValue;
    r[5] = kClobberValue;
    if (skb_ == nullptr) [[unlikely]] {
        return no_packet(pc);
    }
    const runtime::Skb& skb = *skb_;
    const s64 pos = runtime::packet_load_pos(skb, static_cast<s32>(lo32(wide)), size);
    if (pos < 0) {
        return PacketLoad::OutOfRange;
    }
    r[0] = load_be<T>(skb.bytes.data() + pos);
    return PacketLoad::Loaded;
}

template <bool kChecked, bool kTrace>
ExecResult Interpreter::execute(std::uint64_t* r, Regions& rg, std::uint32_t start, std::uint32_t base) {
    const DecodedInsn* const code = code_.insns.data();
    std::array<Frame, kMaxFrames> frames;
    u32 depth = 0;  // frames entered by this execution; `base` frames lie below it (callbacks)
    u32 pc = start;
    // The budget lives in a register here and in left_ across helper calls, which may run
    // callbacks that spend it too.
    u64 left = left_;
    struct Sync {
        u64& member;
        const u64& local;
        ~Sync() { member = local; }
    } sync{left_, left};
    TraceStep step{};

    auto trace = [&](u32 at) {
        (void)at;
        if constexpr (kTrace) {
            step.pc = at;
            std::copy(r, r + 11, step.after);
            trace_->step(step);
        }
    };
    // Returns from the current function; true when that ends the program.
    auto leave = [&](u32& next) {
        if (depth == 0) {
            return true;
        }
        --depth;
        const Frame& f = frames[depth];
        std::copy(f.saved, f.saved + 4, r + 6);
        rg.stack_len = u64{kFrameSize} * (base + depth + 1);
        r[10] = rg.stack_lo + rg.stack_len;
        next = f.ret_pc;
        return false;
    };
    // Enters a sub-program; false when the frame limit is reached.
    auto enter = [&](u32 target, u32& next) {
        if (base + depth + 1 >= kMaxFrames) {
            return false;
        }
        Frame& f = frames[depth];
        f.ret_pc = next;
        std::copy(r + 6, r + 10, f.saved);
        ++depth;
        if constexpr (kChecked) {
            std::memset(stack_.data() + rg.stack_len, 0, kFrameSize);
        }
        rg.stack_len = u64{kFrameSize} * (base + depth + 1);
        r[10] = rg.stack_lo + rg.stack_len;
        next = target;
        return true;
    };
    auto call_depth = [&](u32 at) {
        return fail(ExecStatus::CallDepth, at, r[0],
                    fmt::format("the call stack of {} frames is too deep", kMaxFrames + 1));
    };

    for (;;) {
        if (left == 0) [[unlikely]] {
            return fail(ExecStatus::BudgetExceeded, pc, r[0],
                        fmt::format("instruction budget of {} exceeded", options_.budget));
        }
        --left;
        const DecodedInsn& in = code[pc];
        if constexpr (kTrace) {
            std::copy(r, r + 11, step.before);
        }
        u64& d = r[in.dst];
        const u64 s = r[in.src];
        const u64 k = sx(in.imm);
        u32 next = pc + 1;
        switch (in.op) {
            // 64-bit ALU
            case Op::Add64Imm: d += k; break;
            case Op::Add64Reg: d += s; break;
            case Op::Sub64Imm: d -= k; break;
            case Op::Sub64Reg: d -= s; break;
            case Op::Mul64Imm: d *= k; break;
            case Op::Mul64Reg: d *= s; break;
            case Op::Div64Imm: d = udiv64(d, k); break;
            case Op::Div64Reg: d = udiv64(d, s); break;
            case Op::Sdiv64Imm: d = sdiv64(d, k); break;
            case Op::Sdiv64Reg: d = sdiv64(d, s); break;
            case Op::Or64Imm: d |= k; break;
            case Op::Or64Reg: d |= s; break;
            case Op::And64Imm: d &= k; break;
            case Op::And64Reg: d &= s; break;
            case Op::Lsh64Imm: d <<= (k & 63); break;
            case Op::Lsh64Reg: d <<= (s & 63); break;
            case Op::Rsh64Imm: d >>= (k & 63); break;
            case Op::Rsh64Reg: d >>= (s & 63); break;
            case Op::Mod64Imm: d = umod64(d, k); break;
            case Op::Mod64Reg: d = umod64(d, s); break;
            case Op::Smod64Imm: d = smod64(d, k); break;
            case Op::Smod64Reg: d = smod64(d, s); break;
            case Op::Xor64Imm: d ^= k; break;
            case Op::Xor64Reg: d ^= s; break;
            case Op::Mov64Imm: d = k; break;
            case Op::Mov64Reg: d = s; break;
            case Op::Movsx64_8: d = sext(static_cast<std::uint8_t>(s)); break;
            case Op::Movsx64_16: d = sext(static_cast<std::uint16_t>(s)); break;
            case Op::Movsx64_32: d = sext(static_cast<std::uint32_t>(s)); break;
            case Op::Arsh64Imm: d = arsh64(d, k); break;
            case Op::Arsh64Reg: d = arsh64(d, s); break;
            case Op::Neg64: d = u64{0} - d; break;
            // 32-bit ALU: operate on the low halves, zero-extend the result
            case Op::Add32Imm: d = lo32(d + k); break;
            case Op::Add32Reg: d = lo32(d + s); break;
            case Op::Sub32Imm: d = lo32(d - k); break;
            case Op::Sub32Reg: d = lo32(d - s); break;
            case Op::Mul32Imm: d = lo32(lo32(d) * lo32(k)); break;
            case Op::Mul32Reg: d = lo32(lo32(d) * lo32(s)); break;
            case Op::Div32Imm: d = udiv32(lo32(d), lo32(k)); break;
            case Op::Div32Reg: d = udiv32(lo32(d), lo32(s)); break;
            case Op::Sdiv32Imm: d = sdiv32(lo32(d), lo32(k)); break;
            case Op::Sdiv32Reg: d = sdiv32(lo32(d), lo32(s)); break;
            case Op::Or32Imm: d = lo32(d | k); break;
            case Op::Or32Reg: d = lo32(d | s); break;
            case Op::And32Imm: d = lo32(d & k); break;
            case Op::And32Reg: d = lo32(d & s); break;
            case Op::Lsh32Imm: d = lo32(lo32(d) << (k & 31)); break;
            case Op::Lsh32Reg: d = lo32(lo32(d) << (s & 31)); break;
            case Op::Rsh32Imm: d = lo32(d) >> (k & 31); break;
            case Op::Rsh32Reg: d = lo32(d) >> (s & 31); break;
            case Op::Mod32Imm: d = umod32(lo32(d), lo32(k)); break;
            case Op::Mod32Reg: d = umod32(lo32(d), lo32(s)); break;
            case Op::Smod32Imm: d = smod32(lo32(d), lo32(k)); break;
            case Op::Smod32Reg: d = smod32(lo32(d), lo32(s)); break;
            case Op::Xor32Imm: d = lo32(d ^ k); break;
            case Op::Xor32Reg: d = lo32(d ^ s); break;
            case Op::Mov32Imm: d = lo32(k); break;
            case Op::Mov32Reg: d = lo32(s); break;
            case Op::Movsx32_8: d = lo32(sext(static_cast<std::uint8_t>(s))); break;
            case Op::Movsx32_16: d = lo32(sext(static_cast<std::uint16_t>(s))); break;
            case Op::Arsh32Imm: d = arsh32(d, k); break;
            case Op::Arsh32Reg: d = arsh32(d, s); break;
            case Op::Neg32: d = lo32(u64{0} - d); break;
            // Byte order (little-endian host: le truncates, be swaps)
            case Op::Le16: d = static_cast<std::uint16_t>(d); break;
            case Op::Le32: d = lo32(d); break;
            case Op::Le64: break;
            case Op::Be16: case Op::Bswap16: d = __builtin_bswap16(static_cast<std::uint16_t>(d)); break;
            case Op::Be32: case Op::Bswap32: d = __builtin_bswap32(lo32(d)); break;
            case Op::Be64: case Op::Bswap64: d = __builtin_bswap64(d); break;
            // Jumps (targets resolved at decode)
            case Op::Ja: case Op::Ja32: next = in.ext; break;
            case Op::Jeq64Imm: if (d == k) { next = in.ext; } break;
            case Op::Jeq64Reg: if (d == s) { next = in.ext; } break;
            case Op::Jgt64Imm: if (d > k) { next = in.ext; } break;
            case Op::Jgt64Reg: if (d > s) { next = in.ext; } break;
            case Op::Jge64Imm: if (d >= k) { next = in.ext; } break;
            case Op::Jge64Reg: if (d >= s) { next = in.ext; } break;
            case Op::Jset64Imm: if ((d & k) != 0) { next = in.ext; } break;
            case Op::Jset64Reg: if ((d & s) != 0) { next = in.ext; } break;
            case Op::Jne64Imm: if (d != k) { next = in.ext; } break;
            case Op::Jne64Reg: if (d != s) { next = in.ext; } break;
            case Op::Jsgt64Imm: if (static_cast<s64>(d) > static_cast<s64>(k)) { next = in.ext; } break;
            case Op::Jsgt64Reg: if (static_cast<s64>(d) > static_cast<s64>(s)) { next = in.ext; } break;
            case Op::Jsge64Imm: if (static_cast<s64>(d) >= static_cast<s64>(k)) { next = in.ext; } break;
            case Op::Jsge64Reg: if (static_cast<s64>(d) >= static_cast<s64>(s)) { next = in.ext; } break;
            case Op::Jlt64Imm: if (d < k) { next = in.ext; } break;
            case Op::Jlt64Reg: if (d < s) { next = in.ext; } break;
            case Op::Jle64Imm: if (d <= k) { next = in.ext; } break;
            case Op::Jle64Reg: if (d <= s) { next = in.ext; } break;
            case Op::Jslt64Imm: if (static_cast<s64>(d) < static_cast<s64>(k)) { next = in.ext; } break;
            case Op::Jslt64Reg: if (static_cast<s64>(d) < static_cast<s64>(s)) { next = in.ext; } break;
            case Op::Jsle64Imm: if (static_cast<s64>(d) <= static_cast<s64>(k)) { next = in.ext; } break;
            case Op::Jsle64Reg: if (static_cast<s64>(d) <= static_cast<s64>(s)) { next = in.ext; } break;
            case Op::Jeq32Imm: if (lo32(d) == lo32(k)) { next = in.ext; } break;
            case Op::Jeq32Reg: if (lo32(d) == lo32(s)) { next = in.ext; } break;
            case Op::Jgt32Imm: if (lo32(d) > lo32(k)) { next = in.ext; } break;
            case Op::Jgt32Reg: if (lo32(d) > lo32(s)) { next = in.ext; } break;
            case Op::Jge32Imm: if (lo32(d) >= lo32(k)) { next = in.ext; } break;
            case Op::Jge32Reg: if (lo32(d) >= lo32(s)) { next = in.ext; } break;
            case Op::Jset32Imm: if ((lo32(d) & lo32(k)) != 0) { next = in.ext; } break;
            case Op::Jset32Reg: if ((lo32(d) & lo32(s)) != 0) { next = in.ext; } break;
            case Op::Jne32Imm: if (lo32(d) != lo32(k)) { next = in.ext; } break;
            case Op::Jne32Reg: if (lo32(d) != lo32(s)) { next = in.ext; } break;
            case Op::Jsgt32Imm: if (static_cast<s32>(d) > static_cast<s32>(k)) { next = in.ext; } break;
            case Op::Jsgt32Reg: if (static_cast<s32>(d) > static_cast<s32>(s)) { next = in.ext; } break;
            case Op::Jsge32Imm: if (static_cast<s32>(d) >= static_cast<s32>(k)) { next = in.ext; } break;
            case Op::Jsge32Reg: if (static_cast<s32>(d) >= static_cast<s32>(s)) { next = in.ext; } break;
            case Op::Jlt32Imm: if (lo32(d) < lo32(k)) { next = in.ext; } break;
            case Op::Jlt32Reg: if (lo32(d) < lo32(s)) { next = in.ext; } break;
            case Op::Jle32Imm: if (lo32(d) <= lo32(k)) { next = in.ext; } break;
            case Op::Jle32Reg: if (lo32(d) <= lo32(s)) { next = in.ext; } break;
            case Op::Jslt32Imm: if (static_cast<s32>(d) < static_cast<s32>(k)) { next = in.ext; } break;
            case Op::Jslt32Reg: if (static_cast<s32>(d) < static_cast<s32>(s)) { next = in.ext; } break;
            case Op::Jsle32Imm: if (static_cast<s32>(d) <= static_cast<s32>(k)) { next = in.ext; } break;
            case Op::Jsle32Reg: if (static_cast<s32>(d) <= static_cast<s32>(s)) { next = in.ext; } break;
            // Calls and exit
            case Op::CallHelper: {
                const HelperEntry& h = code_.helpers[in.ext];
                if (h.fn == nullptr) [[unlikely]] {
                    return fail(ExecStatus::BadCall, pc, r[0], fmt::format("call to unknown helper {}", h.id));
                }
                left_ = left;
                active_frames_ = base + depth + 1;
                r[0] = h.fn(call_env_, r[1], r[2], r[3], r[4], r[5]);
                left = left_;
                std::fill(r + 1, r + 6, kClobberValue);
                if (call_env_.stop || !call_env_.fault.empty()) [[unlikely]] {
                    trace(pc);
                    return helper_stopped(h, pc, r[0]);
                }
                break;
            }
            case Op::CallLocal:
                if (!enter(in.ext, next)) [[unlikely]] {
                    return call_depth(pc);
                }
                break;
            case Op::CallKfunc: {
                const HelperEntry& k = code_.kfuncs[in.ext];
                if (k.fn == nullptr) [[unlikely]] {
                    return fail(ExecStatus::BadCall, pc, r[0], fmt::format("call to unknown kfunc #{}", k.id));
                }
                left_ = left;
                active_frames_ = base + depth + 1;
                r[0] = k.fn(call_env_, r[1], r[2], r[3], r[4], r[5]);
                left = left_;
                std::fill(r + 1, r + 6, kClobberValue);
                if (!call_env_.fault.empty()) [[unlikely]] {
                    trace(pc);
                    return fail(ExecStatus::HelperFault, pc, r[0], fmt::format("kfunc {}: {}", k.name, call_env_.fault));
                }
                break;
            }
            case Op::Callx: {
                const u64 target = d;
                if (is_function_entry(target)) {
                    if (!enter(static_cast<u32>(target - kFuncPtrBase), next)) [[unlikely]] {
                        return call_depth(pc);
                    }
                    break;
                }
                const runtime::HelperDef* def =
                    target <= 0x7fffffffu && env_.helpers != nullptr
                        ? env_.helpers->find(static_cast<s32>(target))
                        : nullptr;
                if (def == nullptr) {
                    return fail(ExecStatus::BadCall, pc, r[0],
                                fmt::format("callx r{} = {:#x}: neither a helper id nor a function", in.dst, target));
                }
                left_ = left;
                active_frames_ = base + depth + 1;
                r[0] = def->fn(call_env_, r[1], r[2], r[3], r[4], r[5]);
                left = left_;
                std::fill(r + 1, r + 6, kClobberValue);
                if (call_env_.stop || !call_env_.fault.empty()) [[unlikely]] {
                    trace(pc);
                    return helper_stopped(HelperEntry{def->id, def->name, def->fn}, pc, r[0]);
                }
                break;
            }
            case Op::Exit:
                if (leave(next)) {
                    trace(pc);
                    return ExecResult{r[0], ExecStatus::Ok, pc};
                }
                break;
            // 64-bit immediates
            case Op::Lddw: case Op::LddwFunc: d = in.imm64(); next = pc + 2; break;
            case Op::LddwMapFd: case Op::LddwMapValue: case Op::LddwMapIdx: case Op::LddwMapIdxValue:
                return fail(ExecStatus::BadCall, pc, r[0],
                            fmt::format("lddw with src={} ({}) names a map this run was not given", in.src,
                                        pseudo_name(in.op)));
            case Op::LddwBtfId:
                return fail(ExecStatus::BadCall, pc, r[0],
                            fmt::format("lddw with src={} ({}) needs kernel BTF, which is not available", in.src,
                                        pseudo_name(in.op)));
            // Legacy packet loads: a failed load returns 0 from the current function
            case Op::LdAbs8: case Op::LdAbs16: case Op::LdAbs32:
            case Op::LdInd8: case Op::LdInd16: case Op::LdInd32: {
                PacketLoad res = PacketLoad::Loaded;
                switch (in.op) {
                    case Op::LdAbs8: res = load_packet<std::uint8_t, false>(in, r, pc); break;
                    case Op::LdAbs16: res = load_packet<std::uint16_t, false>(in, r, pc); break;
                    case Op::LdAbs32: res = load_packet<std::uint32_t, false>(in, r, pc); break;
                    case Op::LdInd8: res = load_packet<std::uint8_t, true>(in, r, pc); break;
                    case Op::LdInd16: res = load_packet<std::uint16_t, true>(in, r, pc); break;
                    case Op::LdInd32: res = load_packet<std::uint32_t, true>(in, r, pc); break;
                    default: SF_UNREACHABLE();
                }
                if (res == PacketLoad::NoPacket) [[unlikely]] {
                    return ExecResult{r[0], ExecStatus::MemoryFault, pc};
                }
                if (res == PacketLoad::OutOfRange) {
                    r[0] = 0;
                    if (leave(next)) {
                        trace(pc);
                        return ExecResult{r[0], ExecStatus::Ok, pc};
                    }
                }
                break;
            }
            // Memory
            case Op::Ldx8: if (!load<std::uint8_t, false, kChecked>(in, r, rg, pc)) { return ExecResult{r[0], ExecStatus::MemoryFault, pc}; } break;
            case Op::Ldx16: if (!load<std::uint16_t, false, kChecked>(in, r, rg, pc)) { return ExecResult{r[0], ExecStatus::MemoryFault, pc}; } break;
            case Op::Ldx32: if (!load<std::uint32_t, false, kChecked>(in, r, rg, pc)) { return ExecResult{r[0], ExecStatus::MemoryFault, pc}; } break;
            case Op::Ldx64: if (!load<std::uint64_t, false, kChecked>(in, r, rg, pc)) { return ExecResult{r[0], ExecStatus::MemoryFault, pc}; } break;
            case Op::Ldsx8: if (!load<std::uint8_t, true, kChecked>(in, r, rg, pc)) { return ExecResult{r[0], ExecStatus::MemoryFault, pc}; } break;
            case Op::Ldsx16: if (!load<std::uint16_t, true, kChecked>(in, r, rg, pc)) { return ExecResult{r[0], ExecStatus::MemoryFault, pc}; } break;
            case Op::Ldsx32: if (!load<std::uint32_t, true, kChecked>(in, r, rg, pc)) { return ExecResult{r[0], ExecStatus::MemoryFault, pc}; } break;
            case Op::St8: if (!store<std::uint8_t, kChecked>(in, r, k, true, rg, pc)) { return ExecResult{r[0], ExecStatus::MemoryFault, pc}; } break;
            case Op::St16: if (!store<std::uint16_t, kChecked>(in, r, k, true, rg, pc)) { return ExecResult{r[0], ExecStatus::MemoryFault, pc}; } break;
            case Op::St32: if (!store<std::uint32_t, kChecked>(in, r, k, true, rg, pc)) { return ExecResult{r[0], ExecStatus::MemoryFault, pc}; } break;
            case Op::St64: if (!store<std::uint64_t, kChecked>(in, r, k, true, rg, pc)) { return ExecResult{r[0], ExecStatus::MemoryFault, pc}; } break;
            case Op::Stx8: if (!store<std::uint8_t, kChecked>(in, r, s, false, rg, pc)) { return ExecResult{r[0], ExecStatus::MemoryFault, pc}; } break;
            case Op::Stx16: if (!store<std::uint16_t, kChecked>(in, r, s, false, rg, pc)) { return ExecResult{r[0], ExecStatus::MemoryFault, pc}; } break;
            case Op::Stx32: if (!store<std::uint32_t, kChecked>(in, r, s, false, rg, pc)) { return ExecResult{r[0], ExecStatus::MemoryFault, pc}; } break;
            case Op::Stx64: if (!store<std::uint64_t, kChecked>(in, r, s, false, rg, pc)) { return ExecResult{r[0], ExecStatus::MemoryFault, pc}; } break;
            case Op::AtomicAdd64: case Op::AtomicOr64: case Op::AtomicAnd64: case Op::AtomicXor64:
            case Op::AtomicFetchAdd64: case Op::AtomicFetchOr64: case Op::AtomicFetchAnd64: case Op::AtomicFetchXor64:
            case Op::AtomicXchg64: case Op::AtomicCmpxchg64:
                if (!atomic<std::uint64_t, kChecked>(in, r, rg, pc)) { return ExecResult{r[0], ExecStatus::MemoryFault, pc}; }
                break;
            case Op::AtomicAdd32: case Op::AtomicOr32: case Op::AtomicAnd32: case Op::AtomicXor32:
            case Op::AtomicFetchAdd32: case Op::AtomicFetchOr32: case Op::AtomicFetchAnd32: case Op::AtomicFetchXor32:
            case Op::AtomicXchg32: case Op::AtomicCmpxchg32:
                if (!atomic<std::uint32_t, kChecked>(in, r, rg, pc)) { return ExecResult{r[0], ExecStatus::MemoryFault, pc}; }
                break;
        }
        trace(pc);
        pc = next;
    }
}

}  // namespace sockfilter::vm
