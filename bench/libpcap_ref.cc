// SPDX-License-Identifier: MIT
// Reference engine: libpcap's classic BPF interpreter, bpf_filter().
#include <pcap/pcap.h>

#include <string>
#include <utility>

#include <fmt/format.h>

#include "bench/case.h"

namespace sockfilter::bench {

namespace {

/// A classic program for bpf_filter(), freed the way it was allocated.
class ClassicProgram {
public:
    ClassicProgram() = default;
    ~ClassicProgram() {
        if (from_pcap_) {
            pcap_freecode(&prog_);
        }
    }
    ClassicProgram(const ClassicProgram&) = delete;
    ClassicProgram& operator=(const ClassicProgram&) = delete;

    /// Builds the program for `w`; false with `error` set if there is none.
    bool build(Workload w, std::string& error) {
        switch (w) {
            case Workload::Accept:
                // `ret #-1`: keep the whole packet.
                accept_ = bpf_insn{BPF_RET | BPF_K, 0, 0, 0xffffffffu};
                prog_.bf_insns = &accept_;
                prog_.bf_len = 1;
                return true;
            case Workload::TcpDst80: {
                pcap_t* dead = pcap_open_dead(DLT_EN10MB, 262144);
                if (dead == nullptr) {
                    error = "pcap_open_dead failed";
                    return false;
                }
                const int rc = pcap_compile(dead, &prog_, "tcp dst port 80", 1, PCAP_NETMASK_UNKNOWN);
                if (rc != 0) {
                    error = std::string("pcap_compile: ") + pcap_geterr(dead);
                }
                pcap_close(dead);
                from_pcap_ = rc == 0;
                return rc == 0;
            }
            case Workload::Sum16: error = "classic BPF has no loops"; return false;
        }
        return false;
    }

    [[nodiscard]] const bpf_insn* insns() const { return prog_.bf_insns; }

private:
    bpf_program prog_{};
    bpf_insn accept_{};
    bool from_pcap_ = false;
};

}  // namespace

std::string libpcap_version() { return pcap_lib_version(); }

void run_libpcap(benchmark::State& state, const Case& c) {
    ClassicProgram prog;
    std::string error;
    if (!prog.build(c.workload, error)) {
        state.SkipWithError(error.c_str());
        return;
    }
    const bpf_insn* insns = prog.insns();
    const std::uint8_t* bytes = c.frame.data();
    const auto len = static_cast<unsigned>(c.frame.size());
    // pcap's filters return the snapshot length (262144) on a match, not -1: compare verdicts.
    const unsigned first = bpf_filter(insns, bytes, len, len);
    if ((first != 0) != (c.expected != 0)) {
        state.SkipWithError(
            fmt::format("bpf_filter returned {}, expected a {}", first, c.expected != 0 ? "match" : "drop").c_str());
        return;
    }
    for (auto _ : state) {
        // The compiler must assume the pointer and the bytes behind it changed: no hoisting.
        benchmark::DoNotOptimize(bytes);
        benchmark::ClobberMemory();
        unsigned v = bpf_filter(insns, bytes, len, len);
        benchmark::DoNotOptimize(v);
    }
}

}  // namespace sockfilter::bench
