// SPDX-License-Identifier: MIT
// One captured packet and the link types sockfilter reads from capture files.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sockfilter::pcap {

/// One packet record of a capture file.
struct Frame {
    std::vector<std::uint8_t> bytes;  ///< the captured bytes (caplen of them)
    std::uint32_t orig_len = 0;       ///< the packet's length on the wire (>= bytes.size())
    std::int64_t ts_sec = 0;          ///< seconds since the epoch
    std::int64_t ts_nsec = 0;         ///< nanoseconds within the second, 0..999999999
};

/// The link types (DLT values as libpcap reports them) a Reader accepts: the ones
/// runtime::make_skb can build an sk_buff from.
[[nodiscard]] std::span<const int> supported_linktypes();

/// Whether `dlt` is one of supported_linktypes().
[[nodiscard]] bool is_supported_linktype(int dlt);

/// libpcap's name of a DLT ("EN10MB", "LINUX_SLL2"), or "DLT_<n>" for one it does not know.
[[nodiscard]] std::string linktype_name(int dlt);

}  // namespace sockfilter::pcap
