// SPDX-License-Identifier: MIT
// Helpers that run a callback sub-program of the caller through CallEnv::callbacks: bpf_loop
// (spec §5.3 "Control / misc").
#include "runtime/helpers/impl.h"

namespace sockfilter::runtime::helpers {

namespace {

/// BPF_MAX_LOOPS: the most iterations bpf_loop runs.
constexpr std::uint32_t kMaxLoops = 8 * 1024 * 1024;

}  // namespace

std::uint64_t loop(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t r4,
                   std::uint64_t) {
    const auto nr_loops = static_cast<std::uint32_t>(r1);
    if (r4 != 0) {
        return neg(kEinval);
    }
    if (nr_loops > kMaxLoops) {
        return neg(kE2big);
    }
    if (env.callbacks == nullptr) {
        env.fault = "bpf_loop: the engine cannot run callbacks";
        return 0;
    }
    // long cb(u64 index, void *ctx): 0 continues, anything else stops after this iteration.
    for (std::uint32_t i = 0; i < nr_loops; ++i) {
        const std::uint64_t rc = env.callbacks->call(r2, i, r3, 0, 0, 0);
        if (!env.fault.empty() || env.stop) {
            return 0;
        }
        if (rc != 0) {
            return std::uint64_t{i} + 1;
        }
    }
    return nr_loops;
}

}  // namespace sockfilter::runtime::helpers
