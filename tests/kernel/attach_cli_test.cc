// SPDX-License-Identifier: MIT
// `sockfilter attach` and `detach` on the socket of another process: a child in a network namespace
// of its own binds a UDP socket on its loopback device and, on request, sends itself a bounded number
// of datagrams and reports how many arrived; the built binary attaches filters to that socket through
// pidfd_getfd. Also the command's errors: no such process, no such descriptor, not a socket.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "cli_env.h"
#include "kernel_env.h"

namespace sockfilter::testing {
namespace {

/// Datagrams the child sends itself per round.
constexpr int kDatagrams = 10;

/// Sets `lo` up with the address 198.18.0.1/32 in the calling process's (new) network namespace.
bool loopback_up() {
    const int s = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) {
        return false;
    }
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    auto* addr = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(0xc6120001);  // 198.18.0.1
    bool ok = ::ioctl(s, SIOCSIFADDR, &ifr) == 0;
    ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    ok = ok && ::ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
    ::close(s);
    return ok;
}

/// How many of the datagrams `tx` sends to `rx`'s address arrive at `rx` (waiting up to 200 ms
/// after the last one).
int send_round(int tx, int rx, const sockaddr_in& to) {
    for (int i = 0; i < kDatagrams; ++i) {
        const char msg[] = "sockfilter attach test";
        if (::sendto(tx, msg, sizeof msg, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
            return -1;
        }
    }
    int received = 0;
    pollfd p{rx, POLLIN, 0};
    while (::poll(&p, 1, 200) == 1) {
        char buf[64];
        if (::recv(rx, buf, sizeof buf, MSG_DONTWAIT) > 0) {
            ++received;
        }
    }
    return received;
}

/// The child: a UDP socket in a namespace of its own. Writes its socket's descriptor number and
/// the number of a descriptor that is not a socket (its command pipe), then answers each 's' on
/// the command pipe with the number of datagrams received in one round; exits at end of input.
[[noreturn]] void child_main(int commands, int replies) {
    if (::unshare(CLONE_NEWNET) != 0 || !loopback_up()) {
        ::_exit(10);
    }
    const int rx = ::socket(AF_INET, SOCK_DGRAM, 0);
    const int tx = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(0xc6120001);
    socklen_t len = sizeof addr;
    if (rx < 0 || tx < 0 || ::bind(rx, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(rx, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::_exit(11);
    }
    const int fds[2] = {rx, commands};
    if (::write(replies, fds, sizeof fds) != sizeof fds) {
        ::_exit(12);
    }
    char c = 0;
    while (::read(commands, &c, 1) == 1) {
        const int n = send_round(tx, rx, addr);
        if (::write(replies, &n, sizeof n) != sizeof n) {
            ::_exit(13);
        }
    }
    ::_exit(0);
}

/// The child process, killed and reaped on destruction.
class Child {
public:
    Child() {
        int cmd[2], rep[2];
        if (::pipe(cmd) != 0 || ::pipe(rep) != 0) {
            return;
        }
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(cmd[1]);
            ::close(rep[0]);
            child_main(cmd[0], rep[1]);
        }
        ::close(cmd[0]);
        ::close(rep[1]);
        commands_ = cmd[1];
        replies_ = rep[0];
        int fds[2] = {-1, -1};
        if (::read(replies_, fds, sizeof fds) == sizeof fds) {
            socket_fd_ = fds[0];
            pipe_fd_ = fds[1];
        }
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        if (commands_ >= 0) {
            ::close(commands_);
        }
        if (replies_ >= 0) {
            ::close(replies_);
        }
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }

    [[nodiscard]] bool ready() const { return socket_fd_ >= 0; }
    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] int socket_fd() const { return socket_fd_; }
    [[nodiscard]] int pipe_fd() const { return pipe_fd_; }

    /// One round of datagrams; how many the child's socket received (-1 on failure).
    int round() {
        const char c = 's';
        int n = -1;
        if (::write(commands_, &c, 1) != 1 || ::read(replies_, &n, sizeof n) != sizeof n) {
            return -1;
        }
        return n;
    }

private:
    pid_t pid_ = -1;
    int commands_ = -1;
    int replies_ = -1;
    int socket_fd_ = -1;
    int pipe_fd_ = -1;
};

class AttachCliTest : public KernelTest {
protected:
    std::string target(const Child& c, int fd) const {
        return " --pid " + std::to_string(c.pid()) + " --fd " + std::to_string(fd);
    }
    TempDir dir_;
};

TEST_F(AttachCliTest, FiltersDecideWhatTheOtherProcessReceives) {
    const std::string drop = dir_.write("drop.s", "r0 = 0\nexit\n");
    const std::string keep = dir_.write("keep.s", "r0 = -1\nexit\n");
    Child child;
    ASSERT_TRUE(child.ready()) << "the child could not set up its namespace and socket";
    ASSERT_EQ(child.round(), kDatagrams);

    auto r = run_sockfilter("attach " + drop + target(child, child.socket_fd()));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output, "attached " + drop + " to fd " + std::to_string(child.socket_fd()) + " of process " +
                            std::to_string(child.pid()) + "\n");
    EXPECT_EQ(child.round(), 0);  // the filter outlives the command

    r = run_sockfilter("attach " + keep + target(child, child.socket_fd()));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(child.round(), kDatagrams);

    r = run_sockfilter("attach " + drop + target(child, child.socket_fd()));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(child.round(), 0);
    r = run_sockfilter("detach" + target(child, child.socket_fd()));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(child.round(), kDatagrams);

    r = run_sockfilter("detach" + target(child, child.socket_fd()));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("the socket has no filter"), std::string::npos) << r.output;
}

TEST_F(AttachCliTest, LockedFilterStays) {
    const std::string drop = dir_.write("drop.s", "r0 = 0\nexit\n");
    const std::string keep = dir_.write("keep.s", "r0 = -1\nexit\n");
    Child child;
    ASSERT_TRUE(child.ready());
    auto r = run_sockfilter("attach " + drop + target(child, child.socket_fd()) + " --lock");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("locked: the filter can no longer be replaced or removed"), std::string::npos);
    r = run_sockfilter("detach" + target(child, child.socket_fd()));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("locked with SO_LOCK_FILTER"), std::string::npos) << r.output;
    r = run_sockfilter("attach " + keep + target(child, child.socket_fd()));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("locked with SO_LOCK_FILTER"), std::string::npos) << r.output;
    EXPECT_EQ(child.round(), 0);
}

TEST_F(AttachCliTest, ErrorsNameWhatIsMissing) {
    const std::string drop = dir_.write("drop.s", "r0 = 0\nexit\n");
    Child child;
    ASSERT_TRUE(child.ready());

    const pid_t gone = ::fork();
    if (gone == 0) {
        ::_exit(0);
    }
    ::waitpid(gone, nullptr, 0);
    auto r = run_sockfilter("attach " + drop + " --pid " + std::to_string(gone) + " --fd 3");
    EXPECT_EQ(r.status, 3);
    EXPECT_EQ(r.output, "sockfilter attach: no process with id " + std::to_string(gone) + "\n");

    r = run_sockfilter("attach " + drop + target(child, 900));
    EXPECT_EQ(r.status, 3);
    EXPECT_EQ(r.output, "sockfilter attach: process " + std::to_string(child.pid()) + " has no file descriptor 900\n");

    r = run_sockfilter("detach" + target(child, child.pipe_fd()));
    EXPECT_EQ(r.status, 3);
    EXPECT_EQ(r.output, "sockfilter detach: file descriptor " + std::to_string(child.pipe_fd()) + " of process " +
                            std::to_string(child.pid()) + " is not a socket (it is a pipe)\n");

    r = run_sockfilter("attach " + dir_.write("bad.s", "r0 = \nexit\n") + target(child, child.socket_fd()));
    EXPECT_EQ(r.status, 3) << r.output;
    EXPECT_EQ(child.round(), kDatagrams);  // nothing was attached
}

}  // namespace
}  // namespace sockfilter::testing
