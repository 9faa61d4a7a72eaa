// SPDX-License-Identifier: MIT
// Shared pieces of the helper unit tests: a MemoryCheck over a few test buffers, an Instance with
// maps, and a CallEnv wired to both.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/helpers.h"
#include "runtime/instance.h"
#include "runtime/skb.h"

namespace sockfilter::runtime::testing {

/// The address of `p` as a program register holds it.
template <class T>
std::uint64_t addr(T* p) {
    return reinterpret_cast<std::uintptr_t>(p);
}

/// A MemoryCheck that allows registered buffers and the instance's map regions.
class FakeMemory final : public MemoryCheck {
public:
    /// Allows [p, p + len), writable or not.
    void allow(const void* p, std::size_t len, bool writable = true) {
        regions_.push_back({reinterpret_cast<std::uintptr_t>(p), len, writable});
    }
    /// Allows every map region of `inst`.
    void allow(const Instance& inst) {
        for (const MemRegion& r : inst.regions()) {
            regions_.push_back({r.lo, r.len, r.writable});
        }
    }
    [[nodiscard]] bool readable(std::uint64_t a, std::uint64_t len) const override { return find(a, len, false); }
    [[nodiscard]] bool writable(std::uint64_t a, std::uint64_t len) const override { return find(a, len, true); }

private:
    struct Region {
        std::uint64_t lo;
        std::uint64_t len;
        bool writable;
    };
    [[nodiscard]] bool find(std::uint64_t a, std::uint64_t len, bool write) const {
        for (const Region& r : regions_) {
            if (a >= r.lo && len <= r.len && a - r.lo <= r.len - len && (!write || r.writable)) {
                return true;
            }
        }
        return false;
    }
    std::vector<Region> regions_;
};

/// A map spec of the given shape.
inline program::MapSpec map_spec(std::string name, program::MapType type, std::uint32_t key, std::uint32_t value,
                                 std::uint32_t max, std::uint32_t flags = 0) {
    program::MapSpec s;
    s.name = std::move(name);
    s.type = type;
    s.key_size = key;
    s.value_size = value;
    s.max_entries = max;
    s.map_flags = flags;
    return s;
}

/// An instance over `specs` (must succeed) with `cpus` CPUs.
inline std::unique_ptr<Instance> make_instance(const std::vector<program::MapSpec>& specs,
                                               const std::vector<std::string>& programs = {},
                                               InstanceOptions options = {}) {
    auto inst = Instance::create(specs, programs, options);
    EXPECT_TRUE(inst.has_value()) << (inst ? "" : inst.error().render());
    return inst ? std::move(*inst) : nullptr;
}

/// The context address tests pass as r1 (any value: helpers compare it with CallEnv::ctx_addr).
inline constexpr std::uint64_t kCtx = 0x1000;

/// A CallEnv over `inst`, `memory` and optionally `skb`.
inline CallEnv make_env(Instance* inst, const FakeMemory* memory, Skb* skb = nullptr) {
    CallEnv env;
    env.instance = inst;
    env.memory = memory;
    env.skb = skb;
    env.ctx_addr = kCtx;
    return env;
}

/// r0 as a signed number.
inline std::int64_t s64(std::uint64_t r0) { return static_cast<std::int64_t>(r0); }

}  // namespace sockfilter::runtime::testing
