// SPDX-License-Identifier: MIT
// Differential against libpcap: every accept.tsv expression of the EN10MB, RAW and LINUX_SLL link
// types, compiled by pcap_compile (optimized and not), run by libpcap's bpf_filter, by our
// classic interpreter and converted on our eBPF interpreter, over every packet of the apply.tsv
// captures of that link type (../shared/pcap-filter, read in place).
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cbpf/convert.h"
#include "cbpf/interpreter.h"
#include "cbpf/validate.h"
#include "runtime/load.h"
#include "vm/interpreter.h"

namespace sockfilter::cbpf {
namespace {

std::string shared() {
    const char* d = std::getenv("SF_SHARED_DIR");
    return d != nullptr && *d != '\0' ? d : SF_DEFAULT_SHARED_DIR;
}

std::vector<std::vector<std::string>> read_tsv(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::vector<std::string>> rows;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::vector<std::string> cols;
        std::stringstream ss(line);
        std::string c;
        while (std::getline(ss, c, '\t')) cols.push_back(c);
        rows.push_back(cols);
    }
    return rows;
}

/// The frames of every apply.tsv capture, by link type.
std::map<int, std::vector<std::vector<std::uint8_t>>> frames_by_linktype() {
    std::map<int, std::vector<std::vector<std::uint8_t>>> out;
    std::map<std::string, bool> seen;
    for (const auto& row : read_tsv(shared() + "/pcap-filter/apply.tsv")) {
        if (row.size() < 2 || seen[row[1]]) continue;
        seen[row[1]] = true;
        char err[PCAP_ERRBUF_SIZE];
        pcap_t* p = pcap_open_offline((shared() + "/pcap-filter/pcaps/" + row[1]).c_str(), err);
        if (p == nullptr) continue;
        const int dlt = pcap_datalink(p);
        pcap_pkthdr* h = nullptr;
        const u_char* data = nullptr;
        while (pcap_next_ex(p, &h, &data) == 1) {
            out[dlt].emplace_back(data, data + h->caplen);
        }
        pcap_close(p);
    }
    return out;
}

TEST(PcapDiff, AcceptedExpressionsAgreeWithBpfFilter) {
    const auto frames = frames_by_linktype();
    const std::map<std::string, int> kTypes = {{"EN10MB", DLT_EN10MB}, {"RAW", DLT_RAW}, {"LINUX_SLL", DLT_LINUX_SLL}};
    auto inst = *runtime::Instance::create({}, {}, {});
    std::size_t programs = 0;
    std::size_t runs = 0;
    std::size_t skipped = 0;
    for (const auto& row : read_tsv(shared() + "/pcap-filter/accept.tsv")) {
        if (row.size() < 3) continue;
        auto t = kTypes.find(row[1]);
        if (t == kTypes.end()) continue;
        auto fr = frames.find(t->second);
        for (int optimize : {1, 0}) {
            pcap_t* dead = pcap_open_dead(t->second, 262144);
            bpf_program bp{};
            if (pcap_compile(dead, &bp, row[2].c_str(), optimize, PCAP_NETMASK_UNKNOWN) != 0) {
                pcap_close(dead);
                continue;  // accepted by libpcap 1.11-pre, not by this libpcap
            }
            Filter f;
            for (u_int i = 0; i < bp.bf_len; ++i) {
                f.push_back(Insn{bp.bf_insns[i].code, bp.bf_insns[i].jt, bp.bf_insns[i].jf, bp.bf_insns[i].k});
            }
            // libpcap's userland bpf_filter has no sk_buff: it fails every ancillary load (e.g.
            // `inbound`'s pkttype), so those programs are compared only by the kernel tests.
            const bool ancillary_load = std::any_of(f.begin(), f.end(), [](const Insn& in) {
                return code::cls(in.code) == code::kLd && code::mode(in.code) == code::kAbs && in_ancillary_range(in.k);
            });
            if (ancillary_load) {
                ++skipped;
                pcap_freecode(&bp);
                pcap_close(dead);
                continue;
            }
            auto v = validate(f);
            if (!v) {
                // `protochain` loops with a backward ja, which the kernel refuses as well.
                EXPECT_NE(row[2].find("protochain"), std::string::npos) << row[2] << ": " << v.error().render();
                ++skipped;
                pcap_freecode(&bp);
                pcap_close(dead);
                continue;
            }
            auto prog = convert(f, "expr");
            ASSERT_TRUE(prog) << row[2] << ": " << prog.error().render();
            ++programs;
            Interpreter classic(f, *inst);
            vm::Interpreter engine(runtime::LoadedProgram{&*prog, runtime::socket_filter_env()}, vm::Options{});
            if (fr != frames.end()) {
                for (const auto& frame : fr->second) {
                    const auto len = static_cast<u_int>(frame.size());
                    const u_int want = bpf_filter(bp.bf_insns, frame.data(), len, len);
                    runtime::Skb skb;
                    skb.bytes = frame;
                    skb.mac_header = 0;
                    EXPECT_EQ(classic.run(skb), want) << row[2] << " (opt " << optimize << ")";
                    vm::RunInput in;
                    in.skb = &skb;
                    const auto r = engine.run(in);
                    EXPECT_EQ(r.status, vm::ExecStatus::Ok) << engine.fault_message();
                    EXPECT_EQ(static_cast<std::uint32_t>(r.r0), want) << row[2] << " converted (opt " << optimize << ")";
                    ++runs;
                }
            }
            pcap_freecode(&bp);
            pcap_close(dead);
        }
    }
    EXPECT_GT(programs, 1000u);
    EXPECT_GT(runs, 10000u);
    std::printf("%zu programs, %zu packet runs on each engine, %zu programs with ancillary loads or a backward jump (protochain) left out\n",
                programs, runs, skipped);
}

}  // namespace
}  // namespace sockfilter::cbpf
