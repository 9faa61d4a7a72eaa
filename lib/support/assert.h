// SPDX-License-Identifier: MIT
// Invariant checks: a broken invariant is our bug, never a Result (HOUSE_STYLE §3).
#pragma once

namespace sockfilter::detail {
[[noreturn]] void assert_fail(const char* expr, const char* file, int line);
}  // namespace sockfilter::detail

/// Aborts with the expression and position when `cond` is false, in every build type.
#define SF_ASSERT(cond) ((cond) ? static_cast<void>(0) : ::sockfilter::detail::assert_fail(#cond, __FILE__, __LINE__))
/// Marks code that cannot be reached when the invariants hold.
#define SF_UNREACHABLE() ::sockfilter::detail::assert_fail("unreachable", __FILE__, __LINE__)
