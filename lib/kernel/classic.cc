// SPDX-License-Identifier: MIT
// SO_ATTACH_FILTER and SO_GET_FILTER through setsockopt/getsockopt.
#include "kernel/classic.h"

#include <linux/filter.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace sockfilter::kernel {

namespace {

tl::unexpected<Error> kernel_error(int err, std::string message) {
    return tl::unexpected<Error>(Error{Errc::Kernel, std::move(message), {}, {}, err});
}

/// Attempts at reading a filter that another thread keeps replacing with a longer one.
constexpr int kGetAttempts = 8;

}  // namespace

Result<void> attach_filter(int sock, std::span<const cbpf::Insn> filter) {
    if (filter.empty() || filter.size() > std::numeric_limits<unsigned short>::max()) {
        return fail(Errc::InvalidArgument, "SO_ATTACH_FILTER: a classic program has 1 to {} instructions, not {}",
                    cbpf::kMaxInsns, filter.size());
    }
    std::vector<sock_filter> insns(filter.size());
    for (std::size_t i = 0; i < filter.size(); ++i) {
        insns[i] = sock_filter{filter[i].code, filter[i].jt, filter[i].jf, filter[i].k};
    }
    sock_fprog prog{static_cast<unsigned short>(insns.size()), insns.data()};
    if (::setsockopt(sock, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
        const int err = errno;
        std::string message = fmt::format("setsockopt(SO_ATTACH_FILTER): {}", std::strerror(err));
        switch (err) {
            case EINVAL: message += " (the kernel rejects the program)"; break;
            case EPERM: message += " (the socket's filter is locked with SO_LOCK_FILTER)"; break;
            case ENOMEM: message += " (the program exceeds the socket's option memory, net.core.optmem_max)"; break;
            case ENOTSOCK: message += " (the descriptor is not a socket)"; break;
            default: break;
        }
        return kernel_error(err, std::move(message));
    }
    return {};
}

Result<SocketFilter> get_filter(int sock) {
    for (int attempt = 0; attempt < kGetAttempts; ++attempt) {
        socklen_t count = 0;
        if (::getsockopt(sock, SOL_SOCKET, SO_GET_FILTER, nullptr, &count) != 0) {
            const int err = errno;
            if (err == EACCES) {
                return SocketFilter{SocketFilter::Kind::Ebpf, {}};
            }
            return kernel_error(err, fmt::format("getsockopt(SO_GET_FILTER): {}", std::strerror(err)));
        }
        if (count == 0) {
            return SocketFilter{};
        }
        std::vector<sock_filter> insns(count);
        socklen_t got = count;
        if (::getsockopt(sock, SOL_SOCKET, SO_GET_FILTER, insns.data(), &got) != 0) {
            const int err = errno;
            if (err == EINVAL) {
                continue;  // replaced by a longer filter since the count was read
            }
            if (err == EACCES) {
                return SocketFilter{SocketFilter::Kind::Ebpf, {}};
            }
            return kernel_error(err, fmt::format("getsockopt(SO_GET_FILTER): {}", std::strerror(err)));
        }
        if (got == 0) {
            return SocketFilter{};  // detached since the count was read
        }
        SocketFilter out{SocketFilter::Kind::Classic, {}};
        out.filter.reserve(got);
        for (socklen_t i = 0; i < got; ++i) {
            out.filter.push_back(cbpf::Insn{insns[i].code, insns[i].jt, insns[i].jf, insns[i].k});
        }
        return out;
    }
    return kernel_error(EINVAL, fmt::format("getsockopt(SO_GET_FILTER): the filter kept changing over {} attempts",
                                            kGetAttempts));
}

}  // namespace sockfilter::kernel
