// SPDX-License-Identifier: MIT
// Writer over libpcap's dump API (pcap_open_dead_with_tstamp_precision, pcap_dump_open).
#include "pcap/writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#include <pcap/pcap.h>
#include <unistd.h>

namespace sockfilter::pcap {

namespace {
// pcap record headers hold 32-bit unsigned seconds.
constexpr std::int64_t kMaxSeconds = std::numeric_limits<std::uint32_t>::max();
constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
}  // namespace

Result<Writer> Writer::create(const std::string& path, int linktype, std::uint32_t snaplen) {
    if (snaplen == 0 || snaplen > static_cast<std::uint32_t>(std::numeric_limits<int>::max())) {
        return fail(Errc::InvalidArgument, "{}: invalid snapshot length {}", path, snaplen);
    }
    Writer w;
    w.path_ = path;
    w.snaplen_ = snaplen;
    w.dead_ = pcap_open_dead_with_tstamp_precision(linktype, static_cast<int>(snaplen), PCAP_TSTAMP_PRECISION_NANO);
    if (w.dead_ == nullptr) {
        return fail(Errc::Io, "{}: cannot start a capture of link type {}", path, linktype);
    }
    auto* dead = static_cast<pcap_t*>(w.dead_);
    if (path != "-") {
        w.tmp_path_ = path + ".sockfilter-tmp";
    }
    // pcap_dump_open treats "-" as standard output itself.
    w.dumper_ = pcap_dump_open(dead, path == "-" ? "-" : w.tmp_path_.c_str());
    if (w.dumper_ == nullptr) {
        return fail(Errc::Io, "{}: cannot create: {}", path, pcap_geterr(dead));
    }
    return w;
}

Writer::Writer(Writer&& other) noexcept
    : path_(std::move(other.path_)),
      tmp_path_(std::move(other.tmp_path_)),
      dead_(std::exchange(other.dead_, nullptr)),
      dumper_(std::exchange(other.dumper_, nullptr)),
      snaplen_(other.snaplen_),
      count_(other.count_) {}

Writer& Writer::operator=(Writer&& other) noexcept {
    if (this != &other) {
        discard();
        path_ = std::move(other.path_);
        tmp_path_ = std::move(other.tmp_path_);
        dead_ = std::exchange(other.dead_, nullptr);
        dumper_ = std::exchange(other.dumper_, nullptr);
        snaplen_ = other.snaplen_;
        count_ = other.count_;
    }
    return *this;
}

Writer::~Writer() { discard(); }

void Writer::discard() {
    if (dumper_ != nullptr) {
        pcap_dump_close(static_cast<pcap_dumper_t*>(dumper_));
        dumper_ = nullptr;
        if (!tmp_path_.empty()) {
            ::unlink(tmp_path_.c_str());
        }
    }
    if (dead_ != nullptr) {
        pcap_close(static_cast<pcap_t*>(dead_));
        dead_ = nullptr;
    }
}

Result<void> Writer::write(const Frame& frame) {
    if (dumper_ == nullptr) {
        return fail(Errc::InvalidArgument, "{}: write after close", path_);
    }
    const std::uint64_t n = count_ + 1;
    if (frame.bytes.size() > snaplen_) {
        return fail(Errc::InvalidArgument, "{}: packet {}: captured length {} exceeds the snapshot length {}", path_, n,
                    frame.bytes.size(), snaplen_);
    }
    if (frame.orig_len < frame.bytes.size()) {
        return fail(Errc::InvalidArgument, "{}: packet {}: original length {} is less than the captured length {}",
                    path_, n, frame.orig_len, frame.bytes.size());
    }
    if (frame.ts_sec < 0 || frame.ts_sec > kMaxSeconds || frame.ts_nsec < 0 || frame.ts_nsec >= kNanosPerSecond) {
        return fail(Errc::InvalidArgument, "{}: packet {}: timestamp {}.{:09} does not fit a pcap record", path_, n,
                    frame.ts_sec, frame.ts_nsec);
    }
    pcap_pkthdr hdr{};
    hdr.ts.tv_sec = static_cast<time_t>(frame.ts_sec);
    hdr.ts.tv_usec = static_cast<suseconds_t>(frame.ts_nsec);  // nanoseconds: opened with NANO precision
    hdr.caplen = static_cast<bpf_u_int32>(frame.bytes.size());
    hdr.len = frame.orig_len;
    pcap_dump(static_cast<u_char*>(dumper_), &hdr, frame.bytes.data());
    ++count_;
    return {};
}

Result<void> Writer::close() {
    if (dumper_ == nullptr) {
        return fail(Errc::InvalidArgument, "{}: already closed", path_);
    }
    auto* d = static_cast<pcap_dumper_t*>(dumper_);
    // pcap_dump has no error return: the stream's error flag and the final flush tell.
    const bool ok = pcap_dump_flush(d) == 0 && std::ferror(pcap_dump_file(d)) == 0;
    const int e = errno;
    if (!ok) {
        discard();
        return fail(Errc::Io, "{}: cannot write: {}", path_, std::strerror(e));
    }
    pcap_dump_close(d);
    dumper_ = nullptr;
    if (!tmp_path_.empty() && std::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
        const int re = errno;
        ::unlink(tmp_path_.c_str());
        discard();
        return fail(Errc::Io, "{}: cannot write: {}", path_, std::strerror(re));
    }
    discard();
    return {};
}

}  // namespace sockfilter::pcap
