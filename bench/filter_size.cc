// SPDX-License-Identifier: MIT
// filter_size: the instruction count of our compiled filters against libpcap's optimized classic
// code, for every distinct EN10MB expression of accept.tsv that both compile (docs/PERFORMANCE.md,
// "Filter program size"). Ratio = our eBPF slots / libpcap's classic instructions (optimize=1),
// reported as median and worst, separately for the expressions whose code holds the IPv6
// extension-header walk (recognised by its loop counter r7, the only use of r7 in the compiler's
// register plan, lib/filter/codegen.cc). Usage: filter_size PATH/TO/accept.tsv
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "filter/compile.h"
#include "filter/tsv.h"
#include "runtime/packet.h"

namespace {

struct Row {
    double ratio;
    std::string expr;
    std::size_t ours;
    unsigned theirs;
};

void report(const char* what, std::vector<Row> rows) {
    if (rows.empty()) {
        std::printf("%s: none\n", what);
        return;
    }
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.ratio < b.ratio; });
    const Row& med = rows[rows.size() / 2];
    const Row& worst = rows.back();
    const auto better = std::count_if(rows.begin(), rows.end(), [](const Row& r) { return r.ratio <= 0.8; });
    std::printf("%s: %zu expressions, median ratio %.2f ('%s': %zu vs %u), worst %.2f ('%s': %zu vs %u), "
                "best %.2f, %ld at or below 0.8\n",
                what, rows.size(), med.ratio, med.expr.c_str(), med.ours, med.theirs, worst.ratio, worst.expr.c_str(),
                worst.ours, worst.theirs, rows.front().ratio, static_cast<long>(better));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: filter_size PATH/TO/accept.tsv\n");
        return 2;
    }
    using namespace sockfilter;
    std::set<std::string> seen;
    std::vector<Row> plain;
    std::vector<Row> walk;
    for (const auto& r : filter::testing::read_tsv(argv[1])) {
        if (r.size() < 3 || r[2] == "_enumerate_bpf_image" || !seen.insert(r[2]).second) {
            continue;
        }
        auto lt = filter::parse_linktype(r[1]);
        if (!lt || *lt != runtime::dlt::kEn10mb) {
            continue;
        }
        auto prog = filter::compile(r[2], filter::Options{});
        if (!prog) {
            continue;
        }
        pcap_t* dead = pcap_open_dead(DLT_EN10MB, 262144);
        bpf_program bp{};
        if (dead == nullptr || pcap_compile(dead, &bp, r[2].c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
            if (dead != nullptr) {
                pcap_close(dead);
            }
            continue;
        }
        const auto slots = prog->slots();
        const bool has_walk = std::any_of(slots.begin(), slots.end(), [](const isa::Insn& i) { return i.dst == 7; });
        Row row{static_cast<double>(slots.size()) / bp.bf_len, r[2], slots.size(), bp.bf_len};
        (has_walk ? walk : plain).push_back(row);
        pcap_freecode(&bp);
        pcap_close(dead);
    }
    report("without the IPv6 extension-header walk", plain);
    report("with the walk", walk);
    return 0;
}
