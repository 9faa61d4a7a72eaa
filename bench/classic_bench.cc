// SPDX-License-Identifier: MIT
// The classic benchmarks: one pcap_compile output (optimized, EN10MB) per filter, run by libpcap's
// bpf_filter, by cbpf::Interpreter and converted (cbpf::convert) on vm::Interpreter, on the
// benchmark frames; every engine's first result is checked against bpf_filter's before timing.
#include <pcap/pcap.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "bench/case.h"
#include "bench/classic.h"
#include "bench/workloads.h"
#include "cbpf/convert.h"
#include "cbpf/interpreter.h"
#include "cbpf/validate.h"
#include "runtime/load.h"
#include "vm/interpreter.h"

namespace sockfilter::bench {

namespace {

struct ClassicFilter {
    const char* id;
    const char* expr;
    const char* verdict;  ///< on the benchmark frames (TCP 198.18.0.1:40000 -> 198.18.0.2:80)
};

constexpr ClassicFilter kFilters[] = {
    {"C1", "tcp dst port 80", "keep"},
    {"C2", "udp port 53", "drop"},
    {"C3", "host 198.18.0.2 and (tcp port 443 or tcp port 80)", "keep"},
    {"C4", "ip and tcp[13] & 0x03 != 0", "keep"},
    {"C5", "ip6 or arp or (ip and icmp)", "drop"},
};

struct ClassicCase {
    std::string error;                 ///< why the case cannot run; every engine skips with it
    std::vector<std::uint8_t> frame;
    std::vector<bpf_insn> pcap;        ///< for bpf_filter
    cbpf::Filter filter;               ///< the same instructions
    std::optional<program::Program> converted;
    std::optional<runtime::LoadedProgram> loaded;
    std::optional<runtime::Skb> skb;   ///< the frame as an AF_PACKET SOCK_RAW socket sees it
    std::uint32_t expected = 0;        ///< bpf_filter's result
    std::unique_ptr<runtime::Instance> instance;
};

std::unique_ptr<ClassicCase> make_classic_case(const ClassicFilter& f, std::uint32_t size) {
    auto c = std::make_unique<ClassicCase>();
    c->frame = make_frame(size);
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 262144);
    if (dead == nullptr) {
        c->error = "pcap_open_dead failed";
        return c;
    }
    bpf_program bp{};
    if (pcap_compile(dead, &bp, f.expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        c->error = std::string("pcap_compile: ") + pcap_geterr(dead);
        pcap_close(dead);
        return c;
    }
    c->pcap.assign(bp.bf_insns, bp.bf_insns + bp.bf_len);
    pcap_freecode(&bp);
    pcap_close(dead);
    for (const bpf_insn& in : c->pcap) {
        c->filter.push_back(cbpf::Insn{in.code, in.jt, in.jf, in.k});
    }
    const auto len = static_cast<u_int>(c->frame.size());
    c->expected = bpf_filter(c->pcap.data(), c->frame.data(), len, len);
    if (auto v = cbpf::validate(c->filter); !v) {
        c->error = v.error().render();
        return c;
    }
    auto prog = cbpf::convert(c->filter, f.id);
    if (!prog) {
        c->error = prog.error().render();
        return c;
    }
    c->converted.emplace(std::move(*prog));
    c->error = prepare_run(*c->converted, c->frame, c->loaded, c->skb);
    if (!c->error.empty()) {
        return c;
    }
    auto inst = runtime::Instance::create({}, {}, {});
    if (!inst) {
        c->error = inst.error().render();
        return c;
    }
    c->instance = std::move(*inst);
    return c;
}

bool skip_if_wrong(benchmark::State& state, const ClassicCase& c, const char* engine, std::uint32_t got) {
    if (got == c.expected) {
        return false;
    }
    state.SkipWithError(fmt::format("{} returned {:#x}, bpf_filter {:#x}", engine, got, c.expected).c_str());
    return true;
}

void run_pcap(benchmark::State& state, const ClassicCase& c) {
    const bpf_insn* insns = c.pcap.data();
    const std::uint8_t* bytes = c.frame.data();
    const auto len = static_cast<u_int>(c.frame.size());
    for (auto _ : state) {
        benchmark::DoNotOptimize(bytes);
        benchmark::ClobberMemory();
        u_int v = bpf_filter(insns, bytes, len, len);
        benchmark::DoNotOptimize(v);
    }
}

void run_cbpf(benchmark::State& state, const ClassicCase& c) {
    cbpf::Interpreter interp(c.filter, *c.instance);
    const runtime::Skb& skb = *c.skb;
    if (skip_if_wrong(state, c, "the classic interpreter", interp.run(skb))) {
        return;
    }
    for (auto _ : state) {
        std::uint32_t v = interp.run(skb);
        benchmark::DoNotOptimize(v);
    }
}

void run_converted(benchmark::State& state, const ClassicCase& c, bool checked) {
    vm::Options options;
    options.checked = checked;
    vm::Interpreter interp(*c.loaded, options);
    runtime::Skb skb = *c.skb;
    vm::RunInput in;
    in.skb = &skb;
    const vm::ExecResult first = interp.run(in);
    if (first.status != vm::ExecStatus::Ok) {
        state.SkipWithError(fmt::format("the conversion faulted: {}", interp.fault_message()).c_str());
        return;
    }
    if (skip_if_wrong(state, c, "the conversion", static_cast<std::uint32_t>(first.r0))) {
        return;
    }
    for (auto _ : state) {
        vm::ExecResult r = interp.run(in);
        benchmark::DoNotOptimize(r);
    }
}

/// Every classic case, alive until the process ends (the benchmarks refer to them).
std::vector<std::unique_ptr<ClassicCase>>& classic_cases() {
    static std::vector<std::unique_ptr<ClassicCase>> all;
    return all;
}

}  // namespace

void register_classic() {
    for (const ClassicFilter& f : kFilters) {
        for (std::uint32_t size : kFrameSizes) {
            classic_cases().push_back(make_classic_case(f, size));
            const ClassicCase& c = *classic_cases().back();
            const std::string base = fmt::format("Classic/{}/{}/", f.id, size);
            if (!c.error.empty()) {
                fmt::print(stderr, "sockfilter_bench: {}: {}\n", base, c.error);
            }
            const auto add = [&](const char* engine, auto body) {
                benchmark::RegisterBenchmark((base + engine).c_str(), [&c, body](benchmark::State& s) {
                    if (!c.error.empty()) {
                        s.SkipWithError(c.error.c_str());
                        return;
                    }
                    body(s, c);
                });
            };
            add("libpcap", run_pcap);
            add("cbpf_interp", run_cbpf);
            add("converted_checked", [](benchmark::State& s, const ClassicCase& cc) { run_converted(s, cc, true); });
            add("converted_unchecked",
                [](benchmark::State& s, const ClassicCase& cc) { run_converted(s, cc, false); });
        }
    }
}

std::string classic_title(std::string_view id) {
    for (const ClassicFilter& f : kFilters) {
        if (id == f.id) {
            return fmt::format("{} `{}` ({})", f.id, f.expr, f.verdict);
        }
    }
    return std::string(id);
}

}  // namespace sockfilter::bench
