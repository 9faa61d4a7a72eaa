// SPDX-License-Identifier: MIT
// Shared pieces of the kernel tests: the skip-or-fail rule for machines without bpf(), the
// fd-leak check every kernel test makes, and where the shared spec tables are.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <initializer_list>
#include <string>

namespace sockfilter::testing {

/// Skips the calling test with "SKIPPED: <reason>" when bpf() is not permitted here; with the
/// environment variable CI=true it fails instead (CI machines have the kernel). Call it from a
/// fixture's SetUp (or the test body before anything else).
void require_kernel();

/// Skips the calling test with "SKIPPED: <reason>", or fails it when CI=true (the rule
/// require_kernel applies, for a kernel test that needs more than bpf()).
void skip_kernel_test(const std::string& reason);

/// Clears capability bits (CAP_*) from the calling thread's effective set with capset(2), no libcap;
/// the permitted set keeps them, so they can be raised again. False (errno set) on failure.
[[nodiscard]] bool drop_effective_caps(std::initializer_list<int> caps);

/// Number of open file descriptors of this process (entries of /proc/self/fd).
[[nodiscard]] std::size_t open_fd_count();

/// Base fixture of every kernel test: requires the kernel and fails the test if it leaves a file
/// descriptor open.
class KernelTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

private:
    std::size_t fds_before_ = 0;
};

}  // namespace sockfilter::testing
