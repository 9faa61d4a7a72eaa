// SPDX-License-Identifier: MIT
// Fd: close on destruction and on reset.
#include "kernel/fd.h"

#include <unistd.h>

namespace sockfilter::kernel {

Fd::~Fd() { reset(); }

Fd& Fd::operator=(Fd&& other) noexcept {
    if (this != &other) {
        reset(other.release());
    }
    return *this;
}

int Fd::release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
}

void Fd::reset(int fd) {
    if (fd_ >= 0) {
        // close(2) releases the descriptor even when it reports an error (Linux), so there is
        // nothing to retry.
        ::close(fd_);
    }
    fd_ = fd < 0 ? -1 : fd;
}

}  // namespace sockfilter::kernel
