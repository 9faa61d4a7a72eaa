// SPDX-License-Identifier: MIT
// Helpers shared by the pcap tests: a scratch directory and small capture files.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "pcap/writer.h"

namespace sockfilter::pcap::testing {

/// A fresh directory under the system temporary directory, removed with its contents at the end.
class ScratchDir {
public:
    ScratchDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "sf-pcap-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            std::abort();  // nothing can be tested without a scratch directory
        }
        dir_ = tmpl;
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    /// A path inside the directory.
    [[nodiscard]] std::string path(const std::string& name) const { return (dir_ / name).string(); }

private:
    std::filesystem::path dir_;
};

/// An Ethernet/IPv4/UDP frame of `payload` bytes (checksums left zero, which tcpdump accepts).
inline std::vector<std::uint8_t> udp_frame(std::size_t payload) {
    std::vector<std::uint8_t> f = {
        0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,  // Ethernet
        0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0,                      // IPv4, length filled below
        198, 18, 0, 1, 198, 18, 0, 2,                                 // 198.18.0.1 > 198.18.0.2
        0x30, 0x39, 0x27, 0x0f, 0, 0, 0, 0,                          // UDP 12345 > 9999
    };
    const auto ip_len = static_cast<std::uint16_t>(28 + payload);
    f[16] = static_cast<std::uint8_t>(ip_len >> 8);
    f[17] = static_cast<std::uint8_t>(ip_len);
    const auto udp_len = static_cast<std::uint16_t>(8 + payload);
    f[38] = static_cast<std::uint8_t>(udp_len >> 8);
    f[39] = static_cast<std::uint8_t>(udp_len);
    for (std::size_t i = 0; i < payload; ++i) {
        f.push_back(static_cast<std::uint8_t>(i));
    }
    return f;
}

/// Writes `frames` as an EN10MB capture at `path`; fails the test on an error.
inline void write_frames(const std::string& path, const std::vector<Frame>& frames, int linktype = 1) {
    auto w = Writer::create(path, linktype);
    ASSERT_TRUE(w) << w.error().render();
    for (const Frame& f : frames) {
        auto r = w->write(f);
        ASSERT_TRUE(r) << r.error().render();
    }
    auto c = w->close();
    ASSERT_TRUE(c) << c.error().render();
}

}  // namespace sockfilter::pcap::testing
