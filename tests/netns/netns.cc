// SPDX-License-Identifier: MIT
// Namespaces through `ip netns`, setns scopes and the veth pair set-up.
#include "netns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

extern char** environ;

namespace sockfilter::testing::netns {

namespace {

constexpr const char* kNetnsDir = "/run/netns";
constexpr const char* kPrefix = "sfnt-";

/// Closes a descriptor on scope exit.
struct CloseFd {
    int fd;
    ~CloseFd() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

Error sys_error(const std::string& what) {
    const int e = errno;
    Error err{Errc::Io, fmt::format("{}: {}", what, std::strerror(e)), {}, {}, e};
    return err;
}

/// The namespaces earlier test processes left behind: "sfnt-<pid>-<n>" with no process <pid>.
void delete_stale_namespaces() {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(kNetnsDir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(kPrefix, 0) != 0) {
            continue;
        }
        const long pid = std::strtol(name.c_str() + std::strlen(kPrefix), nullptr, 10);
        if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) {
            (void)run_command({"ip", "netns", "del", name});
        }
    }
}

}  // namespace

Result<std::string> run_command(const std::vector<std::string>& argv) {
    std::string what;
    for (const auto& a : argv) {
        what += (what.empty() ? "" : " ") + a;
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return tl::unexpected(sys_error(what + " failed: pipe"));
    }
    CloseFd read_end{fds[0]};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
        errno = rc;
        return tl::unexpected(sys_error(what + " failed: cannot run " + argv[0]));
    }
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) != 0;) {
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
            out.pop_back();
        }
        return fail(Errc::Io, "{} failed: {}", what,
                    out.empty() ? fmt::format("exit status {}", WEXITSTATUS(status)) : out);
    }
    return out;
}

Result<Namespace> Namespace::create() {
    static std::atomic<unsigned> counter{0};
    static const bool swept = (delete_stale_namespaces(), true);
    (void)swept;
    std::string name = fmt::format("{}{}-{}", kPrefix, ::getpid(), counter++);
    if (auto r = run_command({"ip", "netns", "add", name}); !r) {
        return tl::unexpected(std::move(r.error()));
    }
    return Namespace(std::move(name));
}

Namespace& Namespace::operator=(Namespace&& other) noexcept {
    if (this != &other) {
        Namespace old(std::move(*this));
        name_ = std::move(other.name_);
        other.name_.clear();
    }
    return *this;
}

Namespace::~Namespace() {
    if (name_.empty()) {
        return;
    }
    if (auto r = run_command({"ip", "netns", "del", name_}); !r) {
        std::fprintf(stderr, "cannot delete network namespace %s: %s\n", name_.c_str(), r.error().render().c_str());
    }
}

Result<Inside> Inside::enter(const Namespace& ns) {
    const int saved = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved < 0) {
        return tl::unexpected(sys_error("cannot open the current network namespace"));
    }
    Inside scope(saved);
    const std::string path = std::string(kNetnsDir) + "/" + ns.name();
    const int target = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (target < 0) {
        return tl::unexpected(sys_error("cannot open network namespace " + path));
    }
    CloseFd close_target{target};
    if (::setns(target, CLONE_NEWNET) != 0) {
        return tl::unexpected(sys_error("setns into network namespace " + ns.name() + " failed"));
    }
    return scope;
}

Inside::~Inside() {
    if (saved_ < 0) {
        return;
    }
    if (::setns(saved_, CLONE_NEWNET) != 0) {
        // Going on in the wrong namespace could send test traffic outside it.
        std::fprintf(stderr, "cannot return to the original network namespace: %s\n", std::strerror(errno));
        std::abort();
    }
    ::close(saved_);
}

Result<void> write_sysctl(const std::string& key, const std::string& value) {
    const std::string path = "/proc/sys/" + key;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return tl::unexpected(sys_error("cannot open " + path));
    }
    CloseFd close_fd{fd};
    if (::write(fd, value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
        return tl::unexpected(sys_error("cannot write " + value + " to " + path));
    }
    return {};
}

std::string to_string(const Mac& mac) {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

std::string to_string(const Ipv4& ip) { return fmt::format("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]); }

std::string to_string(const Ipv6& ip) {
    char buf[64];
    const char* s = ::inet_ntop(AF_INET6, ip.data(), buf, sizeof(buf));
    return s == nullptr ? std::string("?") : std::string(s);
}

namespace {

/// The IPv6 settings of new devices in the calling thread's namespace: no DAD, router
/// solicitations, router advertisements or link-local address; IPv6 itself off if `ipv6` is false.
Result<void> quiet_ipv6_defaults(bool ipv6) {
    for (const char* conf : {"all", "default"}) {
        for (const auto& [key, value] : {std::pair{"accept_dad", "0"}, std::pair{"dad_transmits", "0"},
                                         std::pair{"router_solicitations", "0"}, std::pair{"accept_ra", "0"}}) {
            if (auto r = write_sysctl(fmt::format("net/ipv6/conf/{}/{}", conf, key), value); !r) {
                return r;
            }
        }
    }
    if (auto r = write_sysctl("net/ipv6/conf/default/addr_gen_mode", "1"); !r) {
        return r;
    }
    return write_sysctl("net/ipv6/conf/default/disable_ipv6", ipv6 ? "0" : "1");
}

Result<void> ip(const Namespace& ns, std::vector<std::string> args) {
    args.insert(args.begin(), {"ip", "-n", ns.name()});
    auto r = run_command(args);
    if (!r) {
        return tl::unexpected(std::move(r.error()));
    }
    return {};
}

Result<int> ifindex_in(const Namespace& ns, const std::string& ifname) {
    return in(ns, [&]() -> Result<int> {
        const unsigned idx = ::if_nametoindex(ifname.c_str());
        if (idx == 0) {
            return tl::unexpected(sys_error("no device " + ifname + " in network namespace " + ns.name()));
        }
        return static_cast<int>(idx);
    });
}

}  // namespace

VethPair::VethPair(VethPair&& other) noexcept
    : ns_a_(std::move(other.ns_a_)), ns_b_(std::move(other.ns_b_)), a_(other.a_), b_(other.b_) {
    a_.ns = &ns_a_;
    b_.ns = &ns_b_;
}

Result<VethPair> VethPair::create(const PairOptions& opts) {
    auto na = Namespace::create();
    if (!na) {
        return tl::unexpected(std::move(na.error()));
    }
    auto nb = Namespace::create();
    if (!nb) {
        return tl::unexpected(std::move(nb.error()));
    }
    VethPair p(std::move(*na), std::move(*nb));
    p.a_ = Endpoint{&p.ns_a_, "sfa", 0, {0x02, 0x00, 0x00, 0x5f, 0x00, 0x01}, {198, 18, 0, 1},
                    {0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}, opts.ipv6_a};
    p.b_ = Endpoint{&p.ns_b_, "sfb", 0, {0x02, 0x00, 0x00, 0x5f, 0x00, 0x02}, {198, 18, 0, 2},
                    {0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02}, opts.ipv6_b};
    for (const Endpoint* e : {&p.a_, &p.b_}) {
        if (auto r = in(*e->ns, [&] { return quiet_ipv6_defaults(e->ipv6); }); !r) {
            return tl::unexpected(std::move(r.error()).with_context("network namespace " + e->ns->name()));
        }
    }
    if (auto r = ip(p.ns_a_, {"link", "add", p.a_.ifname, "address", to_string(p.a_.mac), "type", "veth", "peer",
                              "name", p.b_.ifname, "address", to_string(p.b_.mac), "netns", p.ns_b_.name()});
        !r) {
        return tl::unexpected(std::move(r.error()));
    }
    for (auto [self, peer] : {std::pair{&p.a_, &p.b_}, std::pair{&p.b_, &p.a_}}) {
        const Namespace& ns = *self->ns;
        std::vector<std::vector<std::string>> cmds = {
            {"addr", "add", to_string(self->ip4) + "/24", "dev", self->ifname},
            {"neigh", "replace", to_string(peer->ip4), "lladdr", to_string(peer->mac), "dev", self->ifname, "nud",
             "permanent"},
        };
        if (self->ipv6) {
            cmds.push_back({"addr", "add", to_string(self->ip6) + "/64", "dev", self->ifname, "nodad"});
            cmds.push_back({"neigh", "replace", to_string(peer->ip6), "lladdr", to_string(peer->mac), "dev",
                            self->ifname, "nud", "permanent"});
        }
        cmds.push_back({"link", "set", self->ifname, "up"});
        for (auto& c : cmds) {
            if (auto r = ip(ns, std::move(c)); !r) {
                return tl::unexpected(std::move(r.error()));
            }
        }
        auto idx = ifindex_in(ns, self->ifname);
        if (!idx) {
            return tl::unexpected(std::move(idx.error()));
        }
        self->ifindex = *idx;
    }
    return Result<VethPair>(std::move(p));
}

}  // namespace sockfilter::testing::netns
