// SPDX-License-Identifier: MIT
// Test helpers for classic BPF against libpcap: the accept.tsv expressions of the EN10MB, RAW and
// LINUX_SLL link types compiled by pcap_compile, and the frames of the apply.tsv captures
// (../shared/pcap-filter, read in place).
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cbpf/insn.h"
#include "cbpf/test_util.h"

namespace sockfilter::cbpf::testing {

/// The rows of a tab-separated file after its header line.
inline std::vector<std::vector<std::string>> read_tsv(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::vector<std::string>> rows;
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        std::vector<std::string> cols;
        std::stringstream ss(line);
        std::string c;
        while (std::getline(ss, c, '\t')) cols.push_back(c);
        rows.push_back(cols);
    }
    return rows;
}

/// The frames of every apply.tsv capture, by link type (DLT_*).
inline std::map<int, std::vector<std::vector<std::uint8_t>>> frames_by_linktype() {
    std::map<int, std::vector<std::vector<std::uint8_t>>> out;
    std::set<std::string> seen;
    for (const auto& row : read_tsv(shared_dir() + "/pcap-filter/apply.tsv")) {
        if (row.size() < 2 || !seen.insert(row[1]).second) continue;
        char err[PCAP_ERRBUF_SIZE];
        pcap_t* p = pcap_open_offline((shared_dir() + "/pcap-filter/pcaps/" + row[1]).c_str(), err);
        if (p == nullptr) continue;
        const int dlt = pcap_datalink(p);
        pcap_pkthdr* h = nullptr;
        const u_char* data = nullptr;
        while (pcap_next_ex(p, &h, &data) == 1) {
            out[dlt].emplace_back(data, data + h->caplen);
        }
        pcap_close(p);
    }
    return out;
}

/// One accept.tsv expression as pcap_compile compiled it.
struct Compiled {
    std::string expr;
    int dlt = 0;
    int optimize = 0;
    Filter filter;
    std::vector<bpf_insn> pcap;  ///< the same program for libpcap's bpf_filter
};

/// Every accept.tsv expression of the EN10MB, RAW and LINUX_SLL link types, optimized and not,
/// that this libpcap compiles (accept.tsv is libpcap 1.11-pre's; a few newer expressions fail here).
/// Compiled once per process: pcap_compile resolves the host and service names of the
/// expressions, which takes most of a minute where no name server answers.
inline const std::vector<Compiled>& compile_accepted() {
    static const std::vector<Compiled> compiled = [] {
        const std::map<std::string, int> kTypes = {{"EN10MB", DLT_EN10MB}, {"RAW", DLT_RAW}, {"LINUX_SLL", DLT_LINUX_SLL}};
        std::vector<Compiled> out;
        for (const auto& row : read_tsv(shared_dir() + "/pcap-filter/accept.tsv")) {
            if (row.size() < 3) continue;
            auto t = kTypes.find(row[1]);
            if (t == kTypes.end()) continue;
            for (int optimize : {1, 0}) {
                pcap_t* dead = pcap_open_dead(t->second, 262144);
                bpf_program bp{};
                if (pcap_compile(dead, &bp, row[2].c_str(), optimize, PCAP_NETMASK_UNKNOWN) == 0) {
                    Compiled c{row[2], t->second, optimize, {}, {bp.bf_insns, bp.bf_insns + bp.bf_len}};
                    for (const bpf_insn& in : c.pcap) {
                        c.filter.push_back(Insn{in.code, in.jt, in.jf, in.k});
                    }
                    out.push_back(std::move(c));
                    pcap_freecode(&bp);
                }
                pcap_close(dead);
            }
        }
        return out;
    }();
    return compiled;
}

/// Whether `f` has an ancillary load (libpcap's userland bpf_filter fails every one of them).
inline bool has_ancillary_load(const Filter& f) {
    for (const Insn& in : f) {
        if (code::cls(in.code) == code::kLd && code::mode(in.code) == code::kAbs && in_ancillary_range(in.k)) {
            return true;
        }
    }
    return false;
}

/// An Ethernet frame as a capture of link type `dlt` would hold it: EN10MB as it is; RAW the IP
/// packet after the Ethernet header (nullopt for a frame that is not untagged IPv4/IPv6); LINUX_SLL
/// a cooked header (packet type from the destination MAC, ARPHRD_ETHER, the source MAC, the
/// EtherType, or ETH_P_802_2 for an 802.3 length) before what follows the Ethernet header.
inline std::optional<std::vector<std::uint8_t>> as_linktype(const std::vector<std::uint8_t>& eth, int dlt) {
    if (dlt == DLT_EN10MB) return eth;
    if (eth.size() <= 14) return std::nullopt;
    const std::uint16_t type = static_cast<std::uint16_t>(eth[12] << 8 | eth[13]);
    if (dlt == DLT_RAW) {
        if (type != 0x0800 && type != 0x86dd) return std::nullopt;
        return std::vector<std::uint8_t>(eth.begin() + 14, eth.end());
    }
    if (dlt != DLT_LINUX_SLL) return std::nullopt;
    const std::uint8_t pkttype = eth[0] == 0xff ? 1 : (eth[0] & 1) != 0 ? 2 : 0;
    const std::uint16_t proto = type < 0x0600 ? 0x0004 : type;
    std::vector<std::uint8_t> out = {0, pkttype, 0, 1, 0, 6};
    out.insert(out.end(), eth.begin() + 6, eth.begin() + 12);
    out.insert(out.end(), {0, 0, static_cast<std::uint8_t>(proto >> 8), static_cast<std::uint8_t>(proto)});
    out.insert(out.end(), eth.begin() + 14, eth.end());
    return out;
}

}  // namespace sockfilter::cbpf::testing
