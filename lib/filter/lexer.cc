// SPDX-License-Identifier: MIT
// The pcap-filter scanner: the longest of the number, address and identifier readings wins, as
// in libpcap's flex scanner; identifiers that spell a keyword become that keyword.
#include "filter/lexer.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "filter/ast.h"

namespace sockfilter::filter {
namespace {

struct Keyword {
    std::string_view word;
    Tok kind;
    Proto proto = Proto::Default;
};

constexpr Keyword kKeywords[] = {
    {"src", Tok::Src}, {"dst", Tok::Dst}, {"host", Tok::Host}, {"net", Tok::Net}, {"mask", Tok::Mask},
    {"port", Tok::Port}, {"portrange", Tok::Portrange}, {"proto", Tok::ProtoKw},
    {"protochain", Tok::Protochain}, {"less", Tok::Less}, {"greater", Tok::Greater},
    {"byte", Tok::Byte}, {"broadcast", Tok::Broadcast}, {"multicast", Tok::Multicast},
    {"inbound", Tok::Inbound}, {"outbound", Tok::Outbound}, {"ifindex", Tok::Ifindex}, {"len", Tok::Len},
    {"length", Tok::Len}, {"vlan", Tok::Vlan}, {"mpls", Tok::Mpls}, {"pppoed", Tok::Pppoed},
    {"pppoes", Tok::Pppoes}, {"geneve", Tok::Geneve}, {"vxlan", Tok::Vxlan}, {"llc", Tok::Llc},
    {"batadv", Tok::Batadv}, {"and", Tok::And}, {"or", Tok::Or}, {"not", Tok::Not},
    {"link", Tok::Pname, Proto::Link}, {"ether", Tok::Pname, Proto::Link}, {"fddi", Tok::Pname, Proto::Link},
    {"tr", Tok::Pname, Proto::Link}, {"wlan", Tok::Pname, Proto::Link}, {"ppp", Tok::Pname, Proto::Link},
    {"slip", Tok::Pname, Proto::Link}, {"ip", Tok::Pname, Proto::Ip}, {"ip6", Tok::Pname, Proto::Ip6},
    {"arp", Tok::Pname, Proto::Arp}, {"rarp", Tok::Pname, Proto::Rarp}, {"tcp", Tok::Pname, Proto::Tcp},
    {"udp", Tok::Pname, Proto::Udp}, {"sctp", Tok::Pname, Proto::Sctp}, {"icmp", Tok::Pname, Proto::Icmp},
    {"icmp6", Tok::Pname, Proto::Icmp6}, {"igmp", Tok::Pname, Proto::Igmp}, {"igrp", Tok::Pname, Proto::Igrp},
    {"pim", Tok::Pname, Proto::Pim}, {"vrrp", Tok::Pname, Proto::Vrrp}, {"carp", Tok::Pname, Proto::Carp},
    {"ah", Tok::Pname, Proto::Ah}, {"esp", Tok::Pname, Proto::Esp}, {"stp", Tok::Pname, Proto::Stp},
    {"radio", Tok::Pname, Proto::Radio},
};

struct Constant {
    std::string_view word;
    std::uint32_t value;
};

// Names libpcap's scanner turns into numbers: header fields and values of TCP, ICMP and ICMPv6.
constexpr Constant kConstants[] = {
    {"tcpflags", 13}, {"tcp-fin", 0x01}, {"tcp-syn", 0x02}, {"tcp-rst", 0x04}, {"tcp-push", 0x08},
    {"tcp-ack", 0x10}, {"tcp-urg", 0x20}, {"tcp-ece", 0x40}, {"tcp-cwr", 0x80},
    {"icmptype", 0}, {"icmpcode", 1}, {"icmp-echoreply", 0}, {"icmp-unreach", 3}, {"icmp-sourcequench", 4},
    {"icmp-redirect", 5}, {"icmp-echo", 8}, {"icmp-routeradvert", 9}, {"icmp-routersolicit", 10},
    {"icmp-timxceed", 11}, {"icmp-paramprob", 12}, {"icmp-tstamp", 13}, {"icmp-tstampreply", 14},
    {"icmp-ireq", 15}, {"icmp-ireqreply", 16}, {"icmp-maskreq", 17}, {"icmp-maskreply", 18},
    {"icmp6type", 0}, {"icmp6code", 1}, {"icmp6-destinationunreach", 1}, {"icmp6-packettoobig", 2},
    {"icmp6-timeexceeded", 3}, {"icmp6-parameterproblem", 4}, {"icmp6-echo", 128}, {"icmp6-echoreply", 129},
    {"icmp6-multicastlistenerquery", 130}, {"icmp6-multicastlistenerreportv1", 131},
    {"icmp6-multicastlistenerdone", 132}, {"icmp6-routersolicit", 133}, {"icmp6-routeradvert", 134},
    {"icmp6-neighborsolicit", 135}, {"icmp6-neighboradvert", 136}, {"icmp6-redirect", 137},
    {"icmp6-routerrenum", 138}, {"icmp6-nodeinformationquery", 139}, {"icmp6-nodeinformationresponse", 140},
    {"icmp6-ineighbordiscoverysolicit", 141}, {"icmp6-ineighbordiscoveryadvert", 142},
    {"icmp6-multicastlistenerreportv2", 143}, {"icmp6-homeagentdiscoveryrequest", 144},
    {"icmp6-homeagentdiscoveryreply", 145}, {"icmp6-mobileprefixsolicit", 146}, {"icmp6-mobileprefixadvert", 147},
    {"icmp6-certpathsolicit", 148}, {"icmp6-certpathadvert", 149}, {"icmp6-multicastrouteradvert", 151},
    {"icmp6-multicastroutersolicit", 152}, {"icmp6-multicastrouterterm", 153},
};

struct Family {
    std::string_view word;
    std::string_view family;
};

// Keywords of the link types and legacy families sockfilter refuses (docs/FILTER.md).
constexpr Family kRefused[] = {
    {"gateway", "gateway (host name to Ethernet and IP address)"},
    {"decnet", "DECnet"}, {"atalk", "AppleTalk"}, {"aarp", "AppleTalk"}, {"ipx", "IPX"},
    {"iso", "OSI"}, {"clnp", "OSI"}, {"esis", "OSI"}, {"es-is", "OSI"}, {"isis", "OSI"}, {"is-is", "OSI"},
    {"l1", "OSI"}, {"l2", "OSI"}, {"iih", "OSI"}, {"lsp", "OSI"}, {"snp", "OSI"}, {"csnp", "OSI"},
    {"psnp", "OSI"}, {"lat", "DEC LAT"}, {"mopdl", "DEC MOP"}, {"moprc", "DEC MOP"}, {"sca", "DEC SCA"},
    {"netbeui", "NetBEUI"},
    {"on", "pflog"}, {"ifname", "pflog"}, {"rset", "pflog"}, {"ruleset", "pflog"}, {"rnr", "pflog"},
    {"rulenum", "pflog"}, {"srnr", "pflog"}, {"subrulenum", "pflog"}, {"reason", "pflog"}, {"action", "pflog"},
    {"lane", "SunATM"}, {"metac", "SunATM"}, {"bcc", "SunATM"}, {"sc", "SunATM"}, {"ilmic", "SunATM"},
    {"oamf4ec", "SunATM"}, {"oamf4sc", "SunATM"}, {"oam", "SunATM"}, {"oamf4", "SunATM"},
    {"connectmsg", "SunATM"}, {"metaconnect", "SunATM"}, {"vpi", "SunATM"}, {"vci", "SunATM"},
    {"fisu", "SS7"}, {"lssu", "SS7"}, {"msu", "SS7"}, {"hfisu", "SS7"}, {"hlssu", "SS7"}, {"hmsu", "SS7"},
    {"sio", "SS7"}, {"opc", "SS7"}, {"dpc", "SS7"}, {"sls", "SS7"}, {"hsio", "SS7"}, {"hopc", "SS7"},
    {"hdpc", "SS7"}, {"hsls", "SS7"},
    {"type", "802.11"}, {"subtype", "802.11"}, {"dir", "802.11"}, {"direction", "802.11"},
    {"addr1", "802.11"}, {"addr2", "802.11"}, {"addr3", "802.11"}, {"addr4", "802.11"},
    {"address1", "802.11"}, {"address2", "802.11"}, {"address3", "802.11"}, {"address4", "802.11"},
    {"ra", "802.11"}, {"ta", "802.11"},
};

bool is_id_start(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }
bool is_id_char(char c) { return is_id_start(c) || c == '-' || c == '.'; }
bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

/// Length of an identifier at `s` (libpcap: [A-Za-z0-9_][-_.A-Za-z0-9]*, not ending in '-' or '.').
std::size_t id_length(std::string_view s) {
    if (s.empty() || !is_id_start(s[0])) {
        return 0;
    }
    std::size_t n = 1;
    while (n < s.size() && is_id_char(s[n])) {
        ++n;
    }
    while (n > 1 && (s[n - 1] == '-' || s[n - 1] == '.')) {
        --n;
    }
    return n;
}

/// Length of a number: 0x hex digits, or decimal digits.
std::size_t num_length(std::string_view s) {
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && is_hex(s[2])) {
        std::size_t n = 2;
        while (n < s.size() && is_hex(s[n])) {
            ++n;
        }
        return n;
    }
    std::size_t n = 0;
    while (n < s.size() && is_digit(s[n])) {
        ++n;
    }
    return n;
}

/// Length of a dotted IPv4 address of 2 to 4 decimal parts.
std::size_t hid_length(std::string_view s) {
    std::size_t n = 0;
    int parts = 0;
    while (true) {
        std::size_t start = n;
        while (n < s.size() && is_digit(s[n])) {
            ++n;
        }
        if (n == start) {
            return 0;
        }
        ++parts;
        if (parts == 4 || n + 1 >= s.size() || s[n] != '.' || !is_digit(s[n + 1])) {
            break;
        }
        ++n;
    }
    return parts >= 2 ? n : 0;
}

/// Length of an Ethernet address: six 1-2 digit hex groups split by ':', '.' or '-'; three
/// 4-digit groups split by '.'; or 12 hex digits.
std::size_t eid_length(std::string_view s) {
    auto group = [&](std::size_t at, std::size_t max) {
        std::size_t n = 0;
        while (at + n < s.size() && n < max && is_hex(s[at + n])) {
            ++n;
        }
        return n;
    };
    for (char sep : {':', '.', '-'}) {
        std::size_t at = 0;
        int groups = 0;
        while (groups < 6) {
            std::size_t g = group(at, 2);
            if (g == 0) {
                break;
            }
            at += g;
            ++groups;
            if (groups < 6) {
                if (at >= s.size() || s[at] != sep) {
                    break;
                }
                ++at;
            }
        }
        if (groups == 6 && (at >= s.size() || !is_hex(s[at]))) {
            return at;
        }
    }
    std::size_t at = 0;
    int groups = 0;
    while (groups < 3 && group(at, 4) == 4) {
        at += 4;
        ++groups;
        if (groups < 3) {
            if (at >= s.size() || s[at] != '.') {
                break;
            }
            ++at;
        }
    }
    if (groups == 3) {
        return at;
    }
    return group(0, 12) == 12 && (s.size() == 12 || !is_hex(s[12])) ? 12 : 0;
}

/// Length of an IPv6 address: the longest run of hex digits, ':' and '.' containing "::" or
/// seven ':' that inet_pton accepts.
std::size_t hid6_length(std::string_view s) {
    std::size_t n = 0;
    while (n < s.size() && (is_hex(s[n]) || s[n] == ':' || s[n] == '.')) {
        ++n;
    }
    for (; n > 0; --n) {
        std::string_view cand = s.substr(0, n);
        if (cand.find(':') == std::string_view::npos) {
            return 0;
        }
        in6_addr a{};
        if (inet_pton(AF_INET6, std::string(cand).c_str(), &a) == 1) {
            return n;
        }
    }
    return 0;
}

}  // namespace

std::string refused_family(std::string_view word) {
    std::string lower(word);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    for (const auto& f : kRefused) {
        if (f.word == lower) {
            return std::string(f.family);
        }
    }
    return "";
}

Result<std::vector<Token>> tokenize(std::string_view text) {
    std::vector<Token> out;
    std::size_t i = 0;
    auto col = [&](std::size_t at) { return static_cast<std::uint32_t>(at + 1); };
    auto push = [&](Tok kind, std::size_t len) {
        out.push_back(Token{kind, std::string(text.substr(i, len)), col(i), 0, {}});
        i += len;
    };
    while (i < text.size()) {
        const char c = text[i];
        if (std::isspace(static_cast<unsigned char>(c)) != 0) {
            ++i;
            continue;
        }
        std::string_view rest = text.substr(i);
        auto two = [&](std::string_view op) { return rest.substr(0, 2) == op; };
        if (two("&&")) { push(Tok::And, 2); continue; }
        if (two("||")) { push(Tok::Or, 2); continue; }
        if (two(">=")) { push(Tok::Ge, 2); continue; }
        if (two("<=")) { push(Tok::Le, 2); continue; }
        if (two("!=")) { push(Tok::Ne, 2); continue; }
        if (two("==")) { push(Tok::Eq, 2); continue; }
        if (two("<<")) { push(Tok::Lsh, 2); continue; }
        if (two(">>")) { push(Tok::Rsh, 2); continue; }
        switch (c) {
            case '!': push(Tok::Not, 1); continue;
            case '(': push(Tok::LParen, 1); continue;
            case ')': push(Tok::RParen, 1); continue;
            case '[': push(Tok::LBracket, 1); continue;
            case ']': push(Tok::RBracket, 1); continue;
            case ':':
                if (hid6_length(rest) == 0) {
                    push(Tok::Colon, 1);
                    continue;
                }
                break;
            case '>': push(Tok::Gt, 1); continue;
            case '<': push(Tok::Lt, 1); continue;
            case '=': push(Tok::Eq, 1); continue;
            case '+': push(Tok::Plus, 1); continue;
            case '-': push(Tok::Minus, 1); continue;
            case '*': push(Tok::Star, 1); continue;
            case '/': push(Tok::Slash, 1); continue;
            case '%': push(Tok::Percent, 1); continue;
            case '&': push(Tok::Amp, 1); continue;
            case '|': push(Tok::Pipe, 1); continue;
            case '^': push(Tok::Caret, 1); continue;
            default: break;
        }
        if (c == '$') {
            return fail(Errc::NotSupported, SourcePos{"expression", 1, col(i)},
                        "ARCnet addresses ('{}') are not supported: ARCnet is a link type sockfilter does not "
                        "compile for",
                        text.substr(i, id_length(rest.substr(1)) + 1));
        }
        if (c == '\\') {
            std::size_t n = 1;
            while (n < rest.size() && std::isspace(static_cast<unsigned char>(rest[n])) == 0 &&
                   std::string_view("!()").find(rest[n]) == std::string_view::npos) {
                ++n;
            }
            if (n == 1) {
                return fail(Errc::Parse, SourcePos{"expression", 1, col(i)}, "expected a name after '\\'");
            }
            out.push_back(Token{Tok::Id, std::string(rest.substr(1, n - 1)), col(i), 0, {}});
            i += n;
            continue;
        }
        // The longest reading wins; on a tie, number before address before identifier.
        const std::size_t lens[] = {num_length(rest), hid_length(rest), hid6_length(rest), eid_length(rest),
                                    id_length(rest)};
        const Tok kinds[] = {Tok::Num, Tok::Hid, Tok::Hid6, Tok::Eid, Tok::Id};
        std::size_t best = 0;
        for (std::size_t k = 1; k < 5; ++k) {
            if (lens[k] > lens[best]) {
                best = k;
            }
        }
        if (lens[best] == 0) {
            return fail(Errc::Parse, SourcePos{"expression", 1, col(i)}, "unexpected character '{}'", c);
        }
        Token t{kinds[best], std::string(rest.substr(0, lens[best])), col(i), 0, {}};
        if (t.kind == Tok::Id) {
            for (const auto& k : kKeywords) {
                if (k.word == t.text) {
                    t.kind = k.kind;
                    t.proto = static_cast<std::uint8_t>(k.proto);
                }
            }
            for (const auto& k : kConstants) {
                if (t.kind == Tok::Id && k.word == t.text) {
                    t.kind = Tok::Num;
                    t.text = std::to_string(k.value);
                }
            }
            if (t.kind == Tok::Id) {
                for (const auto& f : kRefused) {
                    if (f.word == t.text) {
                        t.kind = Tok::Refused;
                        t.family = std::string(f.family);
                    }
                }
            }
        }
        i += lens[best];
        out.push_back(std::move(t));
    }
    out.push_back(Token{Tok::End, "", col(text.size()), 0, {}});
    return out;
}

std::string describe(Tok kind) {
    switch (kind) {
        case Tok::End: return "end of expression";
        case Tok::Num: return "a number";
        case Tok::Hid: return "an IPv4 address";
        case Tok::Hid6: return "an IPv6 address";
        case Tok::Eid: return "an Ethernet address";
        case Tok::Id: return "a name";
        case Tok::Src: return "'src'";
        case Tok::Dst: return "'dst'";
        case Tok::Host: return "'host'";
        case Tok::Net: return "'net'";
        case Tok::Mask: return "'mask'";
        case Tok::Port: return "'port'";
        case Tok::Portrange: return "'portrange'";
        case Tok::ProtoKw: return "'proto'";
        case Tok::Protochain: return "'protochain'";
        case Tok::Gateway: return "'gateway'";
        case Tok::Less: return "'less'";
        case Tok::Greater: return "'greater'";
        case Tok::Byte: return "'byte'";
        case Tok::Broadcast: return "'broadcast'";
        case Tok::Multicast: return "'multicast'";
        case Tok::Inbound: return "'inbound'";
        case Tok::Outbound: return "'outbound'";
        case Tok::Ifindex: return "'ifindex'";
        case Tok::Len: return "'len'";
        case Tok::Vlan: return "'vlan'";
        case Tok::Mpls: return "'mpls'";
        case Tok::Pppoed: return "'pppoed'";
        case Tok::Pppoes: return "'pppoes'";
        case Tok::Geneve: return "'geneve'";
        case Tok::Vxlan: return "'vxlan'";
        case Tok::Llc: return "'llc'";
        case Tok::Batadv: return "'batadv'";
        case Tok::And: return "'and'";
        case Tok::Or: return "'or'";
        case Tok::Not: return "'not'";
        case Tok::Pname: return "a protocol name";
        case Tok::Refused: return "a refused keyword";
        case Tok::LParen: return "'('";
        case Tok::RParen: return "')'";
        case Tok::LBracket: return "'['";
        case Tok::RBracket: return "']'";
        case Tok::Colon: return "':'";
        case Tok::Gt: return "'>'";
        case Tok::Ge: return "'>='";
        case Tok::Eq: return "'='";
        case Tok::Le: return "'<='";
        case Tok::Lt: return "'<'";
        case Tok::Ne: return "'!='";
        case Tok::Plus: return "'+'";
        case Tok::Minus: return "'-'";
        case Tok::Star: return "'*'";
        case Tok::Slash: return "'/'";
        case Tok::Percent: return "'%'";
        case Tok::Amp: return "'&'";
        case Tok::Pipe: return "'|'";
        case Tok::Caret: return "'^'";
        case Tok::Lsh: return "'<<'";
        case Tok::Rsh: return "'>>'";
    }
    return "?";
}

const char* proto_name(Proto p) {
    switch (p) {
        case Proto::Default: return "";
        case Proto::Link: return "link";
        case Proto::Ip: return "ip";
        case Proto::Ip6: return "ip6";
        case Proto::Arp: return "arp";
        case Proto::Rarp: return "rarp";
        case Proto::Tcp: return "tcp";
        case Proto::Udp: return "udp";
        case Proto::Sctp: return "sctp";
        case Proto::Icmp: return "icmp";
        case Proto::Icmp6: return "icmp6";
        case Proto::Igmp: return "igmp";
        case Proto::Igrp: return "igrp";
        case Proto::Pim: return "pim";
        case Proto::Vrrp: return "vrrp";
        case Proto::Carp: return "carp";
        case Proto::Ah: return "ah";
        case Proto::Esp: return "esp";
        case Proto::Stp: return "stp";
        case Proto::Radio: return "radio";
    }
    return "?";
}

}  // namespace sockfilter::filter
