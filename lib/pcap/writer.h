// SPDX-License-Identifier: MIT
// Writing pcap files through libpcap, with nanosecond timestamps, atomically.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pcap/frame.h"
#include "support/result.h"

namespace sockfilter::pcap {

/// Writes a pcap file (nanosecond-resolution magic 0xa1b23c4d). Packets go to a temporary file
/// beside the target that close() renames into place, so a failure or a Writer destroyed without
/// close() never leaves a half-written output. "-" writes to standard output directly.
class Writer {
public:
    /// The snapshot length written when the caller has none to keep (tcpdump's default).
    static constexpr std::uint32_t kDefaultSnaplen = 262144;

    /// Starts a capture file of link type `linktype` (a DLT value) at `path`.
    [[nodiscard]] static Result<Writer> create(const std::string& path, int linktype,
                                               std::uint32_t snaplen = kDefaultSnaplen);

    /// Takes over the output; the moved-from Writer is finished.
    Writer(Writer&&) noexcept;
    /// Discards this Writer's unfinished output, then takes over `other`'s.
    Writer& operator=(Writer&&) noexcept;
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    /// Discards the output unless close() succeeded.
    ~Writer();

    /// Appends one packet: frame.bytes as captured and frame.orig_len as the wire length, so a
    /// trimmed packet is recorded as a capture of a longer one. Fails for orig_len smaller than the
    /// bytes, more bytes than the snapshot length, or a timestamp pcap cannot hold.
    [[nodiscard]] Result<void> write(const Frame& frame);

    /// Flushes and moves the file into place; the Writer is finished afterwards.
    [[nodiscard]] Result<void> close();

    /// How many packets were written.
    [[nodiscard]] std::uint64_t packets_written() const { return count_; }

private:
    Writer() = default;
    void discard();

    std::string path_;
    std::string tmp_path_;  // empty when writing to standard output
    void* dead_ = nullptr;  // pcap_t* from pcap_open_dead
    void* dumper_ = nullptr;  // pcap_dumper_t*
    std::uint32_t snaplen_ = 0;
    std::uint64_t count_ = 0;
};

}  // namespace sockfilter::pcap
