// SPDX-License-Identifier: MIT
// Tests of the pcap writer: trimmed records, atomic output, errors, and tcpdump reading the result.
#include "pcap/writer.h"

#include <cstdio>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "pcap/reader.h"
#include "pcap/test_util.h"

namespace sockfilter::pcap {
namespace {

using testing::ScratchDir;
using testing::udp_frame;
using testing::write_frames;

/// Runs a shell command, returning its exit status and standard output + error.
std::pair<int, std::string> run(const std::string& cmd) {
    std::string out;
    std::FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr) {
        return {-1, out};
    }
    char buf[512];
    while (std::fgets(buf, sizeof buf, p) != nullptr) {
        out += buf;
    }
    return {::pclose(p), out};
}

TEST(Writer, TrimmedPacketKeepsOriginalLength) {
    ScratchDir dir;
    const std::string path = dir.path("t.pcap");
    auto full = udp_frame(40);
    Frame trimmed{std::vector<std::uint8_t>(full.begin(), full.begin() + 20), static_cast<std::uint32_t>(full.size()),
                  1, 2};
    write_frames(path, {trimmed});
    auto cap = read_capture(path);
    ASSERT_TRUE(cap) << cap.error().render();
    ASSERT_EQ(cap->frames.size(), 1u);
    EXPECT_EQ(cap->frames[0].bytes.size(), 20u);
    EXPECT_EQ(cap->frames[0].orig_len, full.size());
}

TEST(Writer, TcpdumpReadsTheOutput) {
    ScratchDir dir;
    const std::string path = dir.path("t.pcap");
    auto full = udp_frame(40);
    write_frames(path, {
                           Frame{udp_frame(4), 46, 1700000000, 123456789},
                           Frame{std::vector<std::uint8_t>(full.begin(), full.begin() + 42),
                                 static_cast<std::uint32_t>(full.size()), 1700000001, 7},
                       });
    auto [status, out] = run("tcpdump -nn -tt --time-stamp-precision=nano -r '" + path + "'");
    ASSERT_EQ(status, 0) << out;
    EXPECT_NE(out.find("link-type EN10MB"), std::string::npos) << out;
    EXPECT_NE(out.find("1700000000.123456789 IP 198.18.0.1.12345 > 198.18.0.2.9999: UDP, length 4"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("1700000001.000000007 IP 198.18.0.1.12345 > 198.18.0.2.9999: UDP, length 40"),
              std::string::npos)
        << out;
}

TEST(Writer, NothingWithoutClose) {
    ScratchDir dir;
    const std::string path = dir.path("t.pcap");
    {
        auto w = Writer::create(path, 1);
        ASSERT_TRUE(w) << w.error().render();
        ASSERT_TRUE(w->write(Frame{udp_frame(1), 43, 0, 0}));
        EXPECT_TRUE(std::filesystem::exists(path + ".sockfilter-tmp"));
    }
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_FALSE(std::filesystem::exists(path + ".sockfilter-tmp"));
}

TEST(Writer, CloseReplacesAnExistingFileAtOnce) {
    ScratchDir dir;
    const std::string path = dir.path("t.pcap");
    write_frames(path, {Frame{udp_frame(1), 43, 0, 0}, Frame{udp_frame(2), 44, 0, 0}});
    auto w = Writer::create(path, 1);
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write(Frame{udp_frame(3), 45, 0, 0}));
    // Until close() the old file is untouched.
    auto before = read_capture(path);
    ASSERT_TRUE(before);
    EXPECT_EQ(before->frames.size(), 2u);
    ASSERT_TRUE(w->close());
    EXPECT_EQ(w->packets_written(), 1u);
    auto after = read_capture(path);
    ASSERT_TRUE(after);
    EXPECT_EQ(after->frames.size(), 1u);
    auto again = w->close();
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().render(), path + ": already closed");
    auto late = w->write(Frame{udp_frame(3), 45, 0, 0});
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().render(), path + ": write after close");
}

TEST(Writer, RejectsBadRecords) {
    ScratchDir dir;
    const std::string path = dir.path("t.pcap");
    auto w = Writer::create(path, 1, 64);
    ASSERT_TRUE(w);
    auto short_orig = w->write(Frame{udp_frame(10), 20, 0, 0});
    ASSERT_FALSE(short_orig);
    EXPECT_EQ(short_orig.error().render(), path + ": packet 1: original length 20 is less than the captured length 52");
    auto too_long = w->write(Frame{udp_frame(30), 72, 0, 0});
    ASSERT_FALSE(too_long);
    EXPECT_EQ(too_long.error().render(), path + ": packet 1: captured length 72 exceeds the snapshot length 64");
    auto bad_ts = w->write(Frame{udp_frame(1), 43, 5, 1'000'000'000});
    ASSERT_FALSE(bad_ts);
    EXPECT_EQ(bad_ts.error().render(), path + ": packet 1: timestamp 5.1000000000 does not fit a pcap record");
    auto neg_ts = w->write(Frame{udp_frame(1), 43, -1, 0});
    ASSERT_FALSE(neg_ts);
    EXPECT_EQ(neg_ts.error().code, Errc::InvalidArgument);
    ASSERT_TRUE(w->write(Frame{udp_frame(1), 43, 5, 0}));
    ASSERT_TRUE(w->close());
    auto cap = read_capture(path);
    ASSERT_TRUE(cap);
    EXPECT_EQ(cap->snaplen, 64u);
    EXPECT_EQ(cap->frames.size(), 1u);
}

TEST(Writer, CannotCreate) {
    auto w = Writer::create("/nonexistent/dir/t.pcap", 1);
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().code, Errc::Io);
    EXPECT_EQ(w.error().message.rfind("/nonexistent/dir/t.pcap: cannot create: ", 0), 0u) << w.error().message;
    auto z = Writer::create("/tmp/x.pcap", 1, 0);
    ASSERT_FALSE(z);
    EXPECT_EQ(z.error().render(), "/tmp/x.pcap: invalid snapshot length 0");
}

TEST(Writer, MoveKeepsTheOutput) {
    ScratchDir dir;
    const std::string path = dir.path("t.pcap");
    auto w = Writer::create(path, 1);
    ASSERT_TRUE(w);
    Writer moved = std::move(*w);
    ASSERT_TRUE(moved.write(Frame{udp_frame(1), 43, 0, 0}));
    ASSERT_TRUE(moved.close());
    auto cap = read_capture(path);
    ASSERT_TRUE(cap);
    EXPECT_EQ(cap->frames.size(), 1u);
}

}  // namespace
}  // namespace sockfilter::pcap
