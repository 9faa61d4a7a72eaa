// SPDX-License-Identifier: MIT
// The 16-byte `struct bpf_dynptr` as sockfilter stores it in program memory, and the checks every
// dynptr helper and kfunc makes before using one (docs/SEMANTICS.md "Dynptrs").
#pragma once

#include <cstdint>
#include <string_view>

#include "runtime/helpers.h"

namespace sockfilter::runtime::helpers {

/// Bytes of a `struct bpf_dynptr`.
inline constexpr std::uint32_t kDynptrBytes = 16;
/// DYNPTR_MAX_SIZE: the largest size a dynptr can describe (24 bits).
inline constexpr std::uint32_t kDynptrMaxSize = (1U << 24) - 1;

/// enum bpf_dynptr_type (the kinds sockfilter creates).
enum class DynptrType : std::uint8_t { Invalid = 0, Local = 1, Ringbuf = 2, Skb = 3 };

/// A decoded dynptr. Stored with the kernel's layout, so a program may copy it freely:
///
///      0                   8                      12            16
///     +-------------------+----------------------+-------------+
///     |  data (u64)       | size | type | rdonly |   offset    |
///     +-------------------+----------------------+-------------+
///                           bits 0-23, 28-30, 31
///
/// `data` is the host address of the memory's start (Local, Ringbuf: inside a region the program
/// was given) or, for Skb, the run's context pointer (which names the packet). The view is
/// [offset, offset + size) of that memory. All zero: the NULL dynptr. Every use re-checks a
/// dynptr against the run (memory still a program region, the context still this run's), so a
/// forged or stale one faults instead of reaching other memory.
struct Dynptr {
    std::uint64_t data = 0;
    std::uint32_t size = 0;
    std::uint32_t offset = 0;
    DynptrType type = DynptrType::Invalid;
    bool rdonly = false;

    /// Whether this is the NULL dynptr.
    [[nodiscard]] bool is_null() const { return data == 0; }
};

/// Writes `d` in the layout above to 16 bytes at `to`.
void store_dynptr(std::uint8_t* to, const Dynptr& d);
/// Writes the NULL dynptr.
void store_null_dynptr(std::uint8_t* to);

/// The dynptr at `addr` (argument register `reg`), checked against the run; false with env.fault
/// set when it is not readable or describes memory the program may not use.
[[nodiscard]] bool load_dynptr(CallEnv& env, std::string_view fn, int reg, std::uint64_t addr, Dynptr& out);
/// The 16 writable bytes a constructor fills at `addr`, or null with env.fault set.
[[nodiscard]] std::uint8_t* dynptr_slot(CallEnv& env, std::string_view fn, int reg, std::uint64_t addr);

/// bpf_dynptr_check_off_len: 0, or -E2BIG when [offset, offset + len) leaves the view.
[[nodiscard]] int check_off_len(const Dynptr& d, std::uint32_t offset, std::uint32_t len);
/// Copies `len` bytes at view offset `offset` of a non-NULL dynptr whose bounds were checked.
void dynptr_copy_out(const CallEnv& env, const Dynptr& d, std::uint32_t offset, std::uint8_t* to, std::uint32_t len);

}  // namespace sockfilter::runtime::helpers
