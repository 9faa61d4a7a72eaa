// SPDX-License-Identifier: MIT
// The sectioned-text reader shared by the data-driven suites.
#include "runner/sections.h"

#include "support/bytes.h"

namespace sockfilter::testing {

const Section* SectionedFile::find(std::string_view name) const {
    for (const auto& s : sections) {
        if (s.name == name) {
            return &s;
        }
    }
    return nullptr;
}

SectionedFile parse_sections(std::string_view text, std::string path) {
    SectionedFile out;
    out.path = std::move(path);
    std::uint32_t line_no = 0;
    std::string* body = &out.preamble;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        ++line_no;
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.substr(0, 3) == "-- ") {
            std::string_view name = line.substr(3);
            while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) {
                name.remove_suffix(1);
            }
            out.sections.push_back(Section{std::string(name), {}, line_no});
            body = &out.sections.back().body;
            continue;
        }
        body->append(line);
        body->push_back('\n');
    }
    return out;
}

Result<SectionedFile> read_sections(const std::string& path) {
    auto bytes = read_file(path);
    if (!bytes) {
        return tl::unexpected(std::move(bytes.error()));
    }
    return parse_sections(std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()), path);
}

}  // namespace sockfilter::testing
