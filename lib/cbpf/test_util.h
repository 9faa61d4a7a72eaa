// SPDX-License-Identifier: MIT
// Test helpers for classic BPF: the kernel's lib/test_bpf.c CLASSIC cases from
// ../shared/conformance/kernel/test_bpf.json (read in place) and the fake skb they run on (spec §9.1).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cbpf/insn.h"
#include "runtime/skb.h"
#include "support/bytes.h"

namespace sockfilter::cbpf::testing {

/// One CLASSIC case of test_bpf.json.
struct Case {
    std::string descr;
    bool no_data = false;
    bool skb_frag = false;
    bool expected_fail = false;
    std::uint32_t len = 0;
    std::vector<std::uint8_t> data;
    std::vector<std::uint8_t> frag;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> subtests;  ///< (data_size, result)
    std::optional<Filter> filter;  ///< nullopt: the JSON leaves a generated program out (insns null)
};

/// The shared/ folder: $SF_SHARED_DIR, else the one configured at build time.
inline std::string shared_dir() {
    const char* d = std::getenv("SF_SHARED_DIR");
    return d != nullptr && *d != '\0' ? d : SF_DEFAULT_SHARED_DIR;
}

inline std::vector<std::uint8_t> hex_or_empty(const nlohmann::json& v) {
    if (!v.is_string()) return {};
    auto b = parse_hex(v.get<std::string>());
    return b ? std::move(*b) : std::vector<std::uint8_t>{};
}

/// Every CLASSIC case, in file order; on failure `error` says why and the result is empty.
inline std::vector<Case> read_test_bpf_cases(std::string& error) {
    const std::string path = shared_dir() + "/conformance/kernel/test_bpf.json";
    std::ifstream in(path);
    nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
    if (!in || doc.is_discarded() || !doc.is_array()) {
        error = "cannot read " + path + " (set SF_SHARED_DIR to the shared/ folder)";
        return {};
    }
    std::vector<Case> cases;
    for (const auto& j : doc) {
        if (j.value("type", "") != "CLASSIC") continue;
        Case c;
        c.descr = j.value("descr", "");
        for (const auto& f : j["flags"]) {
            const auto flag = f.get<std::string>();
            c.no_data |= flag == "FLAG_NO_DATA";
            c.skb_frag |= flag == "FLAG_SKB_FRAG";
            c.expected_fail |= flag == "FLAG_EXPECTED_FAIL";
        }
        c.len = j.value("len", 0U);
        c.data = hex_or_empty(j["data"]);
        c.frag = hex_or_empty(j["frag_data"]);
        for (const auto& s : j["subtests"]) {
            c.subtests.emplace_back(s["data_size"].get<std::uint32_t>(), s["result"].get<std::uint32_t>());
        }
        if (j["insns"].is_string()) {
            auto f = from_bytes(hex_or_empty(j["insns"]));
            if (f) {
                // The JSON's len trims the trailing all-zero records of the 512-slot array.
                f->resize(std::min<std::size_t>(f->size(), c.len));
                c.filter = std::move(*f);
            }
        }
        cases.push_back(std::move(c));
    }
    return cases;
}

/// populate_skb (spec §9.1): MAC header at 0, network header at min(size, 14), the metadata
/// values, device ifindex 577 type 588; FLAG_SKB_FRAG appends the 128-byte fragment.
inline runtime::Skb fake_skb(const Case& c, std::uint32_t size) {
    runtime::Skb skb;
    skb.bytes.assign(c.data.begin(), c.data.begin() + std::min<std::size_t>(size, c.data.size()));
    skb.bytes.resize(size, 0);
    if (c.skb_frag) {
        std::vector<std::uint8_t> frag = c.frag;
        frag.resize(128, 0);
        skb.bytes.insert(skb.bytes.end(), frag.begin(), frag.end());
    }
    skb.mac_header = 0;
    skb.network_header = static_cast<std::int32_t>(std::min<std::uint32_t>(size, 14));
    skb.meta.protocol = 0x0008;
    skb.meta.pkt_type = 3;
    skb.meta.mark = 0x1234aaaa;
    skb.meta.hash = 0x1234aaab;
    skb.meta.queue_mapping = 123;
    skb.meta.vlan_tci = 0xffff;
    skb.meta.vlan_proto = 0x0008;
    skb.meta.ifindex = 577;
    skb.meta.dev_type = 588;
    return skb;
}

/// The sub-tests that run: the first always, later ones until a {0, 0}.
inline std::vector<std::pair<std::uint32_t, std::uint32_t>> runnable(const Case& c) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
    for (std::size_t i = 0; i < c.subtests.size(); ++i) {
        if (i > 0 && c.subtests[i].first == 0 && c.subtests[i].second == 0) break;
        out.push_back(c.subtests[i]);
    }
    return out;
}

}  // namespace sockfilter::cbpf::testing
