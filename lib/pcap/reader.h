// SPDX-License-Identifier: MIT
// Reading pcap and pcapng files through libpcap, with nanosecond timestamps.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "pcap/frame.h"
#include "support/result.h"

namespace sockfilter::pcap {

/// Reads the packets of one pcap or pcapng file in order. Errors name the file and, once packets
/// are being read, the packet number (counted from 1, as tcpdump and Wireshark number frames).
class Reader {
public:
    /// Opens `path`. Fails for a missing or unreadable file (Errc::Io), a file that is not a
    /// capture (Errc::Format) and a link type outside supported_linktypes() (Errc::NotSupported).
    [[nodiscard]] static Result<Reader> open(const std::string& path);

    /// The next packet, or nullopt at the end of the file. A truncated or corrupt record is an
    /// Errc::Format error naming the packet number; reading after an error or the end gives nullopt.
    [[nodiscard]] Result<std::optional<Frame>> next();

    /// The file's link type as a DLT value (LINKTYPE_RAW files report DLT_RAW, 12 on Linux).
    [[nodiscard]] int linktype() const { return linktype_; }
    /// libpcap's name of linktype().
    [[nodiscard]] std::string linktype_name() const;
    /// The file's snapshot length.
    [[nodiscard]] std::uint32_t snaplen() const { return snaplen_; }
    /// The path the reader was opened with.
    [[nodiscard]] const std::string& path() const { return path_; }
    /// How many packets next() has returned so far.
    [[nodiscard]] std::uint64_t packets_read() const { return count_; }

private:
    struct Closer {
        void operator()(void* handle) const;
    };
    Reader(std::string path, void* handle, int linktype, std::uint32_t snaplen);

    std::string path_;
    std::unique_ptr<void, Closer> handle_;  // pcap_t*, kept opaque so <pcap.h> stays out of users
    int linktype_ = 0;
    std::uint32_t snaplen_ = 0;
    std::uint64_t count_ = 0;
    bool done_ = false;
};

/// A whole capture read into memory.
struct Capture {
    int linktype = 0;           ///< DLT value, as Reader::linktype()
    std::uint32_t snaplen = 0;  ///< the file's snapshot length
    std::vector<Frame> frames;  ///< every packet, in file order
};

/// Reads every packet of `path` (Reader::open then next() until the end).
[[nodiscard]] Result<Capture> read_capture(const std::string& path);

}  // namespace sockfilter::pcap
