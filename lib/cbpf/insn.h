// SPDX-License-Identifier: MIT
// The classic BPF instruction (struct sock_filter), its code fields and the ancillary-load offsets
// (include/uapi/linux/filter.h, bpf_common.h; spec §7.1, §7.4).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "support/result.h"

namespace sockfilter::cbpf {

/// One classic instruction, `struct sock_filter` (8 bytes, host byte order):
///
///     0      15 16   23 24   31 32          63
///    +---------+-------+-------+--------------+
///    |  code   |  jt   |  jf   |      k       |
///    +---------+-------+-------+--------------+
struct Insn {
    std::uint16_t code = 0;
    std::uint8_t jt = 0;
    std::uint8_t jf = 0;
    std::uint32_t k = 0;

    friend bool operator==(const Insn&, const Insn&) = default;
};

/// A classic program: what `struct sock_fprog` points to.
using Filter = std::vector<Insn>;

inline constexpr std::size_t kInsnSize = 8;
inline constexpr std::size_t kMaxInsns = 4096;  ///< BPF_MAXINSNS
inline constexpr std::uint32_t kMemWords = 16;  ///< BPF_MEMWORDS: scratch slots M[0..15]

/// Code fields (spec §7.1).
namespace code {
inline constexpr std::uint16_t kLd = 0x00, kLdx = 0x01, kSt = 0x02, kStx = 0x03, kAlu = 0x04, kJmp = 0x05,
                               kRet = 0x06, kMisc = 0x07;
inline constexpr std::uint16_t kW = 0x00, kH = 0x08, kB = 0x10;
inline constexpr std::uint16_t kImm = 0x00, kAbs = 0x20, kInd = 0x40, kMem = 0x60, kLen = 0x80, kMsh = 0xa0;
inline constexpr std::uint16_t kAdd = 0x00, kSub = 0x10, kMul = 0x20, kDiv = 0x30, kOr = 0x40, kAnd = 0x50,
                               kLsh = 0x60, kRsh = 0x70, kNeg = 0x80, kMod = 0x90, kXor = 0xa0;
inline constexpr std::uint16_t kJa = 0x00, kJeq = 0x10, kJgt = 0x20, kJge = 0x30, kJset = 0x40;
inline constexpr std::uint16_t kK = 0x00, kX = 0x08, kA = 0x10;
inline constexpr std::uint16_t kTax = 0x00, kTxa = 0x80;

[[nodiscard]] constexpr std::uint16_t cls(std::uint16_t c) { return c & 0x07; }
[[nodiscard]] constexpr std::uint16_t size(std::uint16_t c) { return c & 0x18; }
[[nodiscard]] constexpr std::uint16_t mode(std::uint16_t c) { return c & 0xe0; }
[[nodiscard]] constexpr std::uint16_t op(std::uint16_t c) { return c & 0xf0; }
[[nodiscard]] constexpr std::uint16_t src(std::uint16_t c) { return c & 0x08; }
[[nodiscard]] constexpr std::uint16_t rval(std::uint16_t c) { return c & 0x18; }
/// Bytes a load of this size reads (W 4, H 2, B 1).
[[nodiscard]] constexpr std::uint32_t bytes(std::uint16_t c) { return size(c) == kW ? 4 : size(c) == kH ? 2 : 1; }
}  // namespace code

/// SKF_AD_OFF, SKF_NET_OFF, SKF_LL_OFF as the u32 `k` of a load.
inline constexpr std::uint32_t kAdOff = 0xfffff000;
inline constexpr std::int32_t kNetOff = -0x100000;
inline constexpr std::int32_t kLlOff = -0x200000;

/// The ancillary loads `ld [SKF_AD_OFF + n]` (spec §7.4); the value is n.
enum class Ancillary : std::uint8_t {
    Protocol = 0,
    PktType = 4,
    Ifindex = 8,
    Nlattr = 12,
    NlattrNest = 16,
    Mark = 20,
    Queue = 24,
    Hatype = 28,
    Rxhash = 32,
    Cpu = 36,
    AluXorX = 40,
    VlanTag = 44,
    VlanTagPresent = 48,
    PayOffset = 52,
    Random = 56,
    VlanTpid = 60,
};
inline constexpr std::uint32_t kAdMax = 64;  ///< SKF_AD_MAX

/// The ancillary load an absolute load's `k` selects, if `k` is one of the 16 known offsets.
[[nodiscard]] std::optional<Ancillary> ancillary(std::uint32_t k);
/// Whether `k` of an absolute load lies in the ancillary range (k ≥ SKF_AD_OFF as u32).
[[nodiscard]] constexpr bool in_ancillary_range(std::uint32_t k) { return k >= kAdOff; }
/// The name bpf_asm and tcpdump use for an ancillary load ("proto", "ifidx", "vlan_avail", ...).
[[nodiscard]] std::string_view ancillary_name(Ancillary a);
/// Every ancillary load, in offset order.
[[nodiscard]] std::span<const Ancillary> all_ancillaries();

/// Decodes 8-byte host-order records; the size must be a multiple of 8.
[[nodiscard]] Result<Filter> from_bytes(std::span<const std::uint8_t> bytes);
/// Encodes to 8-byte host-order records.
[[nodiscard]] std::vector<std::uint8_t> to_bytes(std::span<const Insn> filter);

}  // namespace sockfilter::cbpf
