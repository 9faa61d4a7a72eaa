// SPDX-License-Identifier: MIT
// String helpers (spec §5.3): bpf_strncmp, and bpf_strtol/bpf_strtoul with the kernel's parser
// (__bpf_strtoull: leading spaces, one '-', base 0/8/10/16 with its 0 and 0x prefixes, at most 63
// characters looked at, -EINVAL when no digit, -ERANGE on overflow).
#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "runtime/helpers/impl.h"
#include "support/bytes.h"

namespace sockfilter::runtime::helpers {

namespace {

/// BPF_STRTOX_BASE_MASK.
constexpr std::uint64_t kBaseMask = 0x1f;
/// The kernel copies at most this many characters into its 64-byte buffer.
constexpr std::size_t kMaxDigits = 63;

/// The kernel's isspace (_ctype _S): \t \n \v \f \r, space, and 0xa0 (Latin-1 NBSP).
bool kernel_isspace(std::uint8_t c) { return (c >= 9 && c <= 13) || c == ' ' || c == 0xa0; }

bool is_xdigit(std::uint8_t c) {
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

struct Parsed {
    std::int64_t consumed = 0;  // or a negative errno
    std::uint64_t value = 0;
    bool negative = false;
};

/// __bpf_strtoull.
Parsed parse(const std::uint8_t* buf, std::size_t buf_len, std::uint64_t flags) {
    Parsed out;
    unsigned base = static_cast<unsigned>(flags & kBaseMask);
    if (buf_len == 0 || (base != 0 && base != 8 && base != 10 && base != 16) || (flags & ~kBaseMask) != 0) {
        out.consumed = -kEinval;
        return out;
    }
    std::size_t pos = 0;
    while (pos < buf_len && kernel_isspace(buf[pos])) {
        ++pos;
    }
    out.negative = pos < buf_len && buf[pos] == '-';
    if (out.negative) {
        ++pos;
    }
    if (pos == buf_len) {
        out.consumed = -kEinval;
        return out;
    }
    // The rest, NUL-terminated, as the kernel copies it.
    std::array<std::uint8_t, kMaxDigits + 3> str{};
    const std::size_t n = std::min(buf_len - pos, kMaxDigits);
    std::copy_n(buf + pos, n, str.begin());
    std::size_t i = 0;
    // _parse_integer_fixup_radix.
    if (base == 0) {
        if (str[0] == '0') {
            base = ((str[1] | 0x20) == 'x' && is_xdigit(str[2])) ? 16 : 8;
        } else {
            base = 10;
        }
    }
    if (base == 16 && str[0] == '0' && (str[1] | 0x20) == 'x') {
        i = 2;
    }
    // _parse_integer.
    std::uint64_t value = 0;
    std::size_t digits = 0;
    bool overflow = false;
    for (; i < str.size(); ++i) {
        const std::uint8_t c = str[i];
        const std::uint8_t lc = c | 0x20;
        unsigned v = 0;
        if (c >= '0' && c <= '9') {
            v = c - '0';
        } else if (lc >= 'a' && lc <= 'f') {
            v = lc - 'a' + 10U;
        } else {
            break;
        }
        if (v >= base) {
            break;
        }
        if ((value & (~std::uint64_t{0} << 60)) != 0 && value > (~std::uint64_t{0} - v) / base) {
            overflow = true;
        }
        value = value * base + v;
        ++digits;
    }
    if (overflow) {
        out.consumed = -kErange;
        return out;
    }
    if (digits == 0) {
        out.consumed = -kEinval;
        return out;
    }
    out.value = value;
    out.consumed = static_cast<std::int64_t>(pos + i);
    return out;
}

}  // namespace

std::uint64_t strncmp(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t,
                      std::uint64_t) {
    constexpr std::string_view kName = "bpf_strncmp";
    const auto size = static_cast<std::uint32_t>(r2);
    const std::uint8_t* s1 = readable(env, kName, 1, "s1", r1, size);
    if (s1 == nullptr) {
        return 0;
    }
    std::uint64_t len2 = 0;
    const char* s2 = readable_string(env, kName, 3, "s2", r3, len2);
    if (s2 == nullptr) {
        return 0;
    }
    // The kernel's strncmp: -1, 0 or 1, comparing unsigned chars, stopping at a NUL.
    for (std::uint32_t i = 0; i < size; ++i) {
        const auto c1 = s1[i];
        const auto c2 = static_cast<std::uint8_t>(s2[i]);
        if (c1 != c2) {
            return ret(c1 < c2 ? -1 : 1);
        }
        if (c1 == 0) {
            break;
        }
    }
    return 0;
}

namespace {

/// What bpf_strtol and bpf_strtoul share: check `buf` (r1, r2 bytes) and `res` (r4), zero `res`,
/// parse. Null when a pointer check faulted the call.
std::optional<std::pair<Parsed, std::uint8_t*>> parse_args(CallEnv& env, std::string_view name, std::uint64_t r1,
                                                          std::uint64_t r2, std::uint64_t r3, std::uint64_t r4) {
    const std::uint8_t* buf = readable(env, name, 1, "buf", r1, r2);
    if (buf == nullptr) {
        return std::nullopt;
    }
    std::uint8_t* res = writable(env, name, 4, "res", r4, 8);
    if (res == nullptr) {
        return std::nullopt;
    }
    store_le<std::uint64_t>(res, 0);
    return std::pair{parse(buf, r2, r3), res};
}

}  // namespace

std::uint64_t strtol(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t r4,
                     std::uint64_t) {
    const auto args = parse_args(env, "bpf_strtol", r1, r2, r3, r4);
    if (!args) {
        return 0;
    }
    const auto& [p, res] = *args;
    if (p.consumed < 0) {
        return ret(p.consumed);
    }
    // __bpf_strtoll: the magnitude must fit a long long of its sign.
    if (p.negative ? static_cast<std::int64_t>(0 - p.value) > 0 : static_cast<std::int64_t>(p.value) < 0) {
        return neg(kErange);
    }
    store_le<std::uint64_t>(res, p.negative ? 0 - p.value : p.value);
    return ret(p.consumed);
}

std::uint64_t strtoul(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t r4,
                      std::uint64_t) {
    const auto args = parse_args(env, "bpf_strtoul", r1, r2, r3, r4);
    if (!args) {
        return 0;
    }
    const auto& [p, res] = *args;
    if (p.consumed < 0) {
        return ret(p.consumed);
    }
    if (p.negative) {
        return neg(kEinval);
    }
    store_le<std::uint64_t>(res, p.value);
    return ret(p.consumed);
}

}  // namespace sockfilter::runtime::helpers
