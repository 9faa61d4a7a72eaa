// SPDX-License-Identifier: MIT
// The supported link types and their names.
#include "pcap/frame.h"

#include <algorithm>
#include <array>

#include <pcap/pcap.h>

namespace sockfilter::pcap {

namespace {
// DLT_NULL, DLT_EN10MB, DLT_RAW (12 on Linux, 14 on OpenBSD), LINKTYPE_RAW as a DLT, DLT_LOOP,
// DLT_LINUX_SLL, DLT_IPV4, DLT_IPV6, DLT_LINUX_SLL2.
constexpr std::array<int, 10> kSupported = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276};
}  // namespace

std::span<const int> supported_linktypes() { return kSupported; }

bool is_supported_linktype(int dlt) { return std::find(kSupported.begin(), kSupported.end(), dlt) != kSupported.end(); }

std::string linktype_name(int dlt) {
    if (const char* name = pcap_datalink_val_to_name(dlt); name != nullptr) {
        return name;
    }
    return "DLT_" + std::to_string(dlt);
}

}  // namespace sockfilter::pcap
