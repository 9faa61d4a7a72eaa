// SPDX-License-Identifier: MIT
// A console reporter that also collects every benchmark's ns/packet and, at the end, prints the
// markdown tables docs/PERFORMANCE.md shows: ns/packet per engine and the interpreter's ratios, and
// the same for the classic rows (bench/classic.h).
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

namespace sockfilter::bench {

/// Engines, in table column order. Benchmarks are named "<workload>/<frame size>/<engine>".
inline constexpr const char* kEngines[] = {"interp_checked", "interp_unchecked", "native_c", "libpcap", "kernel_jit"};

/// Google Benchmark's console output, plus a summary table printed by Finalize(). With
/// repetitions it uses the median aggregate; without, the single run.
class SummaryReporter final : public benchmark::ConsoleReporter {
public:
    using benchmark::ConsoleReporter::ConsoleReporter;

    void ReportRuns(const std::vector<Run>& reports) override;
    void Finalize() override;

private:
    struct Cell {
        double ns = 0;          ///< ns per packet
        std::string error;      ///< why there is no number (skipped, failed)
        bool median = false;    ///< taken from a median aggregate
    };
    /// The classic tables: ns/packet per engine and the ratios between them.
    template <class Value>
    void print_classic(std::ostream& out, const Value& value) const;
    std::vector<std::string> rows_;                    ///< "<workload>/<size>" in first-seen order
    std::vector<std::string> classic_rows_;            ///< "Classic/<filter>/<size>" in first-seen order
    std::map<std::string, std::map<std::string, Cell>> cells_;  ///< row -> engine -> cell
};

}  // namespace sockfilter::bench
