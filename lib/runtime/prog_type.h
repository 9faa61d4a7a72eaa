// SPDX-License-Identifier: MIT
// A BPF program type as data: its context layout, which context accesses a program may make, and
// what reading each field yields. Socket filter is the one sockfilter ships (spec §1).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "runtime/skb.h"

namespace sockfilter::runtime {

/// How an instruction touches the context.
enum class CtxAccessKind : std::uint8_t { Load, LoadSx, Store, StoreImm, Atomic };

/// Access a program has to one context field.
enum class FieldAccess : std::uint8_t { Read, ReadWrite, Forbidden };

/// One field of the context structure.
struct CtxField {
    std::string_view name;
    std::uint16_t off;
    std::uint16_t size;         ///< bytes the field occupies in the UAPI struct
    FieldAccess access;
    std::uint8_t target_size;   ///< width of the kernel field the read converts to (T, spec §1.4); 0 = exact access
};

/// What an accepted context access is.
struct CtxAccess {
    const CtxField* field = nullptr;
    bool is_sk_pointer = false;  ///< the 8-byte load of ctx->sk
};

/// A program type: context layout and access rules.
struct ProgType {
    std::string_view name;
    std::uint32_t ctx_size;
    std::span<const CtxField> fields;

    /// The field containing byte `off`, if any.
    [[nodiscard]] const CtxField* field_at(std::int32_t off) const;
    /// Whether an access of `size` bytes at `off` is allowed; nullopt means the kernel rejects it
    /// with `invalid bpf_context access off=<off> size=<size>` (atomics have their own message).
    [[nodiscard]] std::optional<CtxAccess> check_access(std::int32_t off, std::uint32_t size, CtxAccessKind kind) const;
};

/// BPF_PROG_TYPE_SOCKET_FILTER with the 6.18 __sk_buff (192 bytes).
[[nodiscard]] const ProgType& socket_filter();

/// The value a load of `size` bytes at `off` returns for an accepted access, following the
/// kernel's conversion and narrow-load rules (spec §1.4); `sign_extend` for LDSX. The sk pointer
/// load returns `sk_value`.
[[nodiscard]] std::uint64_t read_ctx(const Skb& skb, std::int32_t off, std::uint32_t size, bool sign_extend,
                                     std::uint64_t sk_value);

/// Writes `size` bytes of `value` into cb[] at context offset `off` (an accepted store).
void write_ctx_cb(Skb& skb, std::int32_t off, std::uint32_t size, std::uint64_t value);

}  // namespace sockfilter::runtime
