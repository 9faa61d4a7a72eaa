// SPDX-License-Identifier: MIT
// sockfilter_bench: the interpreter (checked and unchecked) against native C, libpcap's classic
// BPF interpreter and the kernel's JIT (BPF_PROG_TEST_RUN), on the same workloads and frames.
// Results and method: docs/PERFORMANCE.md; run with bench/run.sh.
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "asm/assembler.h"
#include "bench/case.h"
#include "bench/classic.h"
#include "bench/summary.h"
#include "bench/workloads.h"
#include "kernel/bpf.h"
#include "runtime/load.h"
#include "runtime/packet.h"
#include "vm/interpreter.h"

namespace sockfilter::bench {

std::string prepare_run(const program::Program& prog, const std::vector<std::uint8_t>& frame,
                        std::optional<runtime::LoadedProgram>& loaded, std::optional<runtime::Skb>& skb) {
    auto l = runtime::load(prog, runtime::socket_filter_env());
    if (!l) {
        return l.error().render();
    }
    loaded = *l;
    auto s = runtime::make_skb(frame, runtime::dlt::kEn10mb, runtime::SocketKind::Packet, {});
    if (!s) {
        return s.error().render();
    }
    skb.emplace(std::move(*s));
    return {};
}

namespace {

std::string bench_name(const Case& c, const char* engine) {
    return fmt::format("{}/{}/{}", workload_id(c.workload), c.size, engine);
}

std::unique_ptr<Case> make_case(Workload w, std::uint32_t size, const std::optional<std::string>& kernel_refusal) {
    auto c = std::make_unique<Case>();
    c->workload = w;
    c->size = size;
    c->frame = make_frame(size);
    c->expected = native_run(w, c->frame.data(), size);
    auto text = program_text(w);
    if (!text) {
        c->error = text.error().render();
        return c;
    }
    auto prog = assembler::assemble(*text, program_file(w), assembler::Syntax::Kernel);
    if (!prog) {
        c->error = prog.error().render();
        return c;
    }
    c->program.emplace(std::move(*prog));
    c->error = prepare_run(*c->program, c->frame, c->loaded, c->skb);
    if (!c->error.empty()) {
        return c;
    }

    if (kernel_refusal) {
        c->kernel_error = *kernel_refusal;
        return c;
    }
    kernel::LoadOptions opts;
    opts.log_level = 0;
    auto fd = kernel::load_socket_filter(*c->program, opts);
    if (!fd) {
        c->kernel_error = "BPF_PROG_LOAD: " + fd.error().render();
        return c;
    }
    c->kernel_fd = std::move(*fd);
    c->kernel_frame.assign(c->frame.begin(), c->frame.begin() + 14);
    c->kernel_frame.insert(c->kernel_frame.end(), c->frame.begin(), c->frame.end());
    return c;
}

void run_interpreter(benchmark::State& state, const Case& c, bool checked) {
    if (!c.error.empty()) {
        state.SkipWithError(c.error.c_str());
        return;
    }
    vm::Options options;
    options.checked = checked;
    vm::Interpreter interp(*c.loaded, options);
    runtime::Skb skb = *c.skb;
    vm::RunInput in;
    in.skb = &skb;
    const vm::ExecResult first = interp.run(in);
    if (first.status != vm::ExecStatus::Ok || static_cast<std::uint32_t>(first.r0) != c.expected) {
        state.SkipWithError(fmt::format("interpreter returned {:#x} (status {}, {}), expected {:#x}", first.r0,
                                        static_cast<int>(first.status), interp.fault_message(), c.expected)
                                .c_str());
        return;
    }
    for (auto _ : state) {
        vm::ExecResult r = interp.run(in);
        benchmark::DoNotOptimize(r);
    }
}

void run_native(benchmark::State& state, const Case& c) {
    const std::uint8_t* bytes = c.frame.data();
    const auto len = static_cast<std::uint32_t>(c.frame.size());
    for (auto _ : state) {
        // The compiler must assume the pointer and the bytes behind it changed: no hoisting.
        benchmark::DoNotOptimize(bytes);
        benchmark::ClobberMemory();
        std::uint32_t v = native_run(c.workload, bytes, len);
        benchmark::DoNotOptimize(v);
    }
}

/// Every case, alive until the process ends (the benchmarks refer to them).
std::vector<std::unique_ptr<Case>>& cases() {
    static std::vector<std::unique_ptr<Case>> all;
    return all;
}

void register_all() {
    std::optional<std::string> refusal;
    auto probe = kernel::probe();
    if (!probe) {
        refusal = "bpf() probe failed: " + probe.error().render();
    } else if (!probe->permitted) {
        refusal = probe->reason;
    }
    if (refusal) {
        fmt::print(stderr, "sockfilter_bench: kernel rows are skipped: {}\n", *refusal);
    }
    for (Workload w : kWorkloads) {
        for (std::uint32_t size : kFrameSizes) {
            cases().push_back(make_case(w, size, refusal));
            const Case& c = *cases().back();
            if (!c.error.empty()) {
                fmt::print(stderr, "sockfilter_bench: {}/{}: {}\n", workload_id(w), size, c.error);
            }
            benchmark::RegisterBenchmark(bench_name(c, "interp_checked").c_str(),
                                         [&c](benchmark::State& s) { run_interpreter(s, c, true); });
            benchmark::RegisterBenchmark(bench_name(c, "interp_unchecked").c_str(),
                                         [&c](benchmark::State& s) { run_interpreter(s, c, false); });
            benchmark::RegisterBenchmark(bench_name(c, "native_c").c_str(),
                                         [&c](benchmark::State& s) { run_native(s, c); });
            if (w != Workload::Sum16) {
                benchmark::RegisterBenchmark(bench_name(c, "libpcap").c_str(),
                                             [&c](benchmark::State& s) { run_libpcap(s, c); });
            }
            // A fixed number of batches: each is already millions of runs.
            benchmark::RegisterBenchmark(bench_name(c, "kernel_jit").c_str(),
                                         [&c](benchmark::State& s) { run_kernel(s, c); })
                ->UseManualTime()
                ->Iterations(10);
        }
    }
}

std::string first_line(const char* path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line.empty() ? "unreadable" : line;
}

void add_context() {
    utsname u{};
    if (uname(&u) == 0) {
        benchmark::AddCustomContext("kernel", fmt::format("{} {}", u.sysname, u.release));
    }
    benchmark::AddCustomContext("bpf_jit_enable", first_line("/proc/sys/net/core/bpf_jit_enable"));
    benchmark::AddCustomContext("compiler", "g++ " __VERSION__);
    benchmark::AddCustomContext("libpcap", libpcap_version());
}

}  // namespace

}  // namespace sockfilter::bench

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    sockfilter::bench::add_context();
    sockfilter::bench::register_all();
    sockfilter::bench::register_classic();
    // Colour only on a terminal, so that the tables piped into a file stay plain markdown.
    sockfilter::bench::SummaryReporter reporter(isatty(STDOUT_FILENO) != 0 ? benchmark::ConsoleReporter::OO_ColorTabular
                                                                          : benchmark::ConsoleReporter::OO_Tabular);
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    return 0;
}
