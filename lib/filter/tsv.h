// SPDX-License-Identifier: MIT
// Reading libpcap's filter test tables (accept.tsv, apply.tsv) for the tests and the size benchmark.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace sockfilter::filter::testing {

/// Where libpcap's filter tests are: $SF_SHARED_DIR/pcap-filter (accept.tsv, apply.tsv, pcaps/),
/// the build's SF_SHARED_DIR without the variable.
inline std::string pcap_filter_dir(const char* default_shared_dir) {
    const char* v = std::getenv("SF_SHARED_DIR");
    return std::string(v != nullptr ? v : default_shared_dir) + "/pcap-filter";
}

/// The rows of a tab-separated file after its header line; a trailing tab is an empty last column.
inline std::vector<std::vector<std::string>> read_tsv(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::vector<std::string>> rows;
    std::string line;
    bool header = true;
    while (std::getline(in, line)) {
        if (header) {
            header = false;
            continue;
        }
        std::vector<std::string> cols;
        std::stringstream ss(line);
        std::string c;
        while (std::getline(ss, c, '\t')) {
            cols.push_back(c);
        }
        if (!line.empty() && line.back() == '\t') {
            cols.emplace_back();
        }
        rows.push_back(cols);
    }
    return rows;
}

}  // namespace sockfilter::filter::testing
