// SPDX-License-Identifier: MIT
// SO_ATTACH_BPF, SO_DETACH_BPF and SO_LOCK_FILTER through setsockopt, and pidfd_open + pidfd_getfd
// (raw syscalls: glibc 2.36 wraps them, older ones do not) to borrow another process's socket.
#include "kernel/socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

namespace sockfilter::kernel {

namespace {

tl::unexpected<Error> kernel_error(int err, std::string message) {
    return tl::unexpected<Error>(Error{Errc::Kernel, std::move(message), {}, {}, err});
}

Result<void> set_option(int sock, int option, const void* value, socklen_t size, const char* name) {
    if (::setsockopt(sock, SOL_SOCKET, option, value, size) != 0) {
        const int err = errno;
        std::string message = fmt::format("setsockopt({}): {}", name, std::strerror(err));
        if (err == EPERM && option != SO_LOCK_FILTER) {
            message += " (the socket's filter is locked with SO_LOCK_FILTER)";
        } else if (err == ENOTSOCK) {
            message += " (the descriptor is not a socket)";
        }
        return kernel_error(err, std::move(message));
    }
    return {};
}

/// What a descriptor that is not a socket is, from its file mode.
const char* file_kind(mode_t mode) {
    switch (mode & S_IFMT) {
        case S_IFREG: return "a regular file";
        case S_IFDIR: return "a directory";
        case S_IFCHR: return "a character device";
        case S_IFBLK: return "a block device";
        case S_IFIFO: return "a pipe";
        case S_IFLNK: return "a symbolic link";
        default: return "an anonymous inode (eventfd, epoll, bpf object, ...)";
    }
}

/// The Yama setting that can forbid ptrace-mode access even between processes of one user.
std::string ptrace_scope() {
    std::ifstream f("/proc/sys/kernel/yama/ptrace_scope");
    std::string v;
    if (f >> v) {
        return "kernel.yama.ptrace_scope=" + v;
    }
    return "no Yama ptrace_scope";
}

}  // namespace

Result<void> attach_bpf(int sock, const Fd& prog) {
    const int fd = prog.get();
    return set_option(sock, SO_ATTACH_BPF, &fd, sizeof fd, "SO_ATTACH_BPF");
}

Result<void> detach_filter(int sock) {
    const int unused = 0;
    auto done = set_option(sock, SO_DETACH_BPF, &unused, sizeof unused, "SO_DETACH_BPF");
    if (!done && done.error().sys_errno == ENOENT) {
        done.error().message = "setsockopt(SO_DETACH_BPF): the socket has no filter";
    }
    return done;
}

Result<void> lock_filter(int sock) {
    const int on = 1;
    return set_option(sock, SO_LOCK_FILTER, &on, sizeof on, "SO_LOCK_FILTER");
}

Result<Fd> socket_of_process(pid_t pid, int fd) {
    if (pid <= 0) {
        return fail(Errc::InvalidArgument, "process id {} is not a process (it must be positive)", pid);
    }
    if (fd < 0) {
        return fail(Errc::InvalidArgument, "file descriptor {} of process {} does not exist (it must be 0 or more)",
                    fd, pid);
    }
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) {
        const int err = errno;
        if (err == ESRCH) {
            return kernel_error(err, fmt::format("no process with id {}", pid));
        }
        if (err == ENOSYS) {
            return tl::unexpected<Error>(
                Error{Errc::NotSupported, "pidfd_open is not available (Linux 5.3 or later is needed)", {}, {}, err});
        }
        return kernel_error(err, fmt::format("pidfd_open({}): {}", pid, std::strerror(err)));
    }
    Fd dup(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
    if (!dup) {
        const int err = errno;
        switch (err) {
            case EBADF: return kernel_error(err, fmt::format("process {} has no file descriptor {}", pid, fd));
            case ESRCH: return kernel_error(err, fmt::format("process {} exited", pid));
            case EPERM:
                return kernel_error(
                    err, fmt::format("not permitted to take file descriptor {} of process {}: pidfd_getfd needs "
                                     "ptrace access (PTRACE_MODE_ATTACH_REALCREDS): the same user and a dumpable "
                                     "process, or CAP_SYS_PTRACE; {} may restrict it further",
                                     fd, pid, ptrace_scope()));
            case ENOSYS:
                return tl::unexpected<Error>(Error{
                    Errc::NotSupported, "pidfd_getfd is not available (Linux 5.6 or later is needed)", {}, {}, err});
            default:
                return kernel_error(err, fmt::format("pidfd_getfd(process {}, fd {}): {}", pid, fd, std::strerror(err)));
        }
    }
    struct stat st{};
    if (::fstat(dup.get(), &st) != 0) {
        const int err = errno;
        return kernel_error(err, fmt::format("fstat of file descriptor {} of process {}: {}", fd, pid,
                                             std::strerror(err)));
    }
    if (!S_ISSOCK(st.st_mode)) {
        return fail(Errc::InvalidArgument, "file descriptor {} of process {} is not a socket (it is {})", fd, pid,
                    file_kind(st.st_mode));
    }
    return dup;
}

}  // namespace sockfilter::kernel
