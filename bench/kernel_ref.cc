// SPDX-License-Identifier: MIT
// Reference engine: the kernel (JIT when net.core.bpf_jit_enable is 1) through BPF_PROG_TEST_RUN
// with a repeat count. kernel::test_run runs once and reports no duration, so this calls libbpf.
#include <bpf/bpf.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "bench/case.h"

namespace sockfilter::bench {

namespace {

/// Each benchmark iteration is one BPF_PROG_TEST_RUN whose repeat count is chosen so that it
/// takes about this long (the calibration run uses kMinRepeat).
constexpr double kBatchNs = 20e6;
constexpr int kMinRepeat = 1000;
constexpr int kMaxRepeat = 1'000'000;

/// One BPF_PROG_TEST_RUN of `repeat` runs: the kernel's average ns per run, or -errno.
long long batch(const Case& c, int repeat, std::uint32_t& retval) {
    LIBBPF_OPTS(bpf_test_run_opts, ro);
    ro.data_in = c.kernel_frame.data();
    ro.data_size_in = static_cast<std::uint32_t>(c.kernel_frame.size());
    ro.repeat = repeat;
    const int rc = bpf_prog_test_run_opts(c.kernel_fd.get(), &ro);
    if (rc < 0) {
        return rc;
    }
    retval = ro.retval;
    return ro.duration;
}

}  // namespace

void run_kernel(benchmark::State& state, const Case& c) {
    if (!c.error.empty() || !c.kernel_error.empty()) {
        state.SkipWithError((c.error.empty() ? c.kernel_error : c.error).c_str());
        return;
    }
    std::uint32_t retval = 0;
    const long long calibration = batch(c, kMinRepeat, retval);
    if (calibration < 0) {
        state.SkipWithError(fmt::format("BPF_PROG_TEST_RUN: {}", std::strerror(static_cast<int>(-calibration))).c_str());
        return;
    }
    if (retval != c.expected) {
        state.SkipWithError(fmt::format("kernel returned {:#x}, expected {:#x}", retval, c.expected).c_str());
        return;
    }
    const double per_run = std::max(1.0, static_cast<double>(calibration));
    const int repeat =
        static_cast<int>(std::clamp(kBatchNs / per_run, double{kMinRepeat}, double{kMaxRepeat}));
    double wall_ns = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        const long long ns = batch(c, repeat, retval);
        const auto t1 = std::chrono::steady_clock::now();
        if (ns < 0) {
            state.SkipWithError(fmt::format("BPF_PROG_TEST_RUN: {}", std::strerror(static_cast<int>(-ns))).c_str());
            break;
        }
        wall_ns += static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
        state.SetIterationTime(static_cast<double>(ns) * 1e-9);
    }
    const auto iterations = static_cast<double>(std::max<benchmark::IterationCount>(1, state.iterations()));
    state.counters["repeat"] = repeat;
    // Wall clock per packet around the syscall: the kernel's number plus the syscall's cost
    // spread over `repeat` runs.
    state.counters["wall_ns_per_pkt"] = wall_ns / (static_cast<double>(repeat) * iterations);
}

}  // namespace sockfilter::bench
