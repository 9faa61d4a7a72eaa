// SPDX-License-Identifier: MIT
// One benchmark case (a workload on one frame) with what each engine needs, and the benchmark
// bodies of the reference engines. libpcap's and the kernel's headers both define
// `struct bpf_insn`, so each reference lives in its own file and only this header is shared.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/workloads.h"
#include "kernel/fd.h"
#include "program/program.h"
#include "runtime/load.h"
#include "runtime/skb.h"

namespace sockfilter::bench {

/// One workload on one frame, built once before any timing.
struct Case {
    Workload workload = Workload::Accept;
    std::uint32_t size = 0;             ///< frame size in bytes
    std::vector<std::uint8_t> frame;    ///< the Ethernet frame
    std::string error;                  ///< why the case cannot run; every engine skips with it
    std::optional<program::Program> program;
    std::optional<runtime::LoadedProgram> loaded;  ///< `program` in the socket-filter environment
    std::optional<runtime::Skb> skb;    ///< `frame` as an AF_PACKET SOCK_RAW socket sees it
    std::uint32_t expected = 0;         ///< what every engine must return (native C's result)
    kernel::Fd kernel_fd;               ///< `program` loaded into the kernel, if permitted
    std::string kernel_error;           ///< why the kernel row is skipped
    /// The frame behind a copy of its own Ethernet header: BPF_PROG_TEST_RUN strips one header
    /// (offset 0 = byte 14), so the program then sees `frame` at offset 0, as on a packet socket,
    /// and reads the same bytes with the same offsets as the other engines.
    std::vector<std::uint8_t> kernel_frame;
};

/// Loads `prog` in the socket-filter environment into `loaded` and builds into `skb` the sk_buff an
/// AF_PACKET SOCK_RAW socket sees for `frame`; returns why not, or an empty string.
[[nodiscard]] std::string prepare_run(const program::Program& prog, const std::vector<std::uint8_t>& frame,
                                      std::optional<runtime::LoadedProgram>& loaded, std::optional<runtime::Skb>& skb);

/// libpcap's bpf_filter() on the classic program for the case's workload (W1: a hand-built
/// `ret #-1`; W2: pcap_compile of "tcp dst port 80", optimized). Skips W3 (no loops in cBPF).
void run_libpcap(benchmark::State& state, const Case& c);

/// The libpcap version string, for the benchmark context.
[[nodiscard]] std::string libpcap_version();

/// BPF_PROG_TEST_RUN with a repeat count, timed by the kernel's own per-run `duration` (set as
/// manual time, so the reported time is ns per packet without the syscall).
void run_kernel(benchmark::State& state, const Case& c);

}  // namespace sockfilter::bench
