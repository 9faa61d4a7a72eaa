// SPDX-License-Identifier: MIT
// The registries of helper functions.
#include "runtime/helpers.h"

namespace sockfilter::runtime {

namespace {

std::uint64_t unwind(CallEnv& env, std::uint64_t r1, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t) {
    if (r1 == 0) {
        env.stop = true;
        env.stop_value = 0;
    }
    return r1;
}

HelperRegistry make_conformance() {
    HelperRegistry r;
    r.add({5, "unwind", &unwind});
    return r;
}

}  // namespace

const HelperRegistry& conformance_helpers() {
    static const HelperRegistry registry = make_conformance();
    return registry;
}

const HelperRegistry& socket_filter_helpers() {
    static const HelperRegistry registry;
    return registry;
}

}  // namespace sockfilter::runtime
