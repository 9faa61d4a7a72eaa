// SPDX-License-Identifier: MIT
// Names in expressions, through the system databases as libpcap resolves them: hosts
// (getaddrinfo), Ethernet names (/etc/ethers), services (/etc/services) and IP protocols
// (/etc/protocols), plus libpcap's built-in Ethernet-type names.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/result.h"

namespace sockfilter::filter {

/// The IPv4 (host order) and IPv6 addresses of a host name.
struct HostAddrs {
    std::vector<std::uint32_t> v4;
    std::vector<std::array<std::uint8_t, 16>> v6;
};

/// Resolves a host name; an error when it has no address.
[[nodiscard]] Result<HostAddrs> resolve_host(const std::string& name);
/// Resolves an Ethernet host name through /etc/ethers.
[[nodiscard]] Result<std::array<std::uint8_t, 6>> resolve_ether(const std::string& name);
/// The port of a service name for "tcp" or "udp"; nullopt when it has none for that protocol.
[[nodiscard]] std::optional<std::uint16_t> resolve_service(const std::string& name, const char* proto);
/// The number of an IP protocol name (getprotobyname), or nullopt.
[[nodiscard]] std::optional<std::uint8_t> resolve_ip_proto(const std::string& name);
/// The Ethernet type or LLC SAP of a name usable after `ether proto` ("ip", "arp", "lldp" ...),
/// or nullopt.
[[nodiscard]] std::optional<std::uint16_t> resolve_ether_proto(const std::string& name);

}  // namespace sockfilter::filter
