// SPDX-License-Identifier: MIT
// runtime::load: the kernel's load-time checks that need no full verifier (context accesses found
// by a small dataflow, LD_ABS/LD_IND rules, helper, kfunc and map references; spec §1.2, §2.1, §5.1).
#include "runtime/load.h"

#include "runtime/instance.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "support/assert.h"

namespace sockfilter::runtime {

namespace {

using isa::Format;
using isa::Op;

/// __BPF_FUNC_MAX_ID of 6.18: helper ids at or past it do not exist at all.
constexpr std::int32_t kHelperIdLimit = 212;
/// BPF_FUNC_tail_call.
constexpr std::int32_t kTailCallId = 12;
/// BPF_MAX_VAR_OFF: the largest offset (exclusive) a direct map value reference may carry.
constexpr std::uint32_t kMaxVarOff = 1U << 29;
/// MAX_BPF_STACK / 8: the 8-byte stack slots a spill can occupy.
constexpr std::int64_t kStackBytes = 512;
constexpr std::size_t kStackSlots = 64;
constexpr std::size_t kNumRegs = 11;
constexpr std::uint8_t kLdAbsCtxReg = 6;

/// What the analysis knows about one register or 8-byte stack slot.
enum class Kind : std::uint8_t {
    NotInit,  ///< written on no path (registers only)
    Const,    ///< a scalar with the known value `v`
    Ctx,      ///< the context pointer plus the constant `v`
    CtxVar,   ///< the context pointer plus an amount not known at load time
    Fp,       ///< the frame pointer plus the constant `v`
    FpVar,    ///< possibly a stack pointer with an unknown offset
    Other,    ///< some value that is not the context pointer
    Mixed,    ///< the context pointer on some paths, something else on others
};

struct Val {
    Kind kind = Kind::NotInit;
    std::int64_t v = 0;
    friend bool operator==(const Val&, const Val&) = default;
};

Val konst(std::uint64_t v) { return {Kind::Const, static_cast<std::int64_t>(v)}; }
Val other() { return {Kind::Other, 0}; }
Val not_init() { return {Kind::NotInit, 0}; }

bool is_ctx(Kind k) { return k == Kind::Ctx || k == Kind::CtxVar; }
bool is_fp(Kind k) { return k == Kind::Fp || k == Kind::FpVar; }
bool is_ptr(Kind k) { return is_ctx(k) || is_fp(k) || k == Kind::Mixed; }

/// Least upper bound of two facts that hold on different paths into one instruction.
Val join(const Val& a, const Val& b) {
    if (a == b) {
        return a;
    }
    if (a.kind == Kind::Mixed || b.kind == Kind::Mixed) {
        return {Kind::Mixed, 0};
    }
    if (is_ctx(a.kind) && is_ctx(b.kind)) {
        return {Kind::CtxVar, 0};
    }
    if (is_ctx(a.kind) || is_ctx(b.kind)) {
        return {Kind::Mixed, 0};
    }
    if (is_fp(a.kind) || is_fp(b.kind)) {
        return {Kind::FpVar, 0};
    }
    return other();
}

/// Registers r0-r10 and the 64 stack slots r10-512 ... r10-8 of one function's frame.
struct State {
    std::array<Val, kNumRegs> reg{};
    std::array<Val, kStackSlots> stack{};
    friend bool operator==(const State&, const State&) = default;
};

/// The state at a function's entry: in function 0 r1 is the context; elsewhere r1-r5 are
/// arguments the analysis does not follow. Stack slots read before they are written are not the
/// context, so they start as Other.
State entry_state(bool main) {
    State s;
    s.reg[10] = {Kind::Fp, 0};
    if (main) {
        s.reg[1] = {Kind::Ctx, 0};
    } else {
        for (std::size_t r = 1; r <= 5; ++r) {
            s.reg[r] = other();
        }
    }
    s.stack.fill(other());
    return s;
}

std::uint64_t sext_imm(std::int32_t imm) { return static_cast<std::uint64_t>(static_cast<std::int64_t>(imm)); }
std::uint64_t low32(std::uint64_t v) { return v & 0xffffffffu; }

std::uint64_t sign_extend(std::uint64_t v, unsigned bytes) {
    const unsigned shift = 64 - 8 * bytes;
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(v << shift) >> shift);
}

/// Folds an ALU operation on two known scalars, keyed by the table's kernel-syntax token; nullopt
/// for the operations the analysis does not fold (division, modulo).
std::optional<std::uint64_t> fold(std::string_view tok, std::uint64_t a, std::uint64_t b, bool alu32) {
    if (alu32) {
        a = low32(a);
        b = low32(b);
    }
    const unsigned mask = alu32 ? 31 : 63;
    std::uint64_t r = 0;
    if (tok == "+=") {
        r = a + b;
    } else if (tok == "-=") {
        r = a - b;
    } else if (tok == "*=") {
        r = a * b;
    } else if (tok == "|=") {
        r = a | b;
    } else if (tok == "&=") {
        r = a & b;
    } else if (tok == "^=") {
        r = a ^ b;
    } else if (tok == "<<=") {
        r = a << (b & mask);
    } else if (tok == ">>=") {
        r = a >> (b & mask);
    } else if (tok == "s>>=") {
        r = alu32 ? static_cast<std::uint64_t>(static_cast<std::uint32_t>(static_cast<std::int32_t>(a) >> (b & mask)))
                  : static_cast<std::uint64_t>(static_cast<std::int64_t>(a) >> (b & mask));
    } else {
        return std::nullopt;
    }
    return alu32 ? low32(r) : r;
}

/// 64-bit `d += s` / `d -= s` where either side may be a pointer (scalar += pointer yields a
/// pointer, as in the kernel; pointer ± pointer is a scalar or a rejection, never the context).
Val ptr_arith(Val d, Val s, bool add) {
    if (d.kind == Kind::Const && s.kind == Kind::Const) {
        const auto a = static_cast<std::uint64_t>(d.v);
        const auto b = static_cast<std::uint64_t>(s.v);
        return konst(add ? a + b : a - b);
    }
    if (add && !is_ptr(d.kind) && is_ptr(s.kind)) {
        std::swap(d, s);
    }
    if (!is_ptr(d.kind) || is_ptr(s.kind)) {
        return other();
    }
    if ((d.kind == Kind::Ctx || d.kind == Kind::Fp) && s.kind == Kind::Const) {
        const auto a = static_cast<std::uint64_t>(d.v);
        const auto b = static_cast<std::uint64_t>(s.v);
        return {d.kind, static_cast<std::int64_t>(add ? a + b : a - b)};
    }
    switch (d.kind) {
        case Kind::Ctx:
        case Kind::CtxVar: return {Kind::CtxVar, 0};
        case Kind::Fp:
        case Kind::FpVar: return {Kind::FpVar, 0};
        default: return d;
    }
}

void alu(State& st, Op op, const isa::Insn& in) {
    const isa::OpInfo& oi = isa::info(op);
    const bool w = oi.alu32();
    Val& d = st.reg[in.dst];
    switch (oi.format) {
        case Format::Endian: d = other(); return;
        case Format::Neg:
            d = d.kind == Kind::Const ? konst(w ? low32(0 - static_cast<std::uint64_t>(d.v))
                                                : 0 - static_cast<std::uint64_t>(d.v))
                                      : other();
            return;
        case Format::MovSx: {
            const Val& s = st.reg[in.src];
            if (s.kind != Kind::Const) {
                d = other();
                return;
            }
            const std::uint64_t v = sign_extend(static_cast<std::uint64_t>(s.v), oi.size);
            d = konst(w ? low32(v) : v);
            return;
        }
        default: break;
    }
    const Val s = oi.format == Format::AluImm ? konst(w ? low32(sext_imm(in.imm)) : sext_imm(in.imm)) : st.reg[in.src];
    if (oi.ktok == "=") {
        d = !w ? s : s.kind == Kind::Const ? konst(low32(static_cast<std::uint64_t>(s.v))) : other();
        return;
    }
    if (!w && (oi.ktok == "+=" || oi.ktok == "-=")) {
        d = ptr_arith(d, s, oi.ktok == "+=");
        return;
    }
    if (d.kind == Kind::Const && s.kind == Kind::Const) {
        const auto r = fold(oi.ktok, static_cast<std::uint64_t>(d.v), static_cast<std::uint64_t>(s.v), w);
        d = r ? konst(*r) : other();
        return;
    }
    d = other();
}

/// Marks every stack slot that bytes [lo, hi) of the frame (negative offsets from r10) touch.
void clobber_stack(State& st, std::int64_t lo, std::int64_t hi) {
    lo = std::max(lo, -kStackBytes);
    hi = std::min<std::int64_t>(hi, 0);
    if (hi <= lo) {
        return;
    }
    const auto first = static_cast<std::size_t>((lo + kStackBytes) / 8);
    const auto end = static_cast<std::size_t>((hi + kStackBytes + 7) / 8);
    for (std::size_t i = first; i < end; ++i) {
        st.stack[i] = other();
    }
}

/// A store of `size` bytes through `base` + off: tracks 8-byte spills into the frame.
void store(State& st, const Val& base, std::int16_t off, unsigned size, const Val& value) {
    if (base.kind == Kind::FpVar || base.kind == Kind::Mixed) {
        clobber_stack(st, -kStackBytes, 0);
        return;
    }
    if (base.kind != Kind::Fp) {
        return;
    }
    const std::int64_t addr = base.v + off;
    if (size == 8 && addr % 8 == 0 && addr >= -kStackBytes && addr + 8 <= 0) {
        st.stack[static_cast<std::size_t>((addr + kStackBytes) / 8)] = value;
        return;
    }
    clobber_stack(st, addr, addr + size);
}

/// A helper or function may write through any stack pointer it is given.
void call_clobbers(State& st) {
    for (std::size_t r = 1; r <= 5; ++r) {
        const Val& a = st.reg[r];
        if (a.kind == Kind::Fp) {
            clobber_stack(st, a.v, 0);
        } else if (a.kind == Kind::FpVar || a.kind == Kind::Mixed) {
            clobber_stack(st, -kStackBytes, 0);
        }
    }
    for (std::size_t r = 1; r <= 5; ++r) {
        st.reg[r] = not_init();
    }
    st.reg[0] = other();
}

/// The effect of the instruction at `pc` on what the analysis knows.
void transfer(State& st, const program::Program& prog, std::size_t pc) {
    const Op op = prog.op(pc);
    const isa::Insn& in = prog.slots()[pc];
    const isa::OpInfo& oi = isa::info(op);
    switch (oi.format) {
        case Format::AluImm:
        case Format::AluReg:
        case Format::Neg:
        case Format::Endian:
        case Format::MovSx: alu(st, op, in); return;
        case Format::Ja:
        case Format::Ja32:
        case Format::JmpImm:
        case Format::JmpReg:
        case Format::Exit: return;
        case Format::CallHelper:
        case Format::CallLocal:
        case Format::CallKfunc:
        case Format::Callx: call_clobbers(st); return;
        case Format::Lddw:
            st.reg[in.dst] = op == Op::Lddw ? konst(isa::lddw_imm(prog.slots(), pc)) : other();
            return;
        case Format::LdAbs:
        case Format::LdInd:
            for (std::size_t r = 1; r <= 5; ++r) {
                st.reg[r] = not_init();
            }
            st.reg[0] = other();
            return;
        case Format::Ldx:
        case Format::Ldsx: {
            const Val base = st.reg[in.src];
            Val result = other();
            if (oi.format == Format::Ldx && oi.size == 8 && base.kind == Kind::Fp) {
                const std::int64_t addr = base.v + in.off;
                if (addr % 8 == 0 && addr >= -kStackBytes && addr + 8 <= 0) {
                    result = st.stack[static_cast<std::size_t>((addr + kStackBytes) / 8)];
                }
            }
            st.reg[in.dst] = result;
            return;
        }
        case Format::St: store(st, st.reg[in.dst], in.off, oi.size, konst(sext_imm(in.imm))); return;
        case Format::Stx: store(st, st.reg[in.dst], in.off, oi.size, oi.size == 8 ? st.reg[in.src] : other()); return;
        case Format::Atomic:
            store(st, st.reg[in.dst], in.off, oi.size, other());
            if ((oi.flags & isa::kFetch) != 0) {
                st.reg[op == Op::AtomicCmpxchg32 || op == Op::AtomicCmpxchg64 ? 0 : in.src] = other();
            }
            return;
    }
}

tl::unexpected<Error> reject(std::size_t pc, std::string message) {
    return tl::unexpected<Error>(
        Error{Errc::Rejected, std::move(message), InsnIndex{static_cast<std::uint32_t>(pc)}, {}, 0});
}

/// The kernel's check_ptr_off_reg for a context pointer: only the unmodified pointer may be used.
std::optional<std::string> ctx_offset_problem(const Val& base, unsigned regno) {
    if (base.kind == Kind::CtxVar) {
        return fmt::format("variable ctx access disallowed: R{} is the context pointer plus an amount not known at load time",
                           regno);
    }
    if (base.v < 0) {
        return fmt::format("negative offset ctx ptr R{} off={} disallowed", regno, base.v);
    }
    if (base.v != 0) {
        return fmt::format("dereference of modified ctx ptr R{} off={} disallowed", regno, base.v);
    }
    return std::nullopt;
}

/// A memory access whose base register may hold the context pointer.
std::optional<std::string> check_ctx_access(const ProgType& type, const State& st, Op op, const isa::Insn& in) {
    const isa::OpInfo& oi = isa::info(op);
    CtxAccessKind kind = CtxAccessKind::Load;
    unsigned base_reg = in.dst;
    switch (oi.format) {
        case Format::Ldx: kind = CtxAccessKind::Load; base_reg = in.src; break;
        case Format::Ldsx: kind = CtxAccessKind::LoadSx; base_reg = in.src; break;
        case Format::St: kind = CtxAccessKind::StoreImm; break;
        case Format::Stx: kind = CtxAccessKind::Store; break;
        case Format::Atomic: kind = CtxAccessKind::Atomic; break;
        default: return std::nullopt;
    }
    const Val& base = st.reg[base_reg];
    if (base.kind == Kind::Mixed) {
        return std::string("same insn cannot be used with different pointers");
    }
    if (!is_ctx(base.kind)) {
        return std::nullopt;
    }
    if (kind == CtxAccessKind::Atomic) {
        return fmt::format("BPF_ATOMIC stores into R{} ctx is not allowed", base_reg);
    }
    if (auto problem = ctx_offset_problem(base, base_reg)) {
        return problem;
    }
    if (!type.check_access(in.off, oi.size, kind)) {
        return fmt::format("invalid bpf_context access off={} size={}", in.off, oi.size);
    }
    return std::nullopt;
}

/// check_ld_abs (spec §2.1) after the structural rules, which isa::classify already enforces.
std::optional<std::string> check_ld_abs(const State& st, Op op, const isa::Insn& in) {
    const Val& r6 = st.reg[kLdAbsCtxReg];
    if (r6.kind == Kind::NotInit) {
        return std::string("R6 !read_ok");
    }
    if (!is_ctx(r6.kind)) {
        return std::string("at the time of BPF_LD_ABS|IND R6 != pointer to skb");
    }
    if (isa::info(op).format == Format::LdInd && st.reg[in.src].kind == Kind::NotInit) {
        return fmt::format("R{} !read_ok", in.src);
    }
    return ctx_offset_problem(r6, kLdAbsCtxReg);
}

std::optional<std::string> check_helper(const Environment& env, std::int32_t id) {
    if (env.helpers != nullptr && env.helpers->find(id) != nullptr) {
        return std::nullopt;
    }
    if (id < 0 || id >= kHelperIdLimit) {
        return fmt::format("invalid func unknown#{}", id);
    }
    if (env.helpers != nullptr) {
        if (const auto why = env.helpers->unsupported(id)) {
            return fmt::format("helper {}#{} is not available in userspace: {}", helper_name(id), id, *why);
        }
    }
    return fmt::format("program of this type cannot use helper {}#{}", helper_name(id), id);
}

std::string_view pseudo_name(std::uint8_t src) {
    switch (src) {
        case isa::kPseudoMapFd: return "BPF_PSEUDO_MAP_FD";
        case isa::kPseudoMapValue: return "BPF_PSEUDO_MAP_VALUE";
        case isa::kPseudoBtfId: return "BPF_PSEUDO_BTF_ID";
        case isa::kPseudoMapIdx: return "BPF_PSEUDO_MAP_IDX";
        case isa::kPseudoMapIdxValue: return "BPF_PSEUDO_MAP_IDX_VALUE";
        default: break;
    }
    SF_UNREACHABLE();
}

/// Why the kfunc call with `imm` is refused, or nullopt.
std::optional<std::string> check_kfunc(const Environment& env, std::int32_t imm) {
    if (env.type == nullptr || env.helpers == nullptr) {
        return fmt::format("kfunc call to btf_id {}: no kernel functions are available in this environment", imm);
    }
    if (const auto why = env.helpers->kfuncs_refused()) {
        return std::string(*why);
    }
    if (imm < 0 || static_cast<std::size_t>(imm) >= env.kfuncs.size()) {
        return fmt::format("kfunc call to #{}: the object names no such kernel function", imm);
    }
    const std::string& name = env.kfuncs[static_cast<std::size_t>(imm)].name;
    const KfuncDef* def = env.helpers->find_kfunc(name);
    if (def == nullptr) {
        return fmt::format("calling kernel function {} is not allowed", name);
    }
    if (def->fn == nullptr) {
        return std::string(def->refusal);
    }
    return std::nullopt;
}

/// kfunc calls: the kernel resolves them first of all (add_subprog_and_kfunc).
Result<void> check_kfuncs(const program::Program& prog, const Environment& env) {
    for (std::size_t pc = 0; pc < prog.size(); pc += isa::width(prog.op(pc))) {
        if (prog.op(pc) == Op::CallKfunc) {
            if (auto problem = check_kfunc(env, prog.slots()[pc].imm)) {
                return reject(pc, std::move(*problem));
            }
        }
    }
    return {};
}

/// The kernel's pass over every instruction before it walks the program (resolve_pseudo_ldimm64):
/// opcodes it does not know (`callx`, for a program type; raw mode runs it) and lddw references
/// to maps and kernel symbols, which this environment cannot resolve.
Result<void> check_references(const program::Program& prog, bool typed, const Instance* instance) {
    for (std::size_t pc = 0; pc < prog.size(); pc += isa::width(prog.op(pc))) {
        const Op op = prog.op(pc);
        const isa::Insn& in = prog.slots()[pc];
        if (typed && op == Op::Callx) {
            return reject(pc, fmt::format("unknown opcode {:02x}", in.opcode));
        }
        if (isa::info(op).format != Format::Lddw || op == Op::Lddw || op == Op::LddwFunc) {
            continue;
        }
        if (op == Op::LddwBtfId) {
            return reject(pc, fmt::format("ld_imm64 with src={} ({}, btf_id {}) refers to a kernel symbol, which is "
                                          "not available in this environment",
                                          in.src, pseudo_name(in.src), in.imm));
        }
        const bool by_index = op == Op::LddwMapIdx || op == Op::LddwMapIdxValue;
        if (by_index && instance != nullptr && in.imm >= 0 && static_cast<std::size_t>(in.imm) < instance->map_count()) {
            if (op == Op::LddwMapIdxValue) {
                const Map& m = instance->map(static_cast<std::size_t>(in.imm));
                const auto off = static_cast<std::uint32_t>(prog.slots()[pc + 1].imm);
                // resolve_pseudo_ldimm64 checks the offset's range before the map.
                if (off >= kMaxVarOff) {
                    return reject(pc, fmt::format("direct value offset of {} is not allowed", off));
                }
                if (m.type() != program::MapType::Array || m.max_entries() != 1) {
                    return reject(pc, fmt::format("direct value access on {} map \"{}\" is not supported (only "
                                                  "single-element arrays)",
                                                  program::map_type_name(m.type()),
                                                  instance->map_name(static_cast<std::size_t>(in.imm))));
                }
                if (off >= m.value_size()) {
                    return reject(pc, fmt::format("invalid access to map value pointer, value_size={} off={}",
                                                  m.value_size(), off));
                }
            }
            continue;
        }
        return reject(pc, fmt::format("ld_imm64 with src={} ({}, map {} {}) refers to a map, but the program has no "
                                      "maps to resolve it against",
                                      in.src, pseudo_name(in.src), by_index ? "index" : "fd", in.imm));
    }
    return {};
}

/// The kernel's check_abnormal_return: without BTF func info (a Program has none), LD_ABS/LD_IND
/// and tail calls may appear only in the main function.
Result<void> check_subprog_rules(const program::Program& prog) {
    const auto& fns = prog.functions();
    for (std::size_t fn = 1; fn < fns.size(); ++fn) {
        const std::size_t hi = fn + 1 < fns.size() ? fns[fn + 1] : prog.size();
        std::optional<std::size_t> tail_call;
        for (std::size_t pc = fns[fn]; pc < hi; pc += isa::width(prog.op(pc))) {
            const Format f = isa::info(prog.op(pc)).format;
            if (f == Format::LdAbs || f == Format::LdInd) {
                return reject(pc, "LD_ABS is not allowed in subprogs without BTF");
            }
            if (prog.op(pc) == Op::CallHelper && prog.slots()[pc].imm == kTailCallId && !tail_call) {
                tail_call = pc;
            }
        }
        if (tail_call) {
            return reject(*tail_call, "tail_call is not allowed in subprogs without BTF");
        }
    }
    return {};
}

/// Per-function forward dataflow over basic blocks, to a fixpoint; then one pass in pc order that
/// checks every reachable instruction against the state before it.
class Analysis {
public:
    Analysis(const program::Program& prog, const Environment& env) : prog_(prog), env_(env) {}

    Result<void> run() {
        const auto& fns = prog_.functions();
        for (std::size_t fn = 0; fn < fns.size(); ++fn) {
            const std::size_t lo = fns[fn];
            const std::size_t hi = fn + 1 < fns.size() ? fns[fn + 1] : prog_.size();
            if (auto r = run_function(lo, hi, fn == 0); !r) {
                return r;
            }
        }
        return {};
    }

private:
    struct Block {
        State in;
        bool reached = false;
    };

    void find_leaders(std::size_t lo, std::size_t hi) {
        blocks_.clear();
        blocks_[lo];
        for (std::size_t pc = lo; pc < hi; pc += isa::width(prog_.op(pc))) {
            const Op op = prog_.op(pc);
            const std::size_t next = pc + isa::width(op);
            if (isa::is_jump(op)) {
                blocks_[static_cast<std::size_t>(static_cast<std::int64_t>(next) +
                                                 isa::jump_offset(op, prog_.slots()[pc]))];
            }
            if ((isa::is_jump(op) || op == Op::Exit) && next < hi) {
                blocks_[next];
            }
        }
    }

    /// Successors of the control transfer at `pc` (the last instruction of a block).
    std::vector<std::size_t> successors(std::size_t pc) const {
        const Op op = prog_.op(pc);
        const std::size_t next = pc + isa::width(op);
        if (op == Op::Exit) {
            return {};
        }
        if (!isa::is_jump(op)) {
            return {next};
        }
        const auto target =
            static_cast<std::size_t>(static_cast<std::int64_t>(next) + isa::jump_offset(op, prog_.slots()[pc]));
        const Format f = isa::info(op).format;
        if (f == Format::Ja || f == Format::Ja32) {
            return {target};
        }
        return {target, next};
    }

    void merge_into(std::size_t leader, const State& st, std::set<std::size_t>& work) {
        Block& b = blocks_.at(leader);
        if (!b.reached) {
            b.in = st;
            b.reached = true;
            work.insert(leader);
            return;
        }
        State joined = b.in;
        for (std::size_t r = 0; r < kNumRegs; ++r) {
            joined.reg[r] = join(b.in.reg[r], st.reg[r]);
        }
        for (std::size_t i = 0; i < kStackSlots; ++i) {
            joined.stack[i] = join(b.in.stack[i], st.stack[i]);
        }
        if (!(joined == b.in)) {
            b.in = joined;
            work.insert(leader);
        }
    }

    Result<void> run_function(std::size_t lo, std::size_t hi, bool main) {
        find_leaders(lo, hi);
        std::set<std::size_t> work;
        merge_into(lo, entry_state(main), work);
        while (!work.empty()) {
            const std::size_t leader = *work.begin();
            work.erase(work.begin());
            State st = blocks_.at(leader).in;
            std::size_t pc = leader;
            while (true) {
                transfer(st, prog_, pc);
                const Op op = prog_.op(pc);
                const std::size_t next = pc + isa::width(op);
                if (isa::is_jump(op) || op == Op::Exit || blocks_.count(next) != 0) {
                    for (std::size_t s : successors(pc)) {
                        merge_into(s, st, work);
                    }
                    break;
                }
                pc = next;
            }
        }
        std::optional<State> st;
        for (std::size_t pc = lo; pc < hi; pc += isa::width(prog_.op(pc))) {
            if (auto it = blocks_.find(pc); it != blocks_.end()) {
                st = it->second.reached ? std::optional<State>(it->second.in) : std::nullopt;
            }
            if (auto problem = check(st ? &*st : nullptr, pc)) {
                return reject(pc, std::move(*problem));
            }
            if (st) {
                transfer(*st, prog_, pc);
            }
        }
        return {};
    }

    /// Checks one instruction; `st` is null where no path reaches it.
    std::optional<std::string> check(const State* st, std::size_t pc) const {
        const Op op = prog_.op(pc);
        const isa::Insn& in = prog_.slots()[pc];
        const Format f = isa::info(op).format;
        if (op == Op::CallHelper) {
            return check_helper(env_, in.imm);
        }
        if (st == nullptr) {
            return std::nullopt;
        }
        if (f == Format::LdAbs || f == Format::LdInd) {
            return check_ld_abs(*st, op, in);
        }
        return check_ctx_access(*env_.type, *st, op, in);
    }

    const program::Program& prog_;
    const Environment& env_;
    std::map<std::size_t, Block> blocks_;
};

}  // namespace

Environment socket_filter_env() { return Environment{&socket_filter(), &socket_filter_helpers(Privilege::Root)}; }

Environment raw_env() { return Environment{nullptr, &conformance_helpers()}; }

Result<LoadedProgram> load(const program::Program& prog, Environment env) {
    if (auto r = check_kfuncs(prog, env); !r) {
        return tl::unexpected(std::move(r.error()));
    }
    if (env.type == nullptr) {
        if (auto r = check_references(prog, false, env.instance); !r) {
            return tl::unexpected(std::move(r.error()));
        }
        for (std::size_t pc = 0; pc < prog.size(); pc += isa::width(prog.op(pc))) {
            if (prog.op(pc) == Op::CallHelper) {
                if (auto problem = check_helper(env, prog.slots()[pc].imm)) {
                    return reject(pc, std::move(*problem));
                }
            }
        }
        return LoadedProgram{&prog, env};
    }
    if (auto r = check_subprog_rules(prog); !r) {
        return tl::unexpected(std::move(r.error()));
    }
    if (auto r = check_references(prog, true, env.instance); !r) {
        return tl::unexpected(std::move(r.error()));
    }
    if (auto r = Analysis(prog, env).run(); !r) {
        return tl::unexpected(std::move(r.error()));
    }
    return LoadedProgram{&prog, env};
}

}  // namespace sockfilter::runtime
