// SPDX-License-Identifier: MIT
// Socket attachment and feature probes against the running kernel: SO_ATTACH_BPF, SO_DETACH_BPF and
// SO_LOCK_FILTER on an AF_UNIX datagram pair of this process (filters run on unix datagrams too, so
// no network is needed), pidfd_getfd of a socket and its errors, and what probe_features reports,
// also from children that dropped capabilities.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <functional>
#include <string>

#include "kernel/bpf.h"
#include "kernel/features.h"
#include "kernel/socket.h"
#include "kernel_env.h"

namespace sockfilter::testing {
namespace {

/// A socket filter that returns `ret` (0 drops every packet).
kernel::Fd load_returning(std::int32_t ret) {
    auto prog = program::Program::from_slots("sf_ret", {{0xb7, 0, 0, 0, ret}, {0x95, 0, 0, 0, 0}});
    EXPECT_TRUE(prog.has_value());
    auto fd = kernel::load_socket_filter(*prog);
    EXPECT_TRUE(fd.has_value()) << fd.error().render();
    return fd ? std::move(*fd) : kernel::Fd();
}

/// A connected AF_UNIX datagram pair: send on `tx`, the filter of `rx` decides.
struct Pair {
    kernel::Fd tx;
    kernel::Fd rx;
    Pair() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM, 0, fds), 0);
        tx.reset(fds[0]);
        rx.reset(fds[1]);
    }
    /// Sends one datagram and says whether `rx` received it.
    bool delivered() const {
        const char msg[] = "sockfilter";
        EXPECT_EQ(::send(tx.get(), msg, sizeof msg, 0), static_cast<ssize_t>(sizeof msg));
        char buf[64];
        return ::recv(rx.get(), buf, sizeof buf, MSG_DONTWAIT) == static_cast<ssize_t>(sizeof msg);
    }
};

/// Runs `body` in a forked child; its return value is the child's exit status.
int in_child(const std::function<int()>& body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::_exit(body());
    }
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// A pid no process has: a child that has exited and been reaped.
pid_t vanished_pid() {
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::_exit(0);
    }
    ::waitpid(pid, nullptr, 0);
    return pid;
}

class SocketTest : public KernelTest {};

TEST_F(SocketTest, AttachDetachAndLock) {
    const kernel::Fd drop = load_returning(0);
    const kernel::Fd keep = load_returning(-1);
    Pair p;
    ASSERT_TRUE(p.delivered());
    ASSERT_TRUE(kernel::attach_bpf(p.rx.get(), drop).has_value());
    EXPECT_FALSE(p.delivered());
    ASSERT_TRUE(kernel::attach_bpf(p.rx.get(), keep).has_value());  // replaces the filter
    EXPECT_TRUE(p.delivered());
    ASSERT_TRUE(kernel::detach_filter(p.rx.get()).has_value());
    EXPECT_TRUE(p.delivered());

    auto none = kernel::detach_filter(p.rx.get());
    ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error().sys_errno, ENOENT);
    EXPECT_EQ(none.error().render(), "setsockopt(SO_DETACH_BPF): the socket has no filter");

    ASSERT_TRUE(kernel::attach_bpf(p.rx.get(), drop).has_value());
    ASSERT_TRUE(kernel::lock_filter(p.rx.get()).has_value());
    auto replace = kernel::attach_bpf(p.rx.get(), keep);
    ASSERT_FALSE(replace.has_value());
    EXPECT_EQ(replace.error().sys_errno, EPERM);
    EXPECT_EQ(replace.error().render(),
              "setsockopt(SO_ATTACH_BPF): Operation not permitted (the socket's filter is locked with SO_LOCK_FILTER)");
    EXPECT_FALSE(kernel::detach_filter(p.rx.get()).has_value());
    EXPECT_FALSE(p.delivered());  // still the locked drop-all filter
}

TEST_F(SocketTest, AttachToSomethingElseThanASocket) {
    const kernel::Fd drop = load_returning(0);
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const kernel::Fd r(fds[0]), w(fds[1]);
    auto done = kernel::attach_bpf(r.get(), drop);
    ASSERT_FALSE(done.has_value());
    EXPECT_EQ(done.error().sys_errno, ENOTSOCK);
    EXPECT_EQ(done.error().render(), "setsockopt(SO_ATTACH_BPF): Socket operation on non-socket (the descriptor is "
                                     "not a socket)");
}

TEST_F(SocketTest, SocketOfProcessIsTheSameSocket) {
    const kernel::Fd drop = load_returning(0);
    Pair p;
    auto dup = kernel::socket_of_process(::getpid(), p.rx.get());
    ASSERT_TRUE(dup.has_value()) << dup.error().render();
    EXPECT_NE(dup->get(), p.rx.get());
    ASSERT_TRUE(kernel::attach_bpf(dup->get(), drop).has_value());
    EXPECT_FALSE(p.delivered());  // the filter is on the socket, not on the descriptor
}

TEST_F(SocketTest, SocketOfProcessErrorsSayWhatIsMissing) {
    const pid_t gone = vanished_pid();
    auto e = kernel::socket_of_process(gone, 0);
    ASSERT_FALSE(e.has_value());
    EXPECT_EQ(e.error().sys_errno, ESRCH);
    EXPECT_EQ(e.error().render(), "no process with id " + std::to_string(gone));

    e = kernel::socket_of_process(0, 3);
    ASSERT_FALSE(e.has_value());
    EXPECT_EQ(e.error().render(), "process id 0 is not a process (it must be positive)");

    // A descriptor number this process does not have open (far above any the lookup itself opens).
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const kernel::Fd r(fds[0]), w(fds[1]);
    const int closed = 900;
    ASSERT_EQ(::fcntl(closed, F_GETFD), -1);
    e = kernel::socket_of_process(::getpid(), closed);
    ASSERT_FALSE(e.has_value());
    EXPECT_EQ(e.error().sys_errno, EBADF);
    EXPECT_EQ(e.error().render(),
              "process " + std::to_string(::getpid()) + " has no file descriptor " + std::to_string(closed));

    e = kernel::socket_of_process(::getpid(), r.get());
    ASSERT_FALSE(e.has_value());
    EXPECT_EQ(e.error().code, Errc::InvalidArgument);
    EXPECT_EQ(e.error().render(), "file descriptor " + std::to_string(r.get()) + " of process " +
                                      std::to_string(::getpid()) + " is not a socket (it is a pipe)");
}

TEST_F(SocketTest, SocketOfProcessNotPermittedForAnotherUser) {
    Pair p;
    const pid_t parent = ::getpid();
    const int fd = p.rx.get();
    // A child that becomes an unprivileged user may not take a descriptor of this (root) process.
    const int status = in_child([&] {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
            return 10;
        }
        auto e = kernel::socket_of_process(parent, fd);
        if (e.has_value()) {
            return 11;
        }
        const std::string text = e.error().render();
        const bool named = e.error().sys_errno == EPERM &&
                           text.starts_with("not permitted to take file descriptor " + std::to_string(fd)) &&
                           text.find("CAP_SYS_PTRACE") != std::string::npos;
        return named ? 0 : 12;
    });
    EXPECT_EQ(status, 0) << "10: setuid failed, 11: pidfd_getfd succeeded, 12: wrong error";
}

/// Whether /proc/self/mountinfo lists a bpf filesystem mounted at /sys/fs/bpf (the probe uses
/// statfs; this reads the mount table instead).
bool bpffs_in_mountinfo() {
    std::ifstream f("/proc/self/mountinfo");
    std::string line;
    while (std::getline(f, line)) {
        if (line.find(" /sys/fs/bpf ") != std::string::npos && line.find(" - bpf ") != std::string::npos) {
            return true;
        }
    }
    return false;
}

TEST_F(SocketTest, FeaturesOfThisProcess) {
    auto f = kernel::probe_features();
    ASSERT_TRUE(f.has_value()) << f.error().render();
    EXPECT_TRUE(f->bpf.permitted);
    EXPECT_EQ(f->bpffs_mounted, bpffs_in_mountinfo());
    std::ifstream jit("/proc/sys/net/core/bpf_jit_enable");
    int v = -1;
    if (jit >> v) {
        EXPECT_EQ(f->jit_enable, v);
    }
    EXPECT_FALSE(f->kernel_release.empty());
    if (::geteuid() == 0 && f->capabilities.find("CAP_SYS_ADMIN") != std::string::npos) {
        EXPECT_EQ(f->privilege, kernel::BpfPrivilege::Root);
    }
}

TEST_F(SocketTest, FeaturesFollowTheEffectiveCapabilities) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "SKIPPED: needs root to drop capabilities in a child";
    }
    // CAP_BPF without CAP_PERFMON (and without CAP_SYS_ADMIN, which implies both): the bpf tier.
    int status = in_child([] {
        if (!drop_effective_caps({CAP_SYS_ADMIN, CAP_PERFMON})) {
            return 10;
        }
        auto f = kernel::probe_features();
        return f && f->bpf.permitted && f->privilege == kernel::BpfPrivilege::Bpf ? 0 : 11;
    });
    EXPECT_EQ(status, 0) << "10: capset failed, 11: wrong probe";
    // Neither: unprivileged, which loads only when kernel.unprivileged_bpf_disabled is 0.
    status = in_child([] {
        if (!drop_effective_caps({CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF})) {
            return 10;
        }
        auto f = kernel::probe_features();
        if (!f || f->privilege != kernel::BpfPrivilege::None || !f->unprivileged_bpf_disabled) {
            return 11;
        }
        return f->bpf.permitted == (*f->unprivileged_bpf_disabled == 0) ? 0 : 12;
    });
    EXPECT_EQ(status, 0) << "10: capset failed, 11: wrong privilege, 12: permitted disagrees with the sysctl";
}

}  // namespace
}  // namespace sockfilter::testing
