// SPDX-License-Identifier: MIT
// Reader over libpcap's offline API (pcap_open_offline_with_tstamp_precision, pcap_next_ex).
#include "pcap/reader.h"

#include <cerrno>
#include <cstring>

#include <pcap/pcap.h>
#include <sys/stat.h>

#include "support/assert.h"

namespace sockfilter::pcap {

namespace {
std::string supported_names() {
    std::string out;
    for (int dlt : supported_linktypes()) {
        if (!out.empty()) {
            out += ", ";
        }
        out += linktype_name(dlt);
    }
    return out;
}
}  // namespace

void Reader::Closer::operator()(void* handle) const { pcap_close(static_cast<pcap_t*>(handle)); }

Reader::Reader(std::string path, void* handle, int linktype, std::uint32_t snaplen)
    : path_(std::move(path)), handle_(handle), linktype_(linktype), snaplen_(snaplen) {}

Result<Reader> Reader::open(const std::string& path) {
    // libpcap reports a missing file in its error text only; stat first to give it an errno.
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        int e = errno;
        auto err = fail(Errc::Io, "{}: cannot open: {}", path, std::strerror(e));
        err.value().sys_errno = e;
        return err;
    }
    if (S_ISDIR(st.st_mode)) {
        return fail(Errc::Io, "{}: cannot open: is a directory", path);
    }
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (p == nullptr) {
        return fail(Errc::Format, "{}: not a pcap or pcapng capture: {}", path, errbuf);
    }
    Reader reader(path, p, pcap_datalink(p), static_cast<std::uint32_t>(pcap_snapshot(p)));
    if (!is_supported_linktype(reader.linktype_)) {
        return fail(Errc::NotSupported, "{}: unsupported link type {} ({}); supported: {}", path,
                    reader.linktype_name(), reader.linktype_, supported_names());
    }
    return reader;
}

std::string Reader::linktype_name() const { return pcap::linktype_name(linktype_); }

Result<std::optional<Frame>> Reader::next() {
    if (done_) {
        return std::optional<Frame>{};
    }
    auto* p = static_cast<pcap_t*>(handle_.get());
    SF_ASSERT(p != nullptr);
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(p, &hdr, &data);
    if (rc == PCAP_ERROR_BREAK) {
        done_ = true;
        return std::optional<Frame>{};
    }
    if (rc != 1) {
        done_ = true;
        return fail(Errc::Format, "{}: packet {}: {}", path_, count_ + 1, pcap_geterr(p));
    }
    // libpcap rejects records whose caplen exceeds its per-link-type maximum; a caplen above the
    // wire length only occurs in damaged files and is reported rather than passed on.
    if (hdr->caplen > hdr->len) {
        done_ = true;
        return fail(Errc::Format, "{}: packet {}: captured length {} exceeds the original length {}", path_,
                    count_ + 1, hdr->caplen, hdr->len);
    }
    ++count_;
    Frame f;
    f.bytes.assign(data, data + hdr->caplen);
    f.orig_len = hdr->len;
    f.ts_sec = static_cast<std::int64_t>(hdr->ts.tv_sec);
    f.ts_nsec = static_cast<std::int64_t>(hdr->ts.tv_usec);  // nanoseconds: opened with NANO precision
    return std::optional<Frame>{std::move(f)};
}

Result<Capture> read_capture(const std::string& path) {
    auto reader = Reader::open(path);
    if (!reader) {
        return tl::unexpected(std::move(reader.error()));
    }
    Capture cap;
    cap.linktype = reader->linktype();
    cap.snaplen = reader->snaplen();
    for (;;) {
        auto frame = reader->next();
        if (!frame) {
            return tl::unexpected(std::move(frame.error()));
        }
        if (!frame->has_value()) {
            return cap;
        }
        cap.frames.push_back(std::move(**frame));
    }
}

}  // namespace sockfilter::pcap
