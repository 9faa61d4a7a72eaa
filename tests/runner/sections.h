// SPDX-License-Identifier: MIT
// Sectioned text files (`-- name` headers), the format of every data-driven suite: our own and
// bpf_conformance's `.data` files.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/result.h"

namespace sockfilter::testing {

/// One `-- name` section: its header text after "-- " and its body lines (comments kept).
struct Section {
    std::string name;
    std::string body;
    std::uint32_t line = 0;  ///< line number of the header
};

/// A parsed file: sections in order. Lines before the first header are the preamble.
struct SectionedFile {
    std::string path;
    std::string preamble;
    std::vector<Section> sections;

    /// The first section named `name`, if any.
    [[nodiscard]] const Section* find(std::string_view name) const;
};

/// Splits `text` at lines starting with "-- ".
[[nodiscard]] SectionedFile parse_sections(std::string_view text, std::string path);

/// Reads and splits a file.
[[nodiscard]] Result<SectionedFile> read_sections(const std::string& path);

}  // namespace sockfilter::testing
