// SPDX-License-Identifier: MIT
// Rendering of errors and locations.
#include "support/result.h"

namespace sockfilter {

std::string render_location(const Location& where) {
    struct Visitor {
        std::string operator()(std::monostate) const { return {}; }
        std::string operator()(const InsnIndex& i) const { return fmt::format("pc {}", i.pc); }
        std::string operator()(const SourcePos& p) const {
            if (p.col == 0) {
                return fmt::format("{}:{}", p.file, p.line);
            }
            return fmt::format("{}:{}:{}", p.file, p.line, p.col);
        }
        std::string operator()(const ElfPos& e) const { return fmt::format("section {}+{:#x}", e.section, e.offset); }
    };
    return std::visit(Visitor{}, where);
}

std::string Error::render() const {
    std::string out;
    for (const auto& c : context) {
        out += c;
        out += ": ";
    }
    std::string loc = render_location(where);
    if (!loc.empty()) {
        out += loc;
        out += ": ";
    }
    out += message;
    return out;
}

Error Error::with_context(std::string outer) && {
    context.insert(context.begin(), std::move(outer));
    return std::move(*this);
}

}  // namespace sockfilter
