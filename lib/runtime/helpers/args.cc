// SPDX-License-Identifier: MIT
// The argument checks helpers share: pointers against the engine's MemoryCheck, map handles
// against the instance, the context pointer. A failed check is a fault: the verifier would have
// rejected the program, so the run cannot continue.
#include <fmt/format.h>

#include "runtime/helpers/impl.h"
#include "runtime/instance.h"

namespace sockfilter::runtime::helpers {

namespace {

/// What a zero-length argument points to: never dereferenced, but not null, so that null keeps
/// meaning "the check failed" (a program may pass NULL with size 0).
std::uint8_t empty_argument = 0;

bool no_memory_check(CallEnv& env, std::string_view helper) {
    if (env.memory != nullptr) {
        return false;
    }
    env.fault = fmt::format("{}: the engine gives helpers no memory check, so pointer arguments cannot be used", helper);
    return true;
}

}  // namespace

const std::uint8_t* readable(CallEnv& env, std::string_view helper, int reg, std::string_view what,
                             std::uint64_t addr, std::uint64_t len) {
    if (len == 0) {
        return &empty_argument;
    }
    if (no_memory_check(env, helper)) {
        return nullptr;
    }
    if (!env.memory->readable(addr, len)) {
        env.fault = fmt::format("{}: R{} ({}, {} bytes at {:#x}) is not readable program memory", helper, reg, what,
                                len, addr);
        return nullptr;
    }
    return reinterpret_cast<const std::uint8_t*>(static_cast<std::uintptr_t>(addr));
}

std::uint8_t* writable(CallEnv& env, std::string_view helper, int reg, std::string_view what, std::uint64_t addr,
                       std::uint64_t len) {
    if (len == 0) {
        return &empty_argument;
    }
    if (no_memory_check(env, helper)) {
        return nullptr;
    }
    if (!env.memory->writable(addr, len)) {
        env.fault = fmt::format("{}: R{} ({}, {} bytes at {:#x}) is not writable program memory", helper, reg, what,
                                len, addr);
        return nullptr;
    }
    return reinterpret_cast<std::uint8_t*>(static_cast<std::uintptr_t>(addr));
}

const char* readable_string(CallEnv& env, std::string_view helper, int reg, std::string_view what,
                            std::uint64_t addr, std::uint64_t& length) {
    if (no_memory_check(env, helper)) {
        return nullptr;
    }
    for (std::uint64_t n = 0;; ++n) {
        if (!env.memory->readable(addr + n, 1)) {
            env.fault = fmt::format("{}: R{} ({} at {:#x}) is not a NUL-terminated string in readable program memory",
                                    helper, reg, what, addr);
            return nullptr;
        }
        if (*reinterpret_cast<const char*>(static_cast<std::uintptr_t>(addr + n)) == '\0') {
            length = n;
            return reinterpret_cast<const char*>(static_cast<std::uintptr_t>(addr));
        }
    }
}

Map* map_arg(CallEnv& env, std::string_view helper, int reg, std::uint64_t handle) {
    Map* m = env.instance == nullptr ? nullptr : env.instance->map_from_handle(handle);
    if (m == nullptr) {
        env.fault = fmt::format("{}: R{} ({:#x}) is not a map", helper, reg, handle);
    }
    return m;
}

Skb* ctx_arg(CallEnv& env, std::string_view helper, int reg, std::uint64_t ctx) {
    if (env.skb == nullptr || ctx != env.ctx_addr) {
        env.fault = fmt::format("{}: R{} ({:#x}) is not the context pointer", helper, reg, ctx);
        return nullptr;
    }
    return env.skb;
}

}  // namespace sockfilter::runtime::helpers
