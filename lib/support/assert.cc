// SPDX-License-Identifier: MIT
// The failure path of SF_ASSERT.
#include "support/assert.h"

#include <cstdio>
#include <cstdlib>

namespace sockfilter::detail {

void assert_fail(const char* expr, const char* file, int line) {
    std::fprintf(stderr, "sockfilter: internal error: %s at %s:%d\n", expr, file, line);
    std::abort();
}

}  // namespace sockfilter::detail
