// SPDX-License-Identifier: MIT
// The summary reporter: collects ns/packet per (workload, frame size, engine) and prints markdown.
#include "bench/summary.h"

#include <algorithm>
#include <ostream>
#include <span>

#include <fmt/format.h>

#include "bench/classic.h"
#include "bench/workloads.h"

namespace sockfilter::bench {

namespace {

double to_ns(double value, benchmark::TimeUnit unit) {
    switch (unit) {
        case benchmark::kNanosecond: return value;
        case benchmark::kMicrosecond: return value * 1e3;
        case benchmark::kMillisecond: return value * 1e6;
        case benchmark::kSecond: return value * 1e9;
    }
    return value;
}

std::string format_ns(double ns) { return ns < 100 ? fmt::format("{:.1f}", ns) : fmt::format("{:.0f}", ns); }

std::string format_ratio(double r) { return r < 10 ? fmt::format("{:.2f}x", r) : fmt::format("{:.1f}x", r); }

/// "W2/74" -> "W2 tcp dst port 80 | 74".
std::string row_title(const std::string& row) {
    const std::size_t slash = row.find('/');
    const std::string id = row.substr(0, slash);
    std::string title = id;
    for (Workload w : kWorkloads) {
        if (workload_id(w) == id) {
            title = fmt::format("{} {}", id, workload_title(w));
        }
    }
    return fmt::format("{} | {}", title, slash == std::string::npos ? "" : row.substr(slash + 1));
}

/// One ratio column: engine `num`'s time over engine `den`'s.
struct Ratio {
    const char* title;
    const char* num;
    const char* den;
};

/// A markdown table of `ratios` for each row: header `first` (the row title columns, e.g.
/// "| workload | frame (B)"), then one line per row with `title(row)` and each ratio or n/a.
template <class Value, class Title>
void ratio_table(std::ostream& out, const char* first, std::span<const Ratio> ratios,
                 const std::vector<std::string>& rows, const Value& value, const Title& title) {
    out << first;
    for (const Ratio& r : ratios) {
        out << " | " << r.title;
    }
    out << " |\n|---|---:";
    for (std::size_t i = 0; i < ratios.size(); ++i) {
        out << "|---:";
    }
    out << "|\n";
    for (const std::string& row : rows) {
        out << "| " << title(row);
        for (const Ratio& r : ratios) {
            const auto* n = value(row, r.num);
            const auto* d = value(row, r.den);
            if (n == nullptr || d == nullptr || !n->error.empty() || !d->error.empty() || d->ns <= 0) {
                out << " | n/a";
            } else {
                out << " | " << format_ratio(n->ns / d->ns);
            }
        }
        out << " |\n";
    }
}

}  // namespace

void SummaryReporter::ReportRuns(const std::vector<Run>& reports) {
    benchmark::ConsoleReporter::ReportRuns(reports);
    for (const Run& run : reports) {
        const std::string& name = run.run_name.function_name;
        const std::size_t last = name.rfind('/');
        if (last == std::string::npos || name.rfind("Maps/", 0) == 0) {
            continue;  // the map benchmarks are per call, not per packet: the console table has them
        }
        const std::string row = name.substr(0, last);
        const std::string engine = name.substr(last + 1);
        const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
        if (run.run_type == Run::RT_Aggregate && !median) {
            continue;
        }
        auto& rows = row.rfind("Classic/", 0) == 0 ? classic_rows_ : rows_;
        if (std::find(rows.begin(), rows.end(), row) == rows.end()) {
            rows.push_back(row);
        }
        Cell& cell = cells_[row][engine];
        if (run.error_occurred) {
            cell.error = run.error_message;
            continue;
        }
        if (cell.median && !median) {
            continue;  // a repetition after the median was seen cannot happen, but never downgrade
        }
        // Without repetitions the single run is the value; with them the median replaces it.
        // Manual time (the kernel's own duration) is the measurement; otherwise CPU time, which
        // a shared machine disturbs less than wall time (it leaves out time spent preempted).
        const bool manual = !run.run_name.time_type.empty();
        cell.ns = to_ns(manual ? run.GetAdjustedRealTime() : run.GetAdjustedCPUTime(), run.time_unit);
        cell.median = median;
        cell.error.clear();
    }
}

template <class Value>
void SummaryReporter::print_classic(std::ostream& out, const Value& value) const {
    // "Classic/C2/74" -> "C2 `udp port 53` (drop) | 74".
    const auto title = [](const std::string& row) {
        const std::string rest = row.substr(std::string_view("Classic/").size());
        const std::size_t slash = rest.find('/');
        return fmt::format("{} | {}", classic_title(rest.substr(0, slash)), rest.substr(slash + 1));
    };
    const auto cell_text = [](const Cell* c) {
        return c == nullptr ? std::string("n/a") : !c->error.empty() ? "skipped: " + c->error : format_ns(c->ns);
    };
    out << "\n### Classic BPF: ns per packet (median, CPU time; lower is better)\n\n";
    out << "| filter (verdict) | frame (B) | libpcap bpf_filter | classic interpreter | converted, checked | "
           "converted, unchecked |\n|---|---:|---:|---:|---:|---:|\n";
    for (const std::string& row : classic_rows_) {
        out << "| " << title(row);
        for (const char* engine : kClassicEngines) {
            out << " | " << cell_text(value(row, engine));
        }
        out << " |\n";
    }
    static constexpr Ratio kRatios[] = {
        {"classic interpreter / libpcap", "cbpf_interp", "libpcap"},
        {"converted checked / libpcap", "converted_checked", "libpcap"},
        {"converted unchecked / libpcap", "converted_unchecked", "libpcap"},
        {"converted checked / classic interpreter", "converted_checked", "cbpf_interp"},
    };
    out << "\n### Classic BPF: time relative to each reference, same run (below 1 = faster)\n\n";
    ratio_table(out, "| filter (verdict) | frame (B)", kRatios, classic_rows_, value, title);
}

void SummaryReporter::Finalize() {
    benchmark::ConsoleReporter::Finalize();
    std::ostream& out = GetOutputStream();
    auto value = [&](const std::string& row, const char* engine) -> const Cell* {
        auto r = cells_.find(row);
        if (r == cells_.end()) {
            return nullptr;
        }
        auto c = r->second.find(engine);
        return c == r->second.end() ? nullptr : &c->second;
    };
    std::vector<std::string> notes;

    out << "\n### ns per packet (median of the repetitions, CPU time; lower is better)\n\n";
    out << "| workload | frame (B) | interpreter, checked | interpreter, unchecked | native C -O2 | libpcap bpf_filter | "
           "kernel JIT (test_run) |\n";
    out << "|---|---:|---:|---:|---:|---:|---:|\n";
    for (const std::string& row : rows_) {
        out << "| " << row_title(row);
        for (const char* engine : kEngines) {
            const Cell* c = value(row, engine);
            if (c == nullptr) {
                out << " | n/a";
            } else if (!c->error.empty()) {
                out << " | skipped";
                const std::string note = fmt::format("{} skipped: {}", engine, c->error);
                if (std::find(notes.begin(), notes.end(), note) == notes.end()) {
                    notes.push_back(note);
                }
            } else {
                out << " | " << format_ns(c->ns);
            }
        }
        out << " |\n";
    }
    for (const std::string& note : notes) {
        out << "\n" << note << "\n";
    }

    static constexpr Ratio kRatios[] = {
        {"checked / native", "interp_checked", "native_c"},
        {"unchecked / native", "interp_unchecked", "native_c"},
        {"checked / libpcap", "interp_checked", "libpcap"},
        {"unchecked / libpcap", "interp_unchecked", "libpcap"},
        {"checked / kernel JIT", "interp_checked", "kernel_jit"},
        {"unchecked / kernel JIT", "interp_unchecked", "kernel_jit"},
    };
    out << "\n### Interpreter time relative to each reference (below 1 = the interpreter is faster)\n\n";
    ratio_table(out, "| workload | frame (B)", kRatios, rows_, value, row_title);
    out << "\nkernel JIT: BPF_PROG_TEST_RUN's own average per run (whole ns, syscall excluded).\n";
    if (!classic_rows_.empty()) {
        print_classic(out, value);
    }
    out.flush();
}

}  // namespace sockfilter::bench
