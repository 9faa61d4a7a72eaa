// SPDX-License-Identifier: MIT
// Dynptrs (spec §5.3 "Dynptrs", §6): the encoding, the helpers bpf_dynptr_from_mem, read, write,
// data and the ring-buffer dynptr trio, and the dynptr kfuncs (from_skb, slice, adjust, clone,
// size, is_null, is_rdonly). A socket filter's skb dynptr is read-only, as the kernel makes it.
#include "runtime/helpers/dynptr.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "runtime/helpers/impl.h"
#include "runtime/maps/ringbuf.h"
#include "support/bytes.h"

namespace sockfilter::runtime::helpers {

namespace {

constexpr std::uint32_t kTypeShift = 28;
constexpr std::uint32_t kTypeMask = 0x7;
constexpr std::uint32_t kRdonlyBit = 1U << 31;
/// The flag bits the kernel defines in size_and_flags besides the type (none besides rdonly).
constexpr std::uint32_t kReservedBits = 0x0f000000;

std::uint8_t* at(std::uint64_t addr) { return reinterpret_cast<std::uint8_t*>(static_cast<std::uintptr_t>(addr)); }

std::uint64_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

/// A non-NULL dynptr's memory checked against the run: false (fault set) when it is not.
bool check_memory(CallEnv& env, std::string_view fn, int reg, const Dynptr& d) {
    switch (d.type) {
    case DynptrType::Local:
    case DynptrType::Ringbuf: {
        const std::uint64_t start = d.data + d.offset;
        const bool ok = d.rdonly ? env.memory->readable(start, d.size) : env.memory->writable(start, d.size);
        if (!ok) {
            env.fault = fmt::format("{}: R{} is a dynptr over {} bytes at {:#x}, which are not {} program memory", fn,
                                    reg, d.size, start, d.rdonly ? "readable" : "writable");
        }
        return ok;
    }
    case DynptrType::Skb:
        if (env.skb == nullptr || d.data != env.ctx_addr || std::uint64_t{d.offset} + d.size > env.skb->len()) {
            env.fault = fmt::format("{}: R{} is an skb dynptr that does not describe this run's packet", fn, reg);
            return false;
        }
        return true;
    case DynptrType::Invalid:
        break;
    }
    env.fault = fmt::format("{}: R{} is not an initialized dynptr", fn, reg);
    return false;
}

/// bpf_dynptr_init.
Dynptr make(std::uint64_t data, DynptrType type, std::uint32_t size, bool rdonly) {
    Dynptr d;
    d.data = data;
    d.type = type;
    d.size = size;
    d.rdonly = rdonly;
    return d;
}

}  // namespace

void store_dynptr(std::uint8_t* to, const Dynptr& d) {
    store_le<std::uint64_t>(to, d.data);
    const std::uint32_t bits = (d.size & kDynptrMaxSize) | (static_cast<std::uint32_t>(d.type) << kTypeShift) |
                               (d.rdonly ? kRdonlyBit : 0);
    store_le<std::uint32_t>(to + 8, bits);
    store_le<std::uint32_t>(to + 12, d.offset);
}

void store_null_dynptr(std::uint8_t* to) { std::memset(to, 0, kDynptrBytes); }

bool load_dynptr(CallEnv& env, std::string_view fn, int reg, std::uint64_t addr, Dynptr& out) {
    const std::uint8_t* p = readable(env, fn, reg, "dynptr", addr, kDynptrBytes);
    if (p == nullptr) {
        return false;
    }
    out = Dynptr{};
    out.data = load_le<std::uint64_t>(p);
    const auto bits = load_le<std::uint32_t>(p + 8);
    out.offset = load_le<std::uint32_t>(p + 12);
    if (out.data == 0) {
        return true;
    }
    out.size = bits & kDynptrMaxSize;
    out.type = static_cast<DynptrType>((bits >> kTypeShift) & kTypeMask);
    out.rdonly = (bits & kRdonlyBit) != 0;
    if ((bits & kReservedBits) != 0 || out.type > DynptrType::Skb) {
        env.fault = fmt::format("{}: R{} is not an initialized dynptr", fn, reg);
        return false;
    }
    return check_memory(env, fn, reg, out);
}

std::uint8_t* dynptr_slot(CallEnv& env, std::string_view fn, int reg, std::uint64_t addr) {
    return writable(env, fn, reg, "dynptr", addr, kDynptrBytes);
}

int check_off_len(const Dynptr& d, std::uint32_t offset, std::uint32_t len) {
    if (offset > d.size || len > d.size - offset) {
        return -kE2big;
    }
    return 0;
}

void dynptr_copy_out(const CallEnv& env, const Dynptr& d, std::uint32_t offset, std::uint8_t* to,
                     std::uint32_t len) {
    const std::uint8_t* from = d.type == DynptrType::Skb
                                   ? env.skb->bytes.data() + env.skb->data + d.offset + offset
                                   : at(d.data + d.offset + offset);
    std::memmove(to, from, len);
}

// Helpers.

std::uint64_t dynptr_from_mem(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t r4,
                              std::uint64_t) {
    constexpr std::string_view kName = "bpf_dynptr_from_mem";
    std::uint8_t* slot = dynptr_slot(env, kName, 4, r4);
    if (slot == nullptr) {
        return 0;
    }
    const auto size = static_cast<std::uint32_t>(r2);
    if (size > kDynptrMaxSize || r3 != 0) {
        store_null_dynptr(slot);
        return neg(size > kDynptrMaxSize ? kE2big : kEinval);
    }
    if (writable(env, kName, 1, "data", r1, size) == nullptr) {
        return 0;
    }
    // A zero-sized dynptr over NULL is still NULL (its data pointer is what is_null tests).
    store_dynptr(slot, make(r1, r1 == 0 ? DynptrType::Invalid : DynptrType::Local, size, false));
    return 0;
}

std::uint64_t dynptr_read(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t r4,
                          std::uint64_t r5) {
    constexpr std::string_view kName = "bpf_dynptr_read";
    const auto len = static_cast<std::uint32_t>(r2);
    std::uint8_t* dst = writable(env, kName, 1, "dst", r1, len);
    Dynptr d;
    if (dst == nullptr || !load_dynptr(env, kName, 3, r3, d)) {
        return 0;
    }
    if (d.is_null() || r5 != 0) {
        return neg(kEinval);
    }
    const auto offset = static_cast<std::uint32_t>(r4);
    if (const int rc = check_off_len(d, offset, len); rc != 0) {
        return ret(rc);
    }
    dynptr_copy_out(env, d, offset, dst, len);
    return 0;
}

std::uint64_t dynptr_write(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t r4,
                           std::uint64_t r5) {
    constexpr std::string_view kName = "bpf_dynptr_write";
    const auto len = static_cast<std::uint32_t>(r4);
    Dynptr d;
    if (!load_dynptr(env, kName, 1, r1, d)) {
        return 0;
    }
    const std::uint8_t* src = readable(env, kName, 3, "src", r3, len);
    if (src == nullptr) {
        return 0;
    }
    if (d.is_null() || d.rdonly) {
        return neg(kEinval);
    }
    const auto offset = static_cast<std::uint32_t>(r2);
    if (const int rc = check_off_len(d, offset, len); rc != 0) {
        return ret(rc);
    }
    if (r5 != 0) {
        return neg(kEinval);
    }
    std::memmove(at(d.data + d.offset + offset), src, len);
    return 0;
}

std::uint64_t dynptr_data(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t,
                          std::uint64_t) {
    Dynptr d;
    if (!load_dynptr(env, "bpf_dynptr_data", 1, r1, d) || d.is_null()) {
        return 0;
    }
    const auto offset = static_cast<std::uint32_t>(r2);
    if (check_off_len(d, offset, static_cast<std::uint32_t>(r3)) != 0 || d.rdonly || d.type == DynptrType::Skb) {
        return 0;
    }
    return d.data + d.offset + offset;
}

std::uint64_t ringbuf_reserve_dynptr(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3,
                                     std::uint64_t r4, std::uint64_t) {
    constexpr std::string_view kName = "bpf_ringbuf_reserve_dynptr";
    Map* m = map_arg(env, kName, 1, r1);
    if (m == nullptr) {
        return 0;
    }
    auto* rb = map_as<RingbufMap>(*m);
    if (rb == nullptr) {
        env.fault = fmt::format("{}: R1 is not a ringbuf map", kName);
        return 0;
    }
    std::uint8_t* slot = dynptr_slot(env, kName, 4, r4);
    if (slot == nullptr) {
        return 0;
    }
    store_null_dynptr(slot);
    if (r3 != 0) {
        return neg(kEinval);
    }
    if (r2 > kDynptrMaxSize) {
        return neg(kE2big);
    }
    std::uint8_t* sample = rb->reserve(r2, 0);
    if (sample == nullptr) {
        return neg(kEinval);
    }
    store_dynptr(slot, make(address(sample), DynptrType::Ringbuf, static_cast<std::uint32_t>(r2), false));
    return 0;
}

namespace {

std::uint64_t commit_dynptr(CallEnv& env, std::string_view name, std::uint64_t r1, std::uint64_t flags,
                            bool discard) {
    Dynptr d;
    std::uint8_t* slot = dynptr_slot(env, name, 1, r1);
    if (slot == nullptr || !load_dynptr(env, name, 1, r1, d) || d.is_null()) {
        return 0;
    }
    if (d.type != DynptrType::Ringbuf) {
        env.fault = fmt::format("{}: R1 is not a ring-buffer dynptr", name);
        return 0;
    }
    const std::uint64_t rc = discard ? ringbuf_discard(env, d.data, flags, 0, 0, 0)
                                     : ringbuf_submit(env, d.data, flags, 0, 0, 0);
    if (env.fault.empty()) {
        store_null_dynptr(slot);
    }
    return rc;
}

}  // namespace

std::uint64_t ringbuf_submit_dynptr(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t, std::uint64_t,
                                    std::uint64_t) {
    return commit_dynptr(env, "bpf_ringbuf_submit_dynptr", r1, r2, false);
}

std::uint64_t ringbuf_discard_dynptr(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t, std::uint64_t,
                                     std::uint64_t) {
    return commit_dynptr(env, "bpf_ringbuf_discard_dynptr", r1, r2, true);
}

// Kfuncs.

std::uint64_t kf_dynptr_from_skb(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t,
                                 std::uint64_t) {
    constexpr std::string_view kName = "bpf_dynptr_from_skb";
    const Skb* skb = ctx_arg(env, kName, 1, r1);
    if (skb == nullptr) {
        return 0;
    }
    std::uint8_t* slot = dynptr_slot(env, kName, 3, r3);
    if (slot == nullptr) {
        return 0;
    }
    if (r2 != 0) {
        store_null_dynptr(slot);
        return neg(kEinval);
    }
    // The verifier swaps in bpf_dynptr_from_skb_rdonly for socket filters.
    store_dynptr(slot, make(env.ctx_addr, DynptrType::Skb, skb->len(), true));
    return 0;
}

std::uint64_t kf_dynptr_slice(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t r4,
                              std::uint64_t) {
    constexpr std::string_view kName = "bpf_dynptr_slice";
    const auto len = static_cast<std::uint32_t>(r4);
    Dynptr d;
    if (!load_dynptr(env, kName, 1, r1, d)) {
        return 0;
    }
    std::uint8_t* buffer = nullptr;
    if (r3 != 0) {
        buffer = writable(env, kName, 3, "buffer", r3, len);
        if (buffer == nullptr) {
            return 0;
        }
    }
    const auto offset = static_cast<std::uint32_t>(r2);
    if (d.is_null() || check_off_len(d, offset, len) != 0) {
        return 0;
    }
    if (d.type != DynptrType::Skb) {
        return d.data + d.offset + offset;
    }
    // Packet bytes are no program region here: the slice is always the copy in the buffer (the
    // kernel's path for non-linear data), and NULL without one.
    if (buffer == nullptr) {
        return 0;
    }
    dynptr_copy_out(env, d, offset, buffer, len);
    return r3;
}

std::uint64_t kf_dynptr_adjust(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t,
                               std::uint64_t) {
    Dynptr d;
    if (!load_dynptr(env, "bpf_dynptr_adjust", 1, r1, d)) {
        return 0;
    }
    if (d.is_null()) {
        return neg(kEinval);
    }
    const auto start = static_cast<std::uint32_t>(r2);
    const auto end = static_cast<std::uint32_t>(r3);
    if (start > d.size || end > d.size) {
        return neg(kErange);
    }
    if (start > end) {
        return neg(kEinval);
    }
    std::uint8_t* slot = dynptr_slot(env, "bpf_dynptr_adjust", 1, r1);
    if (slot == nullptr) {
        return 0;
    }
    d.offset += start;
    d.size = end - start;
    store_dynptr(slot, d);
    return 0;
}

std::uint64_t kf_dynptr_clone(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t, std::uint64_t,
                              std::uint64_t) {
    constexpr std::string_view kName = "bpf_dynptr_clone";
    Dynptr d;
    if (!load_dynptr(env, kName, 1, r1, d)) {
        return 0;
    }
    std::uint8_t* slot = dynptr_slot(env, kName, 2, r2);
    if (slot == nullptr) {
        return 0;
    }
    if (d.is_null()) {
        store_null_dynptr(slot);
        return neg(kEinval);
    }
    store_dynptr(slot, d);
    return 0;
}

std::uint64_t kf_dynptr_is_null(CallEnv& env, std::uint64_t r1, std::uint64_t, std::uint64_t, std::uint64_t,
                                std::uint64_t) {
    Dynptr d;
    return load_dynptr(env, "bpf_dynptr_is_null", 1, r1, d) && d.is_null() ? 1 : 0;
}

std::uint64_t kf_dynptr_is_rdonly(CallEnv& env, std::uint64_t r1, std::uint64_t, std::uint64_t, std::uint64_t,
                                  std::uint64_t) {
    Dynptr d;
    return load_dynptr(env, "bpf_dynptr_is_rdonly", 1, r1, d) && !d.is_null() && d.rdonly ? 1 : 0;
}

std::uint64_t kf_dynptr_size(CallEnv& env, std::uint64_t r1, std::uint64_t, std::uint64_t, std::uint64_t,
                             std::uint64_t) {
    Dynptr d;
    if (!load_dynptr(env, "bpf_dynptr_size", 1, r1, d)) {
        return 0;
    }
    // __u32 return: -EINVAL truncated to 32 bits for a NULL dynptr.
    return d.is_null() ? static_cast<std::uint32_t>(-kEinval) : d.size;
}

}  // namespace sockfilter::runtime::helpers
