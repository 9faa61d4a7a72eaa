// SPDX-License-Identifier: MIT
// A generator of random socket filters that the kernel verifier accepts by construction, with the
// maps they use and random Ethernet frames to run them on: the input of the differential test
// against BPF_PROG_TEST_RUN (docs/TESTING.md, "Generated programs").
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "isa/isa.h"
#include "program/object.h"
#include "program/program.h"
#include "runtime/packet.h"

namespace sockfilter::gen {

/// One frame for BPF_PROG_TEST_RUN and the context fields preset for it.
struct Packet {
    std::vector<std::uint8_t> frame;  ///< an Ethernet frame, at least 14 bytes
    runtime::CtxOverrides ctx;        ///< only fields test-run's ctx_in can set (mark, priority, ...)
};

/// One instruction before layout. Jumps between units and local calls are symbolic so that units
/// can be removed (minimisation) without breaking the program.
struct GenInsn {
    isa::Insn insn;
    /// A jump whose target is the start of unit `target` of the same function (a conditional jump,
    /// `ja` or `gotol`), or a local call of function `target`; -1: `insn` is final as it is.
    std::int32_t target = -1;
};

/// A short instruction sequence that leaves the generator's invariant intact: r6 = ctx, every
/// other register but r10 an initialised scalar, the function's scratch stack initialised.
/// Jumps land only on unit starts, so every unit boundary has that state on every path.
struct Unit {
    std::string kind;            ///< what it exercises ("alu", "ld_abs", "map_lookup", ...)
    std::vector<GenInsn> insns;
    bool fixed = false;          ///< prologue and epilogue: minimisation keeps them
};

/// A function: units in order; its last unit ends with `exit`.
struct Function {
    std::vector<Unit> units;
};

/// One generated program with its maps and packets.
struct Case {
    std::uint64_t seed = 0;
    std::uint64_t index = 0;            ///< position in the seed's sequence
    std::vector<Function> functions;    ///< function 0 is the entry point; i calls only j > i
    std::vector<program::MapSpec> maps; ///< referenced by index (BPF_PSEUDO_MAP_IDX/_IDX_VALUE)
    std::vector<Packet> packets;        ///< run in order on the same maps
};

/// Settings of a Generator.
struct Options {
    std::size_t packets = 8;         ///< packets per case
    std::size_t max_units = 40;      ///< units of the entry function besides prologue and epilogue
};

/// Produces cases from a seed: the same seed and options give the same sequence of cases.
class Generator {
public:
    explicit Generator(std::uint64_t seed, Options options = {});
    /// The next case.
    [[nodiscard]] Case next();

private:
    struct State;
    std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : rng_() % n; }
    bool chance(unsigned percent) { return below(100) < percent; }
    std::uint64_t seed_;
    Options options_;
    std::uint64_t index_ = 0;
    std::mt19937_64 rng_;

    Function function(State& st, std::size_t fn, std::size_t nfunctions);
    Unit unit(State& st, std::size_t fn, std::size_t nfunctions, std::size_t pos, std::size_t count);
    Unit prologue(bool entry);
    Unit epilogue();
    Unit alu();
    Unit cond_jump(std::size_t pos, std::size_t count);
    Unit if_else();
    Unit loop();
    std::int16_t stack_off(std::uint32_t size);
    Unit stack_store(State& st);
    Unit stack_load(State& st);
    Unit stack_atomic(State& st);
    Unit ctx_read();
    Unit ctx_write();
    Unit ld_abs();
    Unit ld_ind();
    Unit skb_load_bytes(State& st);
    Unit socket_uid();
    Unit sk_read();
    Unit strtol();
    Unit map_lookup(State& st);
    Unit map_update(State& st);
    Unit map_delete(State& st);
    Unit map_value(State& st);
    Unit call(std::size_t callee);
    std::uint8_t scalar_reg();
    std::int32_t imm32();
    Packet packet();
    void reinit_args(Unit& u);
};

/// Lays the case out as one program (jump offsets and call targets resolved).
[[nodiscard]] program::Program layout(const Case& c);

/// The case as an object with one program ("gen") and its maps.
[[nodiscard]] program::Object to_object(const Case& c);

/// The case without unit `unit` of function `fn` (jumps to it move to the next unit).
[[nodiscard]] Case without_unit(const Case& c, std::size_t fn, std::size_t unit);

/// What the accepted programs exercised: operations, instruction classes, helpers and context
/// fields, counted statically over their instructions.
class Coverage {
public:
    /// Adds the instructions of `prog` (r6 is the context in every generated function).
    void add(const program::Program& prog);
    /// Instruction classes (as report() names them) with no operation seen.
    [[nodiscard]] std::vector<std::string> missing_classes() const;
    /// Operations of the table a socket filter can use that were never seen.
    [[nodiscard]] std::vector<std::string> missing_ops() const;
    /// A multi-line summary: counts per class, helpers by id, context fields by name.
    [[nodiscard]] std::string report() const;

private:
    std::map<isa::Op, std::uint64_t> ops_;
    std::map<std::int32_t, std::uint64_t> helpers_;
    std::map<std::string, std::uint64_t> ctx_fields_;
};

/// The class an operation is reported under: "ALU", "ALU64", "JMP", "JMP32", "LD (imm64)",
/// "LD (abs/ind)", "LDX", "ST", "STX", "ATOMIC".
[[nodiscard]] std::string op_class(isa::Op op);

/// CtxOverrides as parse_ctx_overrides reads them ("mark=0x1,cb0=0x7"); empty without overrides.
[[nodiscard]] std::string format_ctx(const runtime::CtxOverrides& ctx);

}  // namespace sockfilter::gen
