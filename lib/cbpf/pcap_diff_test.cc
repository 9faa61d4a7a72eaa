// SPDX-License-Identifier: MIT
// Differential against libpcap: every accept.tsv expression of the EN10MB, RAW and LINUX_SLL link
// types, compiled by pcap_compile (optimized and not), run by libpcap's bpf_filter, by our
// classic interpreter and converted on our eBPF interpreter, over every packet of the apply.tsv
// captures of that link type (../shared/pcap-filter, read in place) and over generated packets
// (tests/netns protocol_mix, as each link type would capture them).
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cbpf/convert.h"
#include "cbpf/interpreter.h"
#include "cbpf/pcap_test_util.h"
#include "cbpf/validate.h"
#include "frames.h"
#include "runtime/load.h"
#include "vm/interpreter.h"

namespace sockfilter::cbpf::testing {
namespace {

/// protocol_mix's frames as each link type captures them.
std::map<int, std::vector<std::vector<std::uint8_t>>> generated_by_linktype() {
    std::map<int, std::vector<std::vector<std::uint8_t>>> out;
    for (const auto& c : sockfilter::testing::netns::protocol_mix(sockfilter::testing::netns::Hosts::fixed())) {
        for (int dlt : {DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL}) {
            if (auto f = as_linktype(c.bytes, dlt)) out[dlt].push_back(std::move(*f));
        }
    }
    return out;
}

struct Counts {
    std::size_t programs = 0;
    std::size_t runs = 0;
    std::size_t matches = 0;
    std::size_t skipped = 0;
};

void compare(const std::map<int, std::vector<std::vector<std::uint8_t>>>& frames, Counts& n) {
    auto inst = *runtime::Instance::create({}, {}, {});
    for (const Compiled& c : compile_accepted()) {
        // libpcap's userland bpf_filter has no sk_buff: it fails every ancillary load (e.g.
        // `inbound`'s pkttype), so those programs are compared only by the kernel tests.
        if (has_ancillary_load(c.filter)) {
            ++n.skipped;
            continue;
        }
        auto v = validate(c.filter);
        if (!v) {
            // `protochain` loops with a backward ja, which the kernel refuses as well.
            EXPECT_NE(c.expr.find("protochain"), std::string::npos) << c.expr << ": " << v.error().render();
            ++n.skipped;
            continue;
        }
        auto prog = convert(c.filter, "expr");
        ASSERT_TRUE(prog) << c.expr << ": " << prog.error().render();
        ++n.programs;
        Interpreter classic(c.filter, *inst);
        vm::Interpreter engine(runtime::LoadedProgram{&*prog, runtime::socket_filter_env()}, vm::Options{});
        auto fr = frames.find(c.dlt);
        if (fr == frames.end()) continue;
        for (const auto& frame : fr->second) {
            const auto len = static_cast<u_int>(frame.size());
            const u_int want = bpf_filter(c.pcap.data(), frame.data(), len, len);
            runtime::Skb skb;
            skb.bytes = frame;
            skb.mac_header = 0;
            EXPECT_EQ(classic.run(skb), want) << c.expr << " (opt " << c.optimize << ")";
            vm::RunInput in;
            in.skb = &skb;
            const auto r = engine.run(in);
            EXPECT_EQ(r.status, vm::ExecStatus::Ok) << engine.fault_message();
            EXPECT_EQ(static_cast<std::uint32_t>(r.r0), want) << c.expr << " converted (opt " << c.optimize << ")";
            ++n.runs;
            n.matches += want != 0;
        }
    }
}

TEST(PcapDiff, AcceptedExpressionsAgreeWithBpfFilterOnCaptures) {
    Counts n;
    compare(frames_by_linktype(), n);
    EXPECT_GT(n.programs, 1000u);
    EXPECT_GT(n.runs, 10000u);
    std::printf("captures: %zu programs, %zu packet runs on each engine (%zu kept), %zu programs with ancillary "
                "loads or a backward jump (protochain) left out\n",
                n.programs, n.runs, n.matches, n.skipped);
}

TEST(PcapDiff, AcceptedExpressionsAgreeWithBpfFilterOnGeneratedPackets) {
    Counts n;
    compare(generated_by_linktype(), n);
    EXPECT_GT(n.programs, 1000u);
    EXPECT_GT(n.runs, 1000000u);
    // The mix is meant to reach the programs' accepting paths, not only their early drops.
    EXPECT_GT(n.matches, n.runs / 50);
    std::printf("generated: %zu programs, %zu packet runs on each engine (%zu kept)\n", n.programs, n.runs,
                n.matches);
}

}  // namespace
}  // namespace sockfilter::cbpf::testing
