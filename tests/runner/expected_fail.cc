// SPDX-License-Identifier: MIT
// Reading tests/EXPECTED_FAIL.
#include "runner/expected_fail.h"

#include <fstream>

namespace sockfilter::testing {

std::map<std::string, std::string> read_expected_failures(const std::string& path, std::string_view prefix) {
    std::map<std::string, std::string> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.starts_with(prefix)) {
            continue;
        }
        const std::size_t tab = line.find('\t');
        const std::size_t end = tab == std::string::npos ? line.size() : tab;
        out[line.substr(prefix.size(), end - prefix.size())] =
            tab == std::string::npos ? std::string() : line.substr(tab + 1);
    }
    return out;
}

}  // namespace sockfilter::testing
