// SPDX-License-Identifier: MIT
// Network namespaces for tests that use real sockets: uniquely named namespaces, a veth pair
// between two of them with fixed addresses and no unsolicited traffic, and running code inside a
// namespace. Everything made here is removed when its owner is destroyed.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "support/result.h"

namespace sockfilter::testing::netns {

using Mac = std::array<std::uint8_t, 6>;
using Ipv4 = std::array<std::uint8_t, 4>;
using Ipv6 = std::array<std::uint8_t, 16>;

/// Runs `argv` (argv[0] looked up in PATH) and returns what it wrote (standard output and error).
/// A failure to start it or a non-zero exit is an Errc::Io error "<the command line> failed: <its
/// output>", e.g. `ip netns add sfnt-7-0 failed: Cannot create namespace file ...`.
[[nodiscard]] Result<std::string> run_command(const std::vector<std::string>& argv);

/// A named network namespace (`ip netns add`), deleted (`ip netns del`) on destruction. Names are
/// "sfnt-<pid>-<n>", so concurrent test processes never share one; create() also deletes the
/// namespaces of earlier test processes that no longer exist (a crashed run leaves them behind).
class Namespace {
public:
    /// Creates a new, empty namespace (only `lo`, down).
    [[nodiscard]] static Result<Namespace> create();

    Namespace(Namespace&& other) noexcept : name_(std::move(other.name_)) { other.name_.clear(); }
    Namespace& operator=(Namespace&& other) noexcept;
    Namespace(const Namespace&) = delete;
    Namespace& operator=(const Namespace&) = delete;
    ~Namespace();

    /// The name `ip -n NAME` and /run/netns/NAME know it by.
    [[nodiscard]] const std::string& name() const { return name_; }

private:
    explicit Namespace(std::string name) : name_(std::move(name)) {}
    std::string name_;
};

/// While alive, the calling thread is in namespace `ns` (setns): sockets it creates belong there,
/// and /proc/sys/net is that namespace's. Destruction moves the thread back to the namespace it
/// was in; it must happen on the thread that entered (moving the scope keeps that obligation).
class Inside {
public:
    /// Enters `ns`; errors name the namespace and the errno.
    [[nodiscard]] static Result<Inside> enter(const Namespace& ns);

    Inside(Inside&& other) noexcept : saved_(other.saved_) { other.saved_ = -1; }
    Inside& operator=(Inside&&) = delete;
    Inside(const Inside&) = delete;
    Inside& operator=(const Inside&) = delete;
    ~Inside();

private:
    explicit Inside(int saved) : saved_(saved) {}
    int saved_ = -1;  // fd of the thread's original network namespace
};

/// Calls `f()` inside `ns` and returns its result; `f` returns a Result.
template <class F>
auto in(const Namespace& ns, F&& f) -> decltype(f()) {
    auto scope = Inside::enter(ns);
    if (!scope) {
        return tl::unexpected(std::move(scope.error()));
    }
    return f();
}

/// Writes `value` to /proc/sys/<key> (key with '/' separators, e.g. "net/ipv6/conf/default/accept_dad")
/// in the calling thread's network namespace.
[[nodiscard]] Result<void> write_sysctl(const std::string& key, const std::string& value);

/// One end of a VethPair.
struct Endpoint {
    const Namespace* ns = nullptr;  ///< the namespace it lives in (owned by the VethPair)
    std::string ifname;             ///< the device name inside that namespace
    int ifindex = 0;                ///< its ifindex inside that namespace
    Mac mac{};
    Ipv4 ip4{};                     ///< 198.18.0.1 (a) or 198.18.0.2 (b), prefix /24
    Ipv6 ip6{};                     ///< 2001:2::1 (a) or 2001:2::2 (b), prefix /64; unused without IPv6
    bool ipv6 = true;               ///< whether the device has IPv6 enabled
};

/// What a VethPair sets up.
struct PairOptions {
    /// IPv6 on end a. An end with IPv6 sends MLD reports for its addresses when the link comes
    /// up (nothing can turn them off); a sender that only writes frames through a packet socket
    /// does not need it, so traffic reaching b is then exactly what the test sends.
    bool ipv6_a = false;
    bool ipv6_b = true;  ///< IPv6 on end b
};

/// Two fresh namespaces joined by a veth pair, links up, addresses in 198.18.0.0/15 and
/// 2001:2::/48, permanent neighbour entries for each other (no ARP or neighbour discovery), and
/// no unsolicited IPv6 traffic: DAD, router solicitations, router advertisements and link-local
/// addresses are off. The only frames one end then receives are those the other end sends.
/// Destroying it deletes both namespaces and with them the devices.
class VethPair {
public:
    [[nodiscard]] static Result<VethPair> create(const PairOptions& opts = {});

    [[nodiscard]] const Endpoint& a() const { return a_; }
    [[nodiscard]] const Endpoint& b() const { return b_; }

    VethPair(VethPair&& other) noexcept;
    VethPair& operator=(VethPair&&) = delete;
    VethPair(const VethPair&) = delete;
    VethPair& operator=(const VethPair&) = delete;
    ~VethPair() = default;

private:
    VethPair(Namespace na, Namespace nb) : ns_a_(std::move(na)), ns_b_(std::move(nb)) {}
    Namespace ns_a_;
    Namespace ns_b_;
    Endpoint a_;
    Endpoint b_;
};

/// Text forms for `ip` and messages: "02:00:00:00:00:01", "198.18.0.1", "2001:2::1".
[[nodiscard]] std::string to_string(const Mac& mac);
[[nodiscard]] std::string to_string(const Ipv4& ip);
[[nodiscard]] std::string to_string(const Ipv6& ip);

}  // namespace sockfilter::testing::netns
