// SPDX-License-Identifier: MIT
// Every bpf_conformance `-- asm` section (read in place from $SF_SHARED_DIR) assembles unmodified, matches
// its `-- raw` section where there is one, and round-trips through both printers, with and without labels.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "asm/assembler.h"
#include "support/bytes.h"

namespace sockfilter::assembler {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> conformance_files() {
    const char* shared = std::getenv("SF_SHARED_DIR");
    std::vector<fs::path> files;
    if (shared == nullptr) {
        return files;
    }
    const fs::path dir = fs::path(shared) / "conformance" / "bpf_conformance";
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.path().extension() == ".data") {
            files.push_back(e.path());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

/// The lines of section `name` (`-- name` up to the next `-- ` header).
std::string section(const std::string& data, std::string_view name) {
    std::istringstream in(data);
    std::string line;
    std::string out;
    bool inside = false;
    while (std::getline(in, line)) {
        if (line.starts_with("-- ")) {
            inside = line.substr(3) == name;
            continue;
        }
        if (inside) {
            out += line;
            out += '\n';
        }
    }
    return out;
}

std::vector<std::uint8_t> raw_bytes(const std::string& raw) {
    std::vector<std::uint8_t> out;
    std::istringstream in(raw);
    std::string word;
    while (in >> word) {
        const std::uint64_t v = std::stoull(word, nullptr, 16);
        std::uint8_t b[8];
        store_le<std::uint64_t>(b, v);
        out.insert(out.end(), b, b + 8);
    }
    return out;
}

TEST(Conformance, EveryFileAssemblesAndRoundTrips) {
    const auto files = conformance_files();
    ASSERT_EQ(files.size(), 313u) << "SF_SHARED_DIR/conformance/bpf_conformance must hold the 313 files (run through ctest)";
    std::size_t round_trips = 0;
    for (const auto& path : files) {
        SCOPED_TRACE(path.filename().string());
        std::ifstream f(path);
        std::stringstream ss;
        ss << f.rdbuf();
        const std::string data = ss.str();
        const std::string text = section(data, "asm");
        EXPECT_EQ(detect_syntax(text), Syntax::Conformance);
        auto p = assemble(text, path.filename().string());
        ASSERT_TRUE(p.has_value()) << p.error().render();
        const auto bytes = p->bytes();
        const std::string raw = section(data, "raw");
        if (!raw.empty()) {
            EXPECT_EQ(bytes, raw_bytes(raw));
        }
        for (Syntax syntax : {Syntax::Conformance, Syntax::Kernel}) {
            for (bool labels : {false, true}) {
                const std::string listing = disassemble(*p, syntax, {.pc = false, .labels = labels});
                EXPECT_EQ(detect_syntax(listing), syntax) << listing;
                auto back = assemble(listing, "listing.s");
                ASSERT_TRUE(back.has_value()) << back.error().render() << "\n" << listing;
                EXPECT_EQ(back->bytes(), bytes) << listing;
                ++round_trips;
            }
        }
    }
    EXPECT_EQ(round_trips, files.size() * 4);
}

}  // namespace
}  // namespace sockfilter::assembler
