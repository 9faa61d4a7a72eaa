// SPDX-License-Identifier: MIT
// Classic BPF benchmarks: libpcap's bpf_filter, our classic interpreter and the program converted
// to eBPF on our interpreter, on the same pcap_compile output and frames. Benchmarks are named
// "Classic/<filter>/<frame size>/<engine>".
#pragma once

#include <string>
#include <string_view>

namespace sockfilter::bench {

/// Engines of the classic rows, in table column order.
inline constexpr const char* kClassicEngines[] = {"libpcap", "cbpf_interp", "converted_checked",
                                                  "converted_unchecked"};

/// Registers every classic benchmark (each filter on each frame size).
void register_classic();

/// "C2" -> "udp port 53 (drop)": the filter and what it does on the benchmark frames.
[[nodiscard]] std::string classic_title(std::string_view id);

}  // namespace sockfilter::bench
