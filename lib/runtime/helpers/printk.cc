// SPDX-License-Identifier: MIT
// bpf_trace_printk, bpf_trace_vprintk and bpf_snprintf (spec §5.3 "Tracing-style helpers"): the
// argument rules of each, the shared formatter (format.h), and the trace line recorded as an
// Output::Kind::TracePrintk of the instance.
#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "runtime/helpers/format.h"
#include "runtime/helpers/impl.h"
#include "runtime/instance.h"
#include "support/bytes.h"

namespace sockfilter::runtime::helpers {

namespace {

/// Arguments bpf_trace_printk passes (MAX_TRACE_PRINTK_VARARGS).
constexpr std::size_t kTracePrintkArgs = 3;

/// The format in fmt[0, fmt_size) up to its NUL, or nullopt when there is none (-EINVAL).
std::optional<std::string_view> format_in(const std::uint8_t* fmt, std::uint32_t fmt_size) {
    const void* nul = std::memchr(fmt, 0, fmt_size);
    if (nul == nullptr) {
        return std::nullopt;
    }
    return std::string_view(reinterpret_cast<const char*>(fmt),
                            static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - fmt));
}

/// Formats and records a trace line; returns the length bstr_printf reports (not truncated).
std::uint64_t trace(CallEnv& env, std::string_view helper, std::string_view fmt,
                    std::span<const std::uint64_t> args) {
    std::string text;
    if (const std::int64_t rc = format(env, fmt, args, text); rc < 0) {
        return ret(rc);
    }
    if (env.instance == nullptr) {
        env.fault = fmt::format("{}: no instance records the trace output", helper);
        return 0;
    }
    const std::uint64_t length = text.size();
    text.resize(std::min(text.size(), kPrintfBufSize - 1));
    Output line;
    line.kind = Output::Kind::TracePrintk;
    line.text = std::move(text);
    env.instance->emit(std::move(line));
    return length;
}

/// The u64 arguments of a data array (trace_vprintk, snprintf), after the kernel's checks on
/// data_len; nullopt with r0 in `rc` when they fail.
std::optional<std::vector<std::uint64_t>> data_args(CallEnv& env, std::string_view helper, int reg,
                                                    std::uint64_t data, std::uint32_t data_len, std::uint64_t& rc) {
    if ((data_len & 7) != 0 || data_len > kMaxPrintfArgs * 8 || (data_len != 0 && data == 0)) {
        rc = neg(kEinval);
        return std::nullopt;
    }
    const std::uint8_t* p = readable(env, helper, reg, "data", data, data_len);
    if (p == nullptr) {
        rc = 0;
        return std::nullopt;
    }
    std::vector<std::uint64_t> args(data_len / 8);
    for (std::size_t i = 0; i < args.size(); ++i) {
        args[i] = load_le<std::uint64_t>(p + 8 * i);
    }
    return args;
}

}  // namespace

std::uint64_t trace_printk(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t r4,
                           std::uint64_t r5) {
    constexpr std::string_view kName = "bpf_trace_printk";
    const auto fmt_size = static_cast<std::uint32_t>(r2);
    const std::uint8_t* fmt = readable(env, kName, 1, "fmt", r1, fmt_size);
    if (fmt == nullptr) {
        return 0;
    }
    const auto text = format_in(fmt, fmt_size);
    if (!text) {
        return neg(kEinval);
    }
    const std::array<std::uint64_t, kTracePrintkArgs> args{r3, r4, r5};
    return trace(env, kName, *text, args);
}

std::uint64_t trace_vprintk(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t r4,
                            std::uint64_t) {
    constexpr std::string_view kName = "bpf_trace_vprintk";
    std::uint64_t rc = 0;
    const auto args = data_args(env, kName, 3, r3, static_cast<std::uint32_t>(r4), rc);
    if (!args) {
        return rc;
    }
    const auto fmt_size = static_cast<std::uint32_t>(r2);
    const std::uint8_t* fmt = readable(env, kName, 1, "fmt", r1, fmt_size);
    if (fmt == nullptr) {
        return 0;
    }
    const auto text = format_in(fmt, fmt_size);
    if (!text) {
        return neg(kEinval);
    }
    return trace(env, kName, *text, *args);
}

std::uint64_t snprintf(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t r4,
                       std::uint64_t r5) {
    constexpr std::string_view kName = "bpf_snprintf";
    const auto str_size = static_cast<std::uint32_t>(r2);
    std::uint8_t* str = writable(env, kName, 1, "str", r1, str_size);
    if (str == nullptr) {
        return 0;
    }
    std::uint64_t fmt_len = 0;
    const char* fmt = readable_string(env, kName, 3, "fmt", r3, fmt_len);
    if (fmt == nullptr) {
        return 0;
    }
    std::uint64_t rc = 0;
    const auto args = data_args(env, kName, 4, r4, static_cast<std::uint32_t>(r5), rc);
    if (!args) {
        return rc;
    }
    std::string text;
    if (const std::int64_t err = format(env, std::string_view(fmt, fmt_len), *args, text); err < 0) {
        return ret(err);
    }
    if (str_size > 0) {
        const std::size_t n = std::min<std::size_t>(text.size(), str_size - 1);
        std::copy_n(text.data(), n, str);
        str[n] = 0;
    }
    return text.size() + 1;
}

}  // namespace sockfilter::runtime::helpers
