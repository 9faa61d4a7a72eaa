// SPDX-License-Identifier: MIT
// Loading a Program into an environment: the load-time checks the kernel makes before a program
// may run (context accesses, helper ids, LD_ABS/LD_IND rules), with the kernel's messages.
#pragma once

#include <span>

#include "program/object.h"
#include "program/program.h"
#include "runtime/helpers.h"
#include "runtime/prog_type.h"

namespace sockfilter::runtime {
class Instance;
}

namespace sockfilter::runtime {

/// Where a program runs: a program type with its context (socket filter), or raw mode (the
/// bpf_conformance ABI: r1 = memory, r2 = its length, no context).
struct Environment {
    const ProgType* type = nullptr;          ///< null for raw mode
    const HelperRegistry* helpers = nullptr;  ///< helpers callable by id
    Instance* instance = nullptr;            ///< the maps `lddw` map references resolve against; null: none
    /// The kfuncs the program's CallKfunc instructions name (imm = index, program::Object::kfuncs),
    /// resolved by name against the helper registry's kfuncs.
    std::span<const program::KfuncRef> kfuncs = {};
};

/// The socket-filter environment: socket_filter() with socket_filter_helpers().
[[nodiscard]] Environment socket_filter_env();
/// Raw mode with the conformance helpers.
[[nodiscard]] Environment raw_env();

/// A program accepted by load(): what every engine runs.
struct LoadedProgram {
    const program::Program* program = nullptr;
    Environment env;
};

/// Checks `prog` as the kernel would at BPF_PROG_LOAD for the environment's program type, as far
/// as those checks do not need the full verifier: every context access (found by tracking which
/// registers and stack slots hold the unmodified context pointer) against the type's access
/// rules, helper ids against the registry, kfunc names against the registry's kfuncs (refused ones
/// with the kernel's message), and LD_ABS/LD_IND field and r6 rules. Errors carry the
/// pc and the kernel's message (e.g. `invalid bpf_context access off=72 size=4`). Raw mode checks
/// only helper ids. `prog` must outlive the result.
[[nodiscard]] Result<LoadedProgram> load(const program::Program& prog, Environment env);

}  // namespace sockfilter::runtime
