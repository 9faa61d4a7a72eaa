// SPDX-License-Identifier: MIT
// `sockfilter diff` against the running kernel: every example agrees with BPF_PROG_TEST_RUN on the
// example captures (verdicts and maps), also on a raw-IP capture that needs an Ethernet header
// prepended; a random verdict and a clock stored in a map are reported as divergences with our
// trace and the helper named; --ctx fields test-run cannot set are refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli_env.h"
#include "kernel_env.h"
#include "pcap/reader.h"
#include "pcap/writer.h"

namespace sockfilter::testing {
namespace {

const std::string kExamples = SF_EXAMPLES_DIR;
const std::string kCaptures = SF_EXAMPLES_SOURCE_DIR;
const std::string kPrograms = SF_DIFF_PROGRAMS_DIR;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class DiffCliTest : public KernelTest {};

/// An example program and the capture it runs on.
struct Case {
    const char* example;
    const char* program;  ///< --program, or empty for the only one
    const char* capture;
    const char* maps;     ///< what the summary says about maps
};

constexpr Case kCases[] = {
    {"port_ld_abs", "", "traffic.pcap", "; maps equal: 0\n"},
    {"port_load_bytes", "", "traffic.pcap", "; maps equal: 0\n"},
    {"port_relative", "", "traffic.pcap", "; maps equal: 0\n"},
    {"proto_array", "", "traffic.pcap", "; maps equal: 1 (protocols)\n"},
    {"flow_hash", "", "traffic.pcap", "; maps equal: 1 (flows)\n"},
    {"syn_ringbuf", "", "traffic.pcap", "not compared: syns: ring buffer: its records are for a reader"},
    {"tail_dispatch", "dispatch", "traffic.pcap", "not compared: handlers: its values are kernel object ids"},
    {"ipv6_ext_walk", "", "traffic.pcap", "; maps equal: 0\n"},
    {"ipv6_ext_walk", "", "ipv6_ext.pcap", "; maps equal: 0\n"},
    {"dynptr_parse", "", "traffic.pcap", "; maps equal: 0\n"},
};

TEST_F(DiffCliTest, EveryExampleAgreesWithTheKernel) {
    for (const Case& c : kCases) {
        const std::string capture = kCaptures + "/" + c.capture;
        auto frames = pcap::read_capture(capture);
        ASSERT_TRUE(frames.has_value()) << frames.error().render();
        const std::string n = std::to_string(frames->frames.size());
        std::string args = "diff " + kExamples + "/" + c.example + ".o -r " + capture;
        if (*c.program != 0) {
            args += std::string(" --program ") + c.program;
        }
        const auto r = run_sockfilter(args);
        EXPECT_EQ(r.status, 0) << c.example << " " << c.capture << ":\n" << r.output;
        EXPECT_TRUE(r.output.starts_with(n + " packets: " + n + " verdicts agree"))
            << c.example << " " << c.capture << ":\n" << r.output;
        EXPECT_TRUE(contains(r.output, c.maps)) << c.example << " " << c.capture << ":\n" << r.output;
    }
}

TEST_F(DiffCliTest, EveryKindOfComparedMapAgrees) {
    const auto r = run_sockfilter("diff " + kPrograms + "/diff_maps.o -r " + kCaptures + "/traffic.pcap");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "20 packets: 20 verdicts agree; maps equal: 3 (by_len, per_cpu, lengths); not "
                                   "compared: recent: LRU map at capacity (2 of 2 entries)"))
        << r.output;
}

TEST_F(DiffCliTest, RawIpCaptureGetsAnEthernetHeaderOnBothSides) {
    auto frames = pcap::read_capture(kCaptures + "/traffic.pcap");
    ASSERT_TRUE(frames.has_value());
    TempDir dir;
    const std::string raw = dir.path() + "/raw.pcap";
    auto w = pcap::Writer::create(raw, 12, 65535);  // DLT_RAW
    ASSERT_TRUE(w.has_value()) << w.error().render();
    std::size_t written = 0;
    for (const pcap::Frame& f : frames->frames) {
        const bool ip = f.bytes.size() > 14 && ((f.bytes[12] == 0x08 && f.bytes[13] == 0x00) ||
                                                (f.bytes[12] == 0x86 && f.bytes[13] == 0xdd));
        if (ip) {
            pcap::Frame out = f;
            out.bytes.erase(out.bytes.begin(), out.bytes.begin() + 14);
            out.orig_len -= 14;
            ASSERT_TRUE(w->write(out).has_value());
            ++written;
        }
    }
    ASSERT_TRUE(w->close().has_value());
    ASSERT_GE(written, 10U);
    for (const char* example : {"port_ld_abs", "proto_array", "ipv6_ext_walk"}) {
        const auto r = run_sockfilter("diff " + kExamples + "/" + example + ".o -r " + raw);
        const std::string n = std::to_string(written);
        EXPECT_EQ(r.status, 0) << example << ":\n" << r.output;
        EXPECT_TRUE(r.output.starts_with(n + " packets: " + n + " verdicts agree")) << example << ":\n" << r.output;
    }
}

TEST_F(DiffCliTest, RandomVerdictIsADivergence) {
    const auto r = run_sockfilter("diff " + kPrograms + "/diff_random.o -r " + kCaptures + "/traffic.pcap");
    EXPECT_EQ(r.status, 1) << r.output;
    // The first packet already differs (a 2^-32 chance of agreeing by luck).
    EXPECT_TRUE(r.output.starts_with("packet #0 diverges:\n    kernel:     returned 0x")) << r.output;
    EXPECT_TRUE(contains(r.output, "\n    sockfilter: returned 0x")) << r.output;
    EXPECT_TRUE(contains(r.output, "our trace of packet #0:\n")) << r.output;
    EXPECT_TRUE(contains(r.output, "\n       0: call 7 ")) << r.output;  // the trace, as run --trace prints it
    EXPECT_TRUE(contains(r.output, "note: the program calls bpf_get_prandom_u32, whose results differ legitimately"))
        << r.output;
}

TEST_F(DiffCliTest, ClockInAMapIsAMapDivergence) {
    const auto r = run_sockfilter("diff " + kPrograms + "/diff_clock.o -r " + kCaptures + "/traffic.pcap");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_TRUE(r.output.starts_with("map \"stamp\" differs after 20 packets at key 00 00 00 00:\n    kernel:     "))
        << r.output;
    EXPECT_TRUE(contains(r.output, "note: the program calls bpf_ktime_get_ns")) << r.output;

    const auto j = run_sockfilter("diff " + kPrograms + "/diff_clock.o -r " + kCaptures + "/traffic.pcap --json");
    EXPECT_EQ(j.status, 1);
    EXPECT_TRUE(j.output.starts_with("{\"divergence\":{\"map\":\"stamp\",\"where\":\"key 00 00 00 00\",\"kernel\":\""))
        << j.output;
    EXPECT_TRUE(contains(j.output, "\"nondeterministic_helpers\":[\"bpf_ktime_get_ns\"]")) << j.output;
}

TEST_F(DiffCliTest, ContextAppliesToBothSides) {
    TempDir dir;
    // Keeps a packet only when mark is 7 and cb[2] is 9.
    const std::string prog = dir.write("ctx.s",
                                       "r2 = *(u32 *)(r1 + 8)\n"
                                       "r3 = *(u32 *)(r1 + 56)\n"
                                       "r0 = 0\n"
                                       "if r2 != 7 goto +2\n"
                                       "if r3 != 9 goto +1\n"
                                       "r0 = -1\n"
                                       "exit\n");
    const std::string capture = kCaptures + "/traffic.pcap";
    auto r = run_sockfilter("diff " + prog + " -r " + capture + " --ctx mark=7,cb2=9 --json");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output, "{\"summary\":{\"packets\":20,\"agreed\":20,\"not_run\":0,\"maps_compared\":[],"
                        "\"maps_not_compared\":[]}}\n");

    r = run_sockfilter("diff " + prog + " -r " + capture + " --ctx hash=1");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.output, "sockfilter diff: --ctx: test-run: BPF_PROG_TEST_RUN cannot set hash (its ctx_in sets mark, "
                        "priority, ifindex, ingress_ifindex, cb0-cb4, gso_segs, gso_size)\n");
}

}  // namespace
}  // namespace sockfilter::testing
