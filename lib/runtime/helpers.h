// SPDX-License-Identifier: MIT
// The helper and kfunc registry: one table of callable functions per environment, looked up by
// id at load and called by every engine through one ABI.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "runtime/helpers/catalog.h"
#include "runtime/skb.h"

namespace sockfilter::runtime {

class Instance;

/// How a helper checks the pointers it is given: the engine answers for the regions of the
/// current run (stack frames, context, map values), so a helper never touches memory the program
/// could not.
class MemoryCheck {
public:
    virtual ~MemoryCheck() = default;
    /// Whether [addr, addr + len) lies inside one region the program may read.
    [[nodiscard]] virtual bool readable(std::uint64_t addr, std::uint64_t len) const = 0;
    /// Whether [addr, addr + len) lies inside one region the program may write.
    [[nodiscard]] virtual bool writable(std::uint64_t addr, std::uint64_t len) const = 0;
};

/// Runs a sub-program of the current program as a callback (bpf_loop, for_each_map_elem, timers):
/// `entry` is the function-pointer value the program passed; returns its r0, or sets the
/// CallEnv's fault.
class Callbacks {
public:
    virtual ~Callbacks() = default;
    [[nodiscard]] virtual std::uint64_t call(std::uint64_t entry, std::uint64_t r1, std::uint64_t r2,
                                             std::uint64_t r3, std::uint64_t r4, std::uint64_t r5) = 0;
};

/// Most tail calls one run may make (MAX_TAIL_CALL_CNT).
inline constexpr std::uint32_t kMaxTailCalls = 33;

/// What an engine gives a helper besides its five arguments.
struct CallEnv {
    Skb* skb = nullptr;                  ///< the packet, or null in raw mode
    std::uint64_t ctx_addr = 0;          ///< the value r1 had at entry (the context pointer)
    Instance* instance = nullptr;        ///< maps, clock, random numbers, outputs; null without maps
    const MemoryCheck* memory = nullptr; ///< validates pointer arguments
    Callbacks* callbacks = nullptr;      ///< runs callback sub-programs
    std::uint32_t tail_calls = 0;        ///< tail calls made so far in this run
    std::int32_t tail_call_target = -1;  ///< set with `stop` by a tail call that succeeds: the program to run next
    bool stop = false;                   ///< set by a helper that ends the program (unwind, tail call)
    std::uint64_t stop_value = 0;        ///< r0 of the program when `stop` is set
    std::string fault;                   ///< set by a helper whose call cannot complete; the run faults
    std::uint32_t rcu_locks = 0;         ///< bpf_rcu_read_lock sections open in this run
    std::uint32_t preempt_locks = 0;     ///< bpf_preempt_disable sections open in this run
    std::uint32_t open_iters = 0;        ///< bpf_iter_num iterators created and not yet destroyed
};

/// A helper's implementation: r0 from r1..r5.
using HelperFn = std::uint64_t (*)(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3,
                                   std::uint64_t r4, std::uint64_t r5);

/// One callable helper.
struct HelperDef {
    std::int32_t id = 0;
    std::string_view name;
    HelperFn fn = nullptr;
};

/// One kfunc, by name: callable (`fn`, r1..r5 like a helper), or refused at load with `refusal`
/// (the kernel's message, or why userspace has no object behind it) when `fn` is null.
struct KfuncDef {
    std::string_view name;
    HelperFn fn = nullptr;
    std::string_view refusal;
};

/// Helpers callable in one environment, by id, and its kfuncs, by name.
class HelperRegistry {
public:
    /// Adds or replaces a helper.
    void add(const HelperDef& def) { by_id_[def.id] = def; }
    /// The helper with this id, or null.
    [[nodiscard]] const HelperDef* find(std::int32_t id) const {
        auto it = by_id_.find(id);
        return it == by_id_.end() ? nullptr : &it->second;
    }
    [[nodiscard]] const std::map<std::int32_t, HelperDef>& all() const { return by_id_; }

    /// Marks a helper the kernel would let the program call but that has no implementation here;
    /// load() refuses it with `reason` instead of the kernel's "cannot use helper" message.
    void add_unsupported(std::int32_t id, std::string_view reason) { unsupported_[id] = reason; }
    /// Why a helper the kernel allows is refused here, or nullopt.
    [[nodiscard]] std::optional<std::string_view> unsupported(std::int32_t id) const {
        auto it = unsupported_.find(id);
        return it == unsupported_.end() ? std::nullopt : std::optional<std::string_view>(it->second);
    }

    /// Adds or replaces a kfunc.
    void add_kfunc(const KfuncDef& def) { kfuncs_[def.name] = def; }
    /// The kfunc called `name`, or null when the environment does not know it.
    [[nodiscard]] const KfuncDef* find_kfunc(std::string_view name) const {
        auto it = kfuncs_.find(name);
        return it == kfuncs_.end() ? nullptr : &it->second;
    }
    /// Refuses every kfunc call with `reason` (the loader lacks the privilege for any).
    void refuse_kfuncs(std::string_view reason) { kfuncs_refused_ = reason; }
    /// Why every kfunc call is refused, or nullopt.
    [[nodiscard]] std::optional<std::string_view> kfuncs_refused() const { return kfuncs_refused_; }

private:
    std::map<std::int32_t, HelperDef> by_id_;
    std::map<std::int32_t, std::string_view> unsupported_;
    std::map<std::string_view, KfuncDef, std::less<>> kfuncs_;
    std::optional<std::string_view> kfuncs_refused_;
};

/// The bpf_conformance ABI for raw mode: helper 5 ends the program with r1 as its result when
/// r1 is 0 ("unwind"), and otherwise returns r1.
[[nodiscard]] const HelperRegistry& conformance_helpers();

/// The helpers a socket filter loaded with `privilege` may call, exactly as the 6.18 kernel
/// resolves them (helper_allowed): the implemented ones, and the rest of the allowed ones marked
/// unsupported with the reason (docs/SEMANTICS.md "Helpers"). Ids the kernel refuses are absent.
/// Its kfuncs are socket_filter_kfuncs() (all refused without CAP_BPF).
[[nodiscard]] const HelperRegistry& socket_filter_helpers(Privilege privilege = Privilege::Root);

/// The kfuncs the 6.18 kernel registers for socket filters (spec §6, docs/SEMANTICS.md "Kfuncs"):
/// the implemented ones, and the refused ones with the kernel's message or the reason userspace
/// cannot back them.
[[nodiscard]] std::span<const KfuncDef> socket_filter_kfuncs();

}  // namespace sockfilter::runtime
