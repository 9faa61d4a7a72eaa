// SPDX-License-Identifier: MIT
// The tokens of the pcap-filter language (libpcap's scanner.l, re-expressed): keywords, numbers,
// IPv4/IPv6/MAC addresses, identifiers and operators, each with its column.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "support/result.h"

namespace sockfilter::filter {

/// Token kinds. Keywords are grouped by the grammar role they play.
enum class Tok : std::uint8_t {
    End,
    Num,    ///< decimal, 0x hex or 0-prefixed octal
    Hid,    ///< dotted IPv4 address with 2 to 4 parts (one part is a Num)
    Hid6,   ///< IPv6 address
    Eid,    ///< Ethernet address
    Id,     ///< identifier (a name; `\name` escapes a keyword)
    // keywords
    Src, Dst, Host, Net, Mask, Port, Portrange, ProtoKw, Protochain, Gateway,
    Less, Greater, Byte, Broadcast, Multicast, Inbound, Outbound, Ifindex, Len,
    Vlan, Mpls, Pppoed, Pppoes, Geneve, Vxlan, Llc, Batadv,
    And, Or, Not,
    Pname,    ///< a protocol keyword that has a Proto (ip, tcp, ether ...); Token::proto says which
    Refused,  ///< a keyword of a family sockfilter refuses; Token::family names it
    // operators
    LParen, RParen, LBracket, RBracket, Colon,
    Gt, Ge, Eq, Le, Lt, Ne, Plus, Minus, Star, Slash, Percent, Amp, Pipe, Caret, Lsh, Rsh,
};

/// One token: its kind, its text and its 1-based column.
struct Token {
    Tok kind = Tok::End;
    std::string text;
    std::uint32_t col = 0;
    std::uint8_t proto = 0;     ///< Pname: the filter::Proto value
    std::string family;         ///< Refused: the family, e.g. "DECnet"
};

/// Splits an expression into tokens; errors carry the column of the offending character.
[[nodiscard]] Result<std::vector<Token>> tokenize(std::string_view text);

/// What a token kind looks like in an error message ("'and'", "a number", "end of expression").
[[nodiscard]] std::string describe(Tok kind);

/// The family a refused keyword or name belongs to ("DECnet", "AppleTalk" ...), or empty.
[[nodiscard]] std::string refused_family(std::string_view word);

}  // namespace sockfilter::filter
