// SPDX-License-Identifier: MIT
// The benchmark workloads (W1 accept, W2 tcp dst port 80, W3 16-bit word sum): their test frames,
// their eBPF source text, and the native C reference that does the same work.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "support/result.h"

namespace sockfilter::bench {

/// One workload: what the filter computes, named as the table rows are.
enum class Workload : std::uint8_t {
    Accept,    ///< W1: `r0 = -1; exit`
    TcpDst80,  ///< W2: `tcp dst port 80` with LD_ABS/LD_IND (examples/tcp_dst_port_80.s)
    Sum16,     ///< W3: LD_IND H loop over skb->len, 64-bit sum folded to 32 bits
};

/// All workloads, in table order.
inline constexpr Workload kWorkloads[] = {Workload::Accept, Workload::TcpDst80, Workload::Sum16};

/// Frame sizes every workload runs on (bytes, Ethernet header included, no FCS).
inline constexpr std::uint32_t kFrameSizes[] = {74, 1500};

/// "W1", "W2", "W3".
[[nodiscard]] std::string_view workload_id(Workload w);
/// A short description for the table ("r0 = -1", "tcp dst port 80", "sum16 loop").
[[nodiscard]] std::string_view workload_title(Workload w);

/// An Ethernet/IPv4/TCP frame of exactly `size` bytes (at least 74) from 198.18.0.1:40000 to
/// 198.18.0.2:80 with a valid IPv4 checksum. 74 bytes is a SYN with the usual 20 bytes of TCP
/// options; larger sizes add payload behind a 32-byte TCP header (timestamps).
[[nodiscard]] std::vector<std::uint8_t> make_frame(std::uint32_t size);

/// The workload's eBPF program as kernel-syntax assembly text, read from the source tree (the
/// paths are compile definitions). Errors: the file cannot be read.
[[nodiscard]] Result<std::string> program_text(Workload w);

/// The workload's file name for error messages and the program's name.
[[nodiscard]] std::string program_file(Workload w);

/// The native C reference: the same work on the same bytes, with the same bounds checks a
/// packet load makes; returns what the eBPF program returns (low 32 bits).
[[nodiscard]] std::uint32_t native_run(Workload w, const std::uint8_t* frame, std::uint32_t len);

}  // namespace sockfilter::bench
