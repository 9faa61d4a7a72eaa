// SPDX-License-Identifier: MIT
// Name resolution through libc: getaddrinfo, ether_hostton, getservbyname, getprotobyname.
#include "filter/names.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/ether.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <string_view>

namespace sockfilter::filter {

Result<HostAddrs> resolve_host(const std::string& name) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(name.c_str(), nullptr, &hints, &res);
    if (rc != 0) {
        return fail(Errc::Parse, "unknown host '{}': {}", name, gai_strerror(rc));
    }
    HostAddrs out;
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            sockaddr_in sin{};
            std::memcpy(&sin, ai->ai_addr, sizeof sin);
            const std::uint32_t a = ntohl(sin.sin_addr.s_addr);
            if (std::find(out.v4.begin(), out.v4.end(), a) == out.v4.end()) {
                out.v4.push_back(a);
            }
        } else if (ai->ai_family == AF_INET6) {
            sockaddr_in6 sin6{};
            std::memcpy(&sin6, ai->ai_addr, sizeof sin6);
            std::array<std::uint8_t, 16> a{};
            std::memcpy(a.data(), sin6.sin6_addr.s6_addr, 16);
            if (std::find(out.v6.begin(), out.v6.end(), a) == out.v6.end()) {
                out.v6.push_back(a);
            }
        }
    }
    freeaddrinfo(res);
    if (out.v4.empty() && out.v6.empty()) {
        return fail(Errc::Parse, "unknown host '{}': no IPv4 or IPv6 address", name);
    }
    return out;
}

Result<std::array<std::uint8_t, 6>> resolve_ether(const std::string& name) {
    ether_addr ea{};
    if (ether_hostton(name.c_str(), &ea) != 0) {
        return fail(Errc::Parse, "unknown Ethernet host '{}' (not in /etc/ethers)", name);
    }
    std::array<std::uint8_t, 6> out{};
    std::memcpy(out.data(), ea.ether_addr_octet, 6);
    return out;
}

std::optional<std::uint16_t> resolve_service(const std::string& name, const char* proto) {
    servent* s = getservbyname(name.c_str(), proto);
    if (s == nullptr) {
        return std::nullopt;
    }
    return ntohs(static_cast<std::uint16_t>(s->s_port));
}

std::optional<std::uint8_t> resolve_ip_proto(const std::string& name) {
    protoent* p = getprotobyname(name.c_str());
    if (p == nullptr || p->p_proto < 0 || p->p_proto > 255) {
        return std::nullopt;
    }
    return static_cast<std::uint8_t>(p->p_proto);
}

std::optional<std::uint16_t> resolve_ether_proto(const std::string& name) {
    // libpcap's built-in table (nametoaddr.c eproto_db), less the refused families, plus the LLC
    // SAP names of its llc_db.
    struct Entry {
        std::string_view name;
        std::uint16_t value;
    };
    static constexpr Entry kTable[] = {
        {"pup", 0x0200}, {"xns", 0x0600}, {"ip", 0x0800}, {"ip6", 0x86dd}, {"arp", 0x0806},
        {"rarp", 0x8035}, {"sprite", 0x0500}, {"lanbridge", 0x8038}, {"vexp", 0x805b}, {"vprod", 0x805c},
        {"loopback", 0x9000}, {"lldp", 0x88cc}, {"802.1q", 0x8100}, {"vlan", 0x8100}, {"mpls", 0x8847},
        {"pppoed", 0x8863}, {"pppoes", 0x8864}, {"slow", 0x8809}, {"stp", 0x42},
    };
    for (const auto& e : kTable) {
        if (e.name == name) {
            return e.value;
        }
    }
    return std::nullopt;
}

}  // namespace sockfilter::filter
