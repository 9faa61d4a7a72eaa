// SPDX-License-Identifier: MIT
// An owned file descriptor (program and map fds, sockets): closed exactly once, never copied.
#pragma once

namespace sockfilter::kernel {

/// Owns one file descriptor; move-only, closes it on destruction. A default-constructed or
/// moved-from Fd holds nothing (-1).
class Fd {
public:
    Fd() = default;
    /// Takes ownership of `fd` (a negative value means "nothing").
    explicit Fd(int fd) : fd_(fd < 0 ? -1 : fd) {}
    ~Fd();
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept;

    /// The descriptor, or -1.
    [[nodiscard]] int get() const { return fd_; }
    /// Whether a descriptor is held.
    [[nodiscard]] bool valid() const { return fd_ >= 0; }
    explicit operator bool() const { return valid(); }
    /// Gives up ownership without closing; returns the descriptor (or -1).
    [[nodiscard]] int release();
    /// Closes the held descriptor, if any, and holds `fd` instead.
    void reset(int fd = -1);

private:
    int fd_ = -1;
};

}  // namespace sockfilter::kernel
