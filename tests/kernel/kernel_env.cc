// SPDX-License-Identifier: MIT
// require_kernel, the fd counter and the shared-folder lookup.
#include "kernel_env.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "kernel/bpf.h"

namespace sockfilter::testing {

namespace {

bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci != nullptr && std::string_view(ci) == "true";
}

/// Why kernel tests cannot run here, or empty when they can. Probed once per process.
const std::string& skip_reason() {
    static const std::string reason = [] {
        auto p = kernel::probe();
        if (!p) {
            return p.error().render();
        }
        return p->permitted ? std::string() : p->reason;
    }();
    return reason;
}

}  // namespace

void require_kernel() {
    const std::string& reason = skip_reason();
    if (!reason.empty()) {
        skip_kernel_test(reason);
    }
}

void skip_kernel_test(const std::string& reason) {
    if (in_ci()) {
        FAIL() << "kernel test cannot run and CI=true: " << reason;
    }
    GTEST_SKIP() << "SKIPPED: " << reason;
}

bool drop_effective_caps(std::initializer_list<int> caps) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capget, &hdr, data) != 0) {
        return false;
    }
    for (int c : caps) {
        data[c / 32].effective &= ~(1U << (c % 32));
    }
    return ::syscall(SYS_capset, &hdr, data) == 0;
}

std::size_t open_fd_count() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        ++n;
    }
    return n;
}

void KernelTest::SetUp() {
    fds_before_ = open_fd_count();
    require_kernel();
}

void KernelTest::TearDown() {
    EXPECT_EQ(open_fd_count(), fds_before_) << "the test leaked a file descriptor";
}

}  // namespace sockfilter::testing
