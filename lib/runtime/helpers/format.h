// SPDX-License-Identifier: MIT
// The kernel's bpf_bprintf_prepare + bstr_printf pair (kernel/bpf/helpers.c, lib/vsprintf.c) that
// bpf_trace_printk, bpf_trace_vprintk and bpf_snprintf share: which format strings are accepted and
// what they print.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "runtime/helpers.h"

namespace sockfilter::runtime::helpers {

/// Most arguments bpf_trace_vprintk and bpf_snprintf take (MAX_BPRINTF_VARARGS).
inline constexpr std::size_t kMaxPrintfArgs = 12;
/// Bytes of the buffer trace_printk formats into (MAX_BPRINTF_BUF), NUL included.
inline constexpr std::size_t kPrintfBufSize = 1024;

/// Formats `fmt` (without its NUL) with `args` as the kernel does. Returns 0 and the complete text
/// (callers truncate), or -EINVAL for a format the kernel refuses: a character that is neither
/// printable ASCII nor a space, more conversions than `args`, or a conversion other than
/// `%[flags][width]` followed by d i u x X (with l or ll), c, s, p, pK px ps pS pB ks us i4 I4 i6
/// I6, and `%%` (flags: `0 + - space`; no precision). `%s`, `%pks`, `%pus` read the string through
/// env.memory and print "" where the kernel's non-faulting copy would fail; `%pi4`.. read 4 or 16
/// bytes the same way (zeros when unreadable). `%p`/`%pK` print the value as 16 hex digits where
/// the kernel prints a hash of it.
[[nodiscard]] std::int64_t format(const CallEnv& env, std::string_view fmt, std::span<const std::uint64_t> args,
                                  std::string& out);

}  // namespace sockfilter::runtime::helpers
