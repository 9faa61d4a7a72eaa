// SPDX-License-Identifier: MIT
// bpf_bprintf_prepare's format check and bstr_printf's output in one pass.
#include "runtime/helpers/format.h"

#include <array>

#include <fmt/format.h>

#include "runtime/helpers/impl.h"

namespace sockfilter::runtime::helpers {

namespace {

/// The longest string %s copies: the 512-byte argument buffer (MAX_BPRINTF_BIN_ARGS) less its NUL.
constexpr std::size_t kMaxStringArg = 511;

bool is_space(char c) { return (c >= 9 && c <= 13) || c == ' '; }
bool is_print(char c) { return c >= 0x20 && c <= 0x7e; }
bool is_punct(char c) {
    return is_print(c) && c != ' ' && !(c >= '0' && c <= '9') && !((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}
/// What may follow a plain %p or a %s: the end, a space or punctuation.
bool ends_conversion(char c) { return c == '\0' || is_space(c) || is_punct(c); }

struct Spec {
    bool left = false;
    bool plus = false;
    bool space = false;
    bool zero = false;
    std::size_t width = 0;
};

void pad(std::string& out, std::string_view body, const Spec& spec) {
    const std::size_t fill = spec.width > body.size() ? spec.width - body.size() : 0;
    if (spec.left) {
        out += body;
        out.append(fill, ' ');
    } else {
        out.append(fill, ' ');
        out += body;
    }
}

/// vsnprintf's number(): sign, zero padding after the sign, or space padding.
void number(std::string& out, std::uint64_t magnitude, bool negative, bool is_signed, int base, bool upper,
            const Spec& spec) {
    std::string digits = base == 16 ? (upper ? fmt::format("{:X}", magnitude) : fmt::format("{:x}", magnitude))
                                    : fmt::format("{}", magnitude);
    std::string sign;
    if (is_signed) {
        if (negative) {
            sign = "-";
        } else if (spec.plus) {
            sign = "+";
        } else if (spec.space) {
            sign = " ";
        }
    }
    const std::size_t used = sign.size() + digits.size();
    if (spec.zero && !spec.left && spec.width > used) {
        out += sign;
        out.append(spec.width - used, '0');
        out += digits;
        return;
    }
    pad(out, sign + digits, spec);
}

/// The string at `addr` as the kernel's non-faulting copy sees it: "" when it cannot be read.
std::string read_string(const CallEnv& env, std::uint64_t addr) {
    std::string s;
    if (env.memory == nullptr) {
        return s;
    }
    for (std::uint64_t i = 0;; ++i) {
        if (!env.memory->readable(addr + i, 1)) {
            return {};
        }
        const char c = *reinterpret_cast<const char*>(static_cast<std::uintptr_t>(addr + i));
        if (c == '\0' || s.size() == kMaxStringArg) {
            return s;
        }
        s += c;
    }
}

/// %pi4 %pI4 %pi6 %pI6 of the 4 or 16 bytes at `addr` (zeros when unreadable).
std::string ip_string(const CallEnv& env, std::uint64_t addr, char kind, char version) {
    const std::size_t n = version == '4' ? 4 : 16;
    std::array<std::uint8_t, 16> b{};
    if (env.memory != nullptr && env.memory->readable(addr, n)) {
        const auto* p = reinterpret_cast<const std::uint8_t*>(static_cast<std::uintptr_t>(addr));
        std::copy_n(p, n, b.begin());
    }
    std::string s;
    if (n == 4) {
        for (std::size_t i = 0; i < 4; ++i) {
            s += i == 0 ? "" : ".";
            s += kind == 'i' ? fmt::format("{:03}", b[i]) : fmt::format("{}", b[i]);
        }
        return s;
    }
    for (std::size_t i = 0; i < 16; i += 2) {
        s += fmt::format("{}{:02x}{:02x}", (i == 0 || kind == 'i') ? "" : ":", b[i], b[i + 1]);
    }
    return s;
}

}  // namespace

std::int64_t format(const CallEnv& env, std::string_view fmt, std::span<const std::uint64_t> args,
                    std::string& out) {
    out.clear();
    std::size_t next_arg = 0;
    // Index past the end reads as the NUL the kernel's string has there.
    const auto at = [&](std::size_t i) { return i < fmt.size() ? fmt[i] : '\0'; };
    for (std::size_t i = 0; i < fmt.size(); ++i) {
        const char c = fmt[i];
        if ((!is_print(c) && !is_space(c)) || static_cast<unsigned char>(c) > 0x7f) {
            return -kEinval;
        }
        if (c != '%') {
            out += c;
            continue;
        }
        if (at(i + 1) == '%') {
            out += '%';
            ++i;
            continue;
        }
        if (next_arg >= args.size()) {
            return -kEinval;
        }
        const std::uint64_t arg = args[next_arg++];
        ++i;
        Spec spec;
        for (;; ++i) {
            const char f = at(i);
            if (f == '0') {
                spec.zero = true;
            } else if (f == '+') {
                spec.plus = true;
            } else if (f == '-') {
                spec.left = true;
            } else if (f == ' ') {
                spec.space = true;
            } else {
                break;
            }
        }
        if (at(i) >= '1' && at(i) <= '9') {
            while (at(i) >= '0' && at(i) <= '9') {
                spec.width = spec.width * 10 + static_cast<std::size_t>(at(i) - '0');
                ++i;
            }
        }
        const char conv = at(i);
        if (conv == 'p') {
            const char kind = at(i + 1);
            if (ends_conversion(kind) || kind == 'K' || kind == 'x') {
                out += fmt::format("{:016x}", arg);
                i += ends_conversion(kind) ? 0 : 1;
                continue;
            }
            if ((kind == 'k' || kind == 'u') && at(i + 2) == 's') {
                i += 2;
                if (!ends_conversion(at(i + 1))) {
                    return -kEinval;
                }
                pad(out, read_string(env, arg), spec);
                continue;
            }
            if (kind == 's' || kind == 'S' || kind == 'B') {
                out += fmt::format("{:#x}", arg);
                ++i;
                continue;
            }
            if ((kind != 'i' && kind != 'I') || (at(i + 2) != '4' && at(i + 2) != '6')) {
                return -kEinval;
            }
            out += ip_string(env, arg, kind, at(i + 2));
            i += 2;
            // bstr_printf skips whatever alphanumerics follow (e.g. the c of %pI6c).
            while ((at(i + 1) | 0x20) >= 'a' && (at(i + 1) | 0x20) <= 'z') {
                ++i;
            }
            continue;
        }
        if (conv == 's') {
            if (!ends_conversion(at(i + 1))) {
                return -kEinval;
            }
            pad(out, read_string(env, arg), spec);
            continue;
        }
        if (conv == 'c') {
            pad(out, std::string(1, static_cast<char>(arg)), spec);
            continue;
        }
        int size = 4;
        if (at(i) == 'l') {
            size = 8;
            ++i;
        }
        if (at(i) == 'l') {
            ++i;
        }
        const char t = at(i);
        if (t != 'i' && t != 'd' && t != 'u' && t != 'x' && t != 'X') {
            return -kEinval;
        }
        const std::uint64_t v = size == 8 ? arg : (arg & 0xffffffffU);
        if (t == 'd' || t == 'i') {
            const std::int64_t s = size == 8 ? static_cast<std::int64_t>(v) : std::int64_t{static_cast<std::int32_t>(v)};
            const std::uint64_t magnitude = s < 0 ? 0 - static_cast<std::uint64_t>(s) : static_cast<std::uint64_t>(s);
            number(out, magnitude, s < 0, true, 10, false, spec);
        } else {
            number(out, v, false, false, t == 'u' ? 10 : 16, t == 'X', spec);
        }
    }
    return 0;
}

}  // namespace sockfilter::runtime::helpers
