// SPDX-License-Identifier: MIT
// Benchmark workloads: test frames, program sources, and the native C reference.
#include "bench/workloads.h"

#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>

#include "support/assert.h"

namespace sockfilter::bench {

namespace {

constexpr std::uint32_t kEthLen = 14;
constexpr std::uint32_t kIpLen = 20;
/// Largest frame W3 sums (Ethernet without FCS); the program clamps skb->len to it.
constexpr std::uint32_t kSumLimit = 1514;

void put16(std::vector<std::uint8_t>& f, std::size_t at, std::uint32_t v) {
    f[at] = static_cast<std::uint8_t>(v >> 8);
    f[at + 1] = static_cast<std::uint8_t>(v);
}

std::uint32_t be16(const std::uint8_t* p) { return (std::uint32_t{p[0]} << 8) | p[1]; }

Error io_error(std::string message) { return Error{Errc::Io, std::move(message), {}, {}, 0}; }

// W2 by hand: the header walk examples/tcp_dst_port_80.s does, with the bounds check each
// LD_ABS/LD_IND makes (a load past the end returns 0, dropping the packet).
std::uint32_t native_tcp_dst_80(const std::uint8_t* p, std::uint32_t len) {
    if (len < 14) {
        return 0;
    }
    const std::uint32_t type = be16(p + 12);
    if (type == 0x86dd) {
        if (len < 21 || p[20] != 6 || len < 58) {
            return 0;
        }
        return be16(p + 56) == 80 ? ~std::uint32_t{0} : 0;
    }
    if (type != 0x0800 || len < 24 || p[23] != 6) {
        return 0;
    }
    if ((be16(p + 20) & 0x1fff) != 0) {
        return 0;
    }
    const std::uint32_t port_at = 14 + (p[14] & 0xfu) * 4 + 2;
    if (port_at + 2 > len) {
        return 0;
    }
    return be16(p + port_at) == 80 ? ~std::uint32_t{0} : 0;
}

// W3 by hand: the same clamp, the same word loop, the same fold.
std::uint32_t native_sum16(const std::uint8_t* p, std::uint32_t len) {
    const std::uint32_t n = len < kSumLimit ? len : kSumLimit;
    std::uint64_t sum = 0;
    for (std::uint32_t i = 0; i + 2 <= n; i += 2) {
        sum += be16(p + i);
    }
    return static_cast<std::uint32_t>(sum >> 32) + static_cast<std::uint32_t>(sum);
}

}  // namespace

std::string_view workload_id(Workload w) {
    switch (w) {
        case Workload::Accept: return "W1";
        case Workload::TcpDst80: return "W2";
        case Workload::Sum16: return "W3";
    }
    SF_UNREACHABLE();
}

std::string_view workload_title(Workload w) {
    switch (w) {
        case Workload::Accept: return "r0 = -1";
        case Workload::TcpDst80: return "tcp dst port 80";
        case Workload::Sum16: return "sum16 loop";
    }
    SF_UNREACHABLE();
}

std::vector<std::uint8_t> make_frame(std::uint32_t size) {
    SF_ASSERT(size >= 74);
    std::vector<std::uint8_t> f(size, 0);
    // Ethernet: locally administered unicast addresses, IPv4.
    const std::uint8_t macs[12] = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
    std::copy(std::begin(macs), std::end(macs), f.begin());
    put16(f, 12, 0x0800);
    // IPv4: 198.18.0.1 -> 198.18.0.2, TTL 64, DF, TCP.
    const std::size_t ip = kEthLen;
    f[ip] = 0x45;
    put16(f, ip + 2, size - kEthLen);
    put16(f, ip + 4, 0x1234);
    put16(f, ip + 6, 0x4000);
    f[ip + 8] = 64;
    f[ip + 9] = 6;
    const std::uint8_t addrs[8] = {198, 18, 0, 1, 198, 18, 0, 2};
    std::copy(std::begin(addrs), std::end(addrs), f.begin() + static_cast<std::ptrdiff_t>(ip + 12));
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < kIpLen; i += 2) {
        sum += be16(f.data() + ip + i);
    }
    while (sum > 0xffff) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    put16(f, ip + 10, ~sum & 0xffff);
    // TCP: 40000 -> 80. A 74-byte frame is a SYN with MSS, SACK-permitted, timestamps and window
    // scale (40-byte header); a bigger one is an ACK with timestamps (32-byte header) and payload.
    const std::size_t tcp = ip + kIpLen;
    put16(f, tcp, 40000);
    put16(f, tcp + 2, 80);
    put16(f, tcp + 4, 0x0001);
    put16(f, tcp + 14, 64240);
    if (size == 74) {
        f[tcp + 12] = 10 << 4;
        f[tcp + 13] = 0x02;  // SYN
        const std::uint8_t opts[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
        std::copy(std::begin(opts), std::end(opts), f.begin() + static_cast<std::ptrdiff_t>(tcp + 20));
    } else {
        f[tcp + 12] = 8 << 4;
        f[tcp + 13] = 0x18;  // PSH, ACK
        const std::uint8_t opts[12] = {1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 1};
        std::copy(std::begin(opts), std::end(opts), f.begin() + static_cast<std::ptrdiff_t>(tcp + 20));
        for (std::size_t i = tcp + 32; i < size; ++i) {
            f[i] = static_cast<std::uint8_t>('a' + i % 26);  // HTTP-ish printable payload
        }
    }
    // The TCP checksum is left 0: no filter here reads it.
    return f;
}

std::string program_file(Workload w) {
    switch (w) {
        case Workload::Accept: return SF_BENCH_SOURCE_DIR "/w1_accept.s";
        case Workload::TcpDst80: return SF_EXAMPLES_SOURCE_DIR "/tcp_dst_port_80.s";
        case Workload::Sum16: return SF_BENCH_SOURCE_DIR "/w3_sum16.s";
    }
    SF_UNREACHABLE();
}

Result<std::string> program_text(Workload w) {
    const std::string path = program_file(w);
    std::ifstream in(path);
    if (!in) {
        return tl::unexpected(io_error("cannot read " + path));
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::uint32_t native_run(Workload w, const std::uint8_t* frame, std::uint32_t len) {
    switch (w) {
        case Workload::Accept: return ~std::uint32_t{0};
        case Workload::TcpDst80: return native_tcp_dst_80(frame, len);
        case Workload::Sum16: return native_sum16(frame, len);
    }
    SF_UNREACHABLE();
}

}  // namespace sockfilter::bench
