// SPDX-License-Identifier: MIT
// tests/EXPECTED_FAIL: the strict list of cases a data suite cannot pass, one
// `<suite>/<case>\t<reason>` line each.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace sockfilter::testing {

/// The lines of `path` that start with `prefix` ("test_bpf/"): the rest of the name (up to the
/// tab) -> the reason. A missing file gives no entries.
[[nodiscard]] std::map<std::string, std::string> read_expected_failures(const std::string& path,
                                                                        std::string_view prefix);

}  // namespace sockfilter::testing
