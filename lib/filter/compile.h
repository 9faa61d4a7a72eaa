// SPDX-License-Identifier: MIT
// The pcap-filter compiler's entry point: expression text → eBPF socket filter (docs/FILTER.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "filter/ast.h"
#include "program/program.h"
#include "support/result.h"

namespace sockfilter::filter {

/// Where offset 0 of the packet is for the socket the filter runs on.
enum class Socket : std::uint8_t {
    Packet,       ///< AF_PACKET SOCK_RAW: the link-layer header (the default)
    PacketDgram,  ///< AF_PACKET SOCK_DGRAM: the network-layer header; skb->protocol has the type
};

/// What the compiler targets.
struct Options {
    int linktype = 1;                  ///< a DLT value (runtime::dlt): EN10MB, LINUX_SLL(2), RAW, IPV4, IPV6, NULL, LOOP
    Socket socket = Socket::Packet;
    std::uint32_t snaplen = 262144;    ///< what a match returns (tcpdump's default)
};

/// Parses "EN10MB", "LINUX_SLL", "LINUX_SLL2", "RAW", "IPV4", "IPV6", "NULL", "LOOP" (any case,
/// with or without "DLT_"), or a DLT number.
[[nodiscard]] Result<int> parse_linktype(std::string_view text);
/// The name of a supported DLT value.
[[nodiscard]] std::string linktype_name(int linktype);
/// Parses "packet" or "packet-dgram".
[[nodiscard]] Result<Socket> parse_socket(std::string_view text);

/// Whether a live socket of kind `packet` sees the link header of captures of this type as they
/// record it: EN10MB (the frame), RAW, IPV4, IPV6 (no link header). LINUX_SLL/SLL2 headers are
/// made by libpcap from the metadata and NULL/LOOP headers are not part of the packet, so their
/// filters run on packet-dgram sockets and read protocol, direction and ifindex from __sk_buff.
[[nodiscard]] bool has_socket_link_header(int linktype);
/// packet where has_socket_link_header, else packet-dgram (what `compile` uses without --socket).
[[nodiscard]] Socket default_socket(int linktype);

/// Compiles a parsed expression. Errors: a link type not supported, `packet` for a link type
/// whose header sockets do not see, and every expression error with its column.
[[nodiscard]] Result<program::Program> compile(const Expr& expr, const Options& options);
/// Parses and compiles `text`; errors carry the column (`expression:1:<col>: ...`).
[[nodiscard]] Result<program::Program> compile(std::string_view text, const Options& options);

}  // namespace sockfilter::filter
