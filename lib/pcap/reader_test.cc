// SPDX-License-Identifier: MIT
// Tests of the capture reader: pcap and pcapng, every error kind, and robustness against damage.
#include "pcap/reader.h"

#include <cstdlib>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "pcap/test_util.h"
#include "support/bytes.h"

namespace sockfilter::pcap {
namespace {

using testing::ScratchDir;
using testing::udp_frame;
using testing::write_frames;

std::vector<Frame> sample_frames() {
    return {
        Frame{udp_frame(4), 46, 1700000000, 123456789},
        Frame{udp_frame(100), 142, 1700000001, 5},
        Frame{udp_frame(20), 62, 1700000002, 999999999},
        Frame{udp_frame(0), 42, 1700000003, 0},
    };
}

void write_bytes(const std::string& path, std::span<const std::uint8_t> bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::uint8_t> file_bytes(const std::string& path) {
    auto b = read_file(path);
    EXPECT_TRUE(b) << b.error().render();
    return b ? *b : std::vector<std::uint8_t>{};
}

TEST(Reader, ReadsWhatTheWriterWrote) {
    ScratchDir dir;
    const std::string path = dir.path("a.pcap");
    write_frames(path, sample_frames());
    auto cap = read_capture(path);
    ASSERT_TRUE(cap) << cap.error().render();
    EXPECT_EQ(cap->linktype, 1);
    EXPECT_EQ(cap->snaplen, Writer::kDefaultSnaplen);
    const auto want = sample_frames();
    ASSERT_EQ(cap->frames.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(cap->frames[i].bytes, want[i].bytes);
        EXPECT_EQ(cap->frames[i].orig_len, want[i].orig_len);
        EXPECT_EQ(cap->frames[i].ts_sec, want[i].ts_sec);
        EXPECT_EQ(cap->frames[i].ts_nsec, want[i].ts_nsec);
    }
}

TEST(Reader, ReportsLinkTypeAndCounts) {
    ScratchDir dir;
    const std::string path = dir.path("a.pcap");
    write_frames(path, sample_frames());
    auto r = Reader::open(path);
    ASSERT_TRUE(r) << r.error().render();
    EXPECT_EQ(r->linktype_name(), "EN10MB");
    EXPECT_EQ(r->path(), path);
    int n = 0;
    for (;;) {
        auto f = r->next();
        ASSERT_TRUE(f) << f.error().render();
        if (!f->has_value()) {
            break;
        }
        ++n;
    }
    EXPECT_EQ(n, 4);
    EXPECT_EQ(r->packets_read(), 4u);
    auto again = r->next();
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->has_value());
}

TEST(Reader, MissingFile) {
    auto r = Reader::open("/nonexistent/x.pcap");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Io);
    EXPECT_EQ(r.error().render(), "/nonexistent/x.pcap: cannot open: No such file or directory");
    EXPECT_EQ(r.error().sys_errno, ENOENT);
}

TEST(Reader, Directory) {
    ScratchDir dir;
    auto r = Reader::open(dir.path(""));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Io);
}

TEST(Reader, NotACapture) {
    ScratchDir dir;
    const std::string path = dir.path("text.pcap");
    const std::string text = "this is not a capture file, just some text\n";
    write_bytes(path, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    auto r = Reader::open(path);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Format);
    EXPECT_EQ(r.error().render(), path + ": not a pcap or pcapng capture: unknown file format");
}

TEST(Reader, EmptyFile) {
    ScratchDir dir;
    const std::string path = dir.path("empty.pcap");
    write_bytes(path, {});
    auto r = Reader::open(path);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::Format);
    EXPECT_NE(r.error().message.find("not a pcap or pcapng capture"), std::string::npos) << r.error().message;
}

TEST(Reader, UnsupportedLinkType) {
    ScratchDir dir;
    const std::string path = dir.path("slip.pcap");
    write_frames(path, {Frame{{0x45, 0, 0, 20}, 4, 0, 0}}, 8 /* DLT_SLIP */);
    auto r = Reader::open(path);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::NotSupported);
    EXPECT_EQ(r.error().render(), path +
                                      ": unsupported link type SLIP (8); supported: NULL, EN10MB, RAW, DLT_14, "
                                      "DLT_101, LOOP, LINUX_SLL, IPV4, IPV6, LINUX_SLL2");
}

TEST(Reader, TruncatedRecordNamesThePacket) {
    ScratchDir dir;
    const std::string path = dir.path("a.pcap");
    write_frames(path, sample_frames());
    auto bytes = file_bytes(path);
    bytes.resize(bytes.size() - 10);  // cut into the last record's data
    write_bytes(path, bytes);
    auto r = Reader::open(path);
    ASSERT_TRUE(r) << r.error().render();
    for (int i = 0; i < 3; ++i) {
        auto f = r->next();
        ASSERT_TRUE(f && f->has_value());
    }
    auto f = r->next();
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, Errc::Format);
    EXPECT_EQ(f.error().render(),
              path + ": packet 4: truncated dump file; tried to read 42 captured bytes, only got 32");
    auto after = r->next();
    ASSERT_TRUE(after);
    EXPECT_FALSE(after->has_value());
}

TEST(Reader, TruncatedRecordHeader) {
    ScratchDir dir;
    const std::string path = dir.path("a.pcap");
    write_frames(path, sample_frames());
    auto bytes = file_bytes(path);
    bytes.resize(24 + 16 + 46 + 7);  // header, packet 1, 7 bytes of packet 2's record header
    write_bytes(path, bytes);
    auto cap = read_capture(path);
    ASSERT_FALSE(cap);
    EXPECT_EQ(cap.error().render(),
              path + ": packet 2: truncated dump file; tried to read 16 header bytes, only got 7");
}

// A minimal pcapng file: section header, one EN10MB interface (default microsecond resolution),
// one enhanced packet block.
std::vector<std::uint8_t> tiny_pcapng(const std::vector<std::uint8_t>& packet, std::uint64_t ts_usec) {
    std::vector<std::uint8_t> out;
    auto u32 = [&](std::uint32_t v) {
        std::uint8_t b[4];
        store_le(b, v);
        out.insert(out.end(), b, b + 4);
    };
    auto u16 = [&](std::uint16_t v) {
        std::uint8_t b[2];
        store_le(b, v);
        out.insert(out.end(), b, b + 2);
    };
    // Section header block.
    u32(0x0A0D0D0A);
    u32(28);
    u32(0x1A2B3C4D);
    u16(1);
    u16(0);
    u32(0xffffffff);
    u32(0xffffffff);
    u32(28);
    // Interface description block.
    u32(1);
    u32(20);
    u16(1);
    u16(0);
    u32(65535);
    u32(20);
    // Enhanced packet block.
    const auto padded = static_cast<std::uint32_t>((packet.size() + 3) & ~std::size_t{3});
    const std::uint32_t len = 32 + padded;
    u32(6);
    u32(len);
    u32(0);
    u32(static_cast<std::uint32_t>(ts_usec >> 32));
    u32(static_cast<std::uint32_t>(ts_usec));
    u32(static_cast<std::uint32_t>(packet.size()));
    u32(static_cast<std::uint32_t>(packet.size()) + 100);
    out.insert(out.end(), packet.begin(), packet.end());
    out.resize(out.size() + (padded - packet.size()), 0);
    u32(len);
    return out;
}

TEST(Reader, ReadsPcapng) {
    ScratchDir dir;
    const std::string path = dir.path("a.pcapng");
    const auto pkt = udp_frame(3);
    write_bytes(path, tiny_pcapng(pkt, 1'700'000'000'123'456ULL));
    auto cap = read_capture(path);
    ASSERT_TRUE(cap) << cap.error().render();
    EXPECT_EQ(cap->linktype, 1);
    EXPECT_EQ(cap->snaplen, 65535u);
    ASSERT_EQ(cap->frames.size(), 1u);
    EXPECT_EQ(cap->frames[0].bytes, pkt);
    EXPECT_EQ(cap->frames[0].orig_len, pkt.size() + 100);
    EXPECT_EQ(cap->frames[0].ts_sec, 1'700'000'000);
    EXPECT_EQ(cap->frames[0].ts_nsec, 123'456'000);
}

TEST(Reader, ReadsSharedPcapng) {
    const char* shared = std::getenv("SF_SHARED_DIR");
    ASSERT_NE(shared, nullptr) << "SF_SHARED_DIR not set (run through ctest)";
    const std::string path = std::string(shared) + "/pcap-filter/pcaps/rarp_req_reply.pcapng";
    ASSERT_TRUE(std::filesystem::exists(path)) << path << " not present";
    auto cap = read_capture(path);
    ASSERT_TRUE(cap) << cap.error().render();
    EXPECT_EQ(cap->linktype, 1);
    EXPECT_FALSE(cap->frames.empty());
}

// Every prefix of a valid file, and random byte damage: reading must end in a value or an error,
// never a crash (run under SF_SANITIZE=address;undefined to catch memory errors as well).
TEST(Reader, SurvivesTruncationAndGarbage) {
    ScratchDir dir;
    const std::string good = dir.path("good.pcap");
    write_frames(good, sample_frames());
    const auto bytes = file_bytes(good);
    const std::string path = dir.path("damaged.pcap");
    std::size_t ok_prefixes = 0;
    for (std::size_t n = 0; n <= bytes.size(); ++n) {
        write_bytes(path, std::span(bytes).first(n));
        auto cap = read_capture(path);
        if (cap) {
            ++ok_prefixes;
        } else {
            EXPECT_FALSE(cap.error().message.empty());
        }
    }
    EXPECT_EQ(ok_prefixes, 5u);  // exactly the record boundaries: 0..4 complete packets

    std::mt19937 rng(12345);
    const auto pcapng = tiny_pcapng(udp_frame(10), 42);
    for (const auto* base : {&bytes, &pcapng}) {
        for (int round = 0; round < 300; ++round) {
            auto damaged = *base;
            const int flips = 1 + static_cast<int>(rng() % 8);
            for (int k = 0; k < flips; ++k) {
                damaged[rng() % damaged.size()] = static_cast<std::uint8_t>(rng());
            }
            write_bytes(path, damaged);
            auto cap = read_capture(path);
            if (!cap) {
                EXPECT_FALSE(cap.error().message.empty());
            }
        }
    }
    for (int round = 0; round < 200; ++round) {
        std::vector<std::uint8_t> junk(rng() % 200);
        for (auto& b : junk) {
            b = static_cast<std::uint8_t>(rng());
        }
        if (round % 2 == 0 && junk.size() >= 4) {
            store_le<std::uint32_t>(junk.data(), 0xa1b2c3d4);  // a pcap magic in front of garbage
        }
        write_bytes(path, junk);
        auto cap = read_capture(path);
        if (!cap) {
            EXPECT_FALSE(cap.error().message.empty());
        }
    }
}

}  // namespace
}  // namespace sockfilter::pcap
