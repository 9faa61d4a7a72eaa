// SPDX-License-Identifier: MIT
// make_skb(test-run) and ctx->sk against the running kernel: every readable __sk_buff field and
// every readable struct bpf_sock offset, read by a tiny program under BPF_PROG_TEST_RUN, must
// equal read_ctx / read_sock on our sk_buff. Skips (fails with CI=true) where bpf() is refused.
#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include "runtime/packet.h"
#include "runtime/prog_type.h"

namespace sockfilter::runtime {
namespace {

using Bytes = std::vector<std::uint8_t>;

bpf_insn insn(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off, std::int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

std::uint8_t size_bits(std::uint32_t size) {
    switch (size) {
        case 1: return BPF_B;
        case 2: return BPF_H;
        case 4: return BPF_W;
        default: return BPF_DW;
    }
}

// The value under test goes to cb[0..1] as a u64 and a marker to cb[2], returned in ctx_out.
constexpr std::int16_t kCbValue = 48;
constexpr std::int16_t kCbMarker = 56;

std::vector<bpf_insn> store_and_exit(std::uint8_t reg) {
    return {
        insn(BPF_STX | BPF_MEM | BPF_DW, 6, reg, kCbValue, 0),
        insn(BPF_ST | BPF_MEM | BPF_W, 6, 0, kCbMarker, 1),
        insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
        insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
    };
}

/// r2 = *(size *)(ctx + off)
std::vector<bpf_insn> ctx_load_prog(std::int16_t off, std::uint32_t size) {
    std::vector<bpf_insn> p = {
        insn(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),
        insn(BPF_LDX | BPF_MEM | size_bits(size), 2, 1, off, 0),
    };
    auto tail = store_and_exit(2);
    p.insert(p.end(), tail.begin(), tail.end());
    return p;
}

/// r2 = ctx->sk; if (r2) r3 = *(size *)(r2 + off)
std::vector<bpf_insn> sk_load_prog(std::int16_t off, std::uint32_t size) {
    return {
        insn(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),
        insn(BPF_LDX | BPF_MEM | BPF_DW, 2, 1, 168, 0),
        insn(BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 3, 0),
        insn(BPF_LDX | BPF_MEM | size_bits(size), 3, 2, off, 0),
        insn(BPF_STX | BPF_MEM | BPF_DW, 6, 3, kCbValue, 0),
        insn(BPF_ST | BPF_MEM | BPF_W, 6, 0, kCbMarker, 1),
        insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
        insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
    };
}

/// r0 = LD_ABS B [k] (k may be SKF_NET_OFF-relative)
std::vector<bpf_insn> ld_abs_prog(std::int32_t k) {
    std::vector<bpf_insn> p = {
        insn(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),
        insn(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, k),
    };
    auto tail = store_and_exit(0);
    p.insert(p.end(), tail.begin(), tail.end());
    return p;
}

/// An owned program fd.
class Prog {
public:
    explicit Prog(const std::vector<bpf_insn>& insns) {
        fd_ = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "sf_packet_test", "GPL", insns.data(), insns.size(), nullptr);
        err_ = fd_ < 0 ? errno : 0;
    }
    ~Prog() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Prog(const Prog&) = delete;
    Prog& operator=(const Prog&) = delete;
    [[nodiscard]] bool loaded() const { return fd_ >= 0; }
    [[nodiscard]] int error() const { return err_; }
    [[nodiscard]] int fd() const { return fd_; }

    /// Runs on `frame`; the value stored in cb, or nullopt if the program did not store (sk NULL).
    std::optional<std::uint64_t> run(const Bytes& frame) const {
        __sk_buff ctx{};
        Bytes out(frame.size() + 64);
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = out.data(),
                    .data_size_in = static_cast<__u32>(frame.size()), .data_size_out = static_cast<__u32>(out.size()),
                    .ctx_in = &ctx, .ctx_out = &ctx, .ctx_size_in = sizeof ctx, .ctx_size_out = sizeof ctx);
        const int rc = bpf_prog_test_run_opts(fd_, &opts);
        EXPECT_EQ(rc, 0) << std::strerror(errno);
        if (rc != 0 || ctx.cb[2] != 1) {
            return std::nullopt;
        }
        return std::uint64_t{ctx.cb[0]} | (std::uint64_t{ctx.cb[1]} << 32);
    }

private:
    int fd_ = -1;
    int err_ = 0;
};

std::size_t open_fds() {
    std::size_t n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d) != nullptr) {
            ++n;
        }
        ::closedir(d);
    }
    return n;
}

bool ci() {
    const char* v = std::getenv("CI");
    return v != nullptr && std::string(v) == "true";
}

class KernelPacket : public ::testing::Test {
protected:
    void SetUp() override {
        fds_ = open_fds();
        Prog probe({insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0), insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)});
        if (!probe.loaded()) {
            const std::string why = std::string("bpf(BPF_PROG_LOAD) of a socket filter refused: ") +
                                    std::strerror(probe.error());
            if (ci()) {
                FAIL() << why << " (CI=true: kernel tests must run)";
            }
            GTEST_SKIP() << why;
        }
    }
    void TearDown() override { EXPECT_EQ(open_fds(), fds_) << "a test leaked a file descriptor"; }

private:
    std::size_t fds_ = 0;
};

Bytes be16(std::uint16_t v) { return {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)}; }

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

Bytes ipv4_udp() {
    return {0x45, 0, 0, 32, 0, 1, 0x40, 0, 64, 17, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2,
            0x9c, 0x40, 0, 53, 0, 12, 0, 0, 1, 2, 3, 4};
}

Bytes ipv6_tcp() {
    Bytes p = {0x60, 0, 0, 0, 0, 20, 6, 64};
    for (int host : {1, 2}) {
        Bytes a = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<std::uint8_t>(host)};
        p.insert(p.end(), a.begin(), a.end());
    }
    Bytes tcp = {0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0};
    p.insert(p.end(), tcp.begin(), tcp.end());
    return p;
}

struct Case {
    std::string name;
    Bytes frame;
};

std::vector<Case> frames() {
    const Bytes zero(6, 0);
    const Bytes bcast(6, 0xff);
    const Bytes mcast = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
    const Bytes uni = {0x02, 0, 0, 0, 0, 2};
    const Bytes src = {0x02, 0, 0, 0, 0, 1};
    return {
        {"ipv4 to zero mac", cat({zero, src, be16(0x0800), ipv4_udp()})},
        {"ipv4 unicast", cat({uni, src, be16(0x0800), ipv4_udp()})},
        {"ipv4 broadcast", cat({bcast, src, be16(0x0800), ipv4_udp()})},
        {"ipv4 multicast", cat({mcast, src, be16(0x0800), ipv4_udp()})},
        {"ipv6 tcp syn", cat({zero, src, be16(0x86dd), ipv6_tcp()})},
        {"802.1Q tagged", cat({zero, src, be16(0x8100), be16(0x2005), be16(0x0800), ipv4_udp()})},
        {"QinQ", cat({zero, src, be16(0x88a8), be16(0x0064), be16(0x8100), be16(0x0005), be16(0x0800), ipv4_udp()})},
        {"arp", cat({bcast, src, be16(0x0806), Bytes(28, 0x11)})},
        {"802.3 llc", cat({zero, src, be16(20), Bytes(20, 0x42)})},
        {"802.3 novell", cat({zero, src, be16(20), Bytes(20, 0xff)})},
        {"arp header only", cat({bcast, src, be16(0x0806)})},
    };
}

TEST_F(KernelPacket, TestRunContextFieldsMatch) {
    const auto cases = frames();
    std::vector<Skb> skbs;
    for (const Case& c : cases) {
        auto skb = make_skb(c.frame, dlt::kEn10mb, SocketKind::TestRun);
        ASSERT_TRUE(skb) << c.name << ": " << skb.error().render();
        skbs.push_back(std::move(*skb));
    }
    const ProgType& pt = socket_filter();
    int compared = 0;
    for (const CtxField& f : pt.fields) {
        if (f.access != FieldAccess::Read || f.name == "sk") {
            continue;
        }
        for (std::uint32_t size : {1u, 2u, 4u}) {
            for (std::int32_t off = f.off; off < f.off + 4; ++off) {
                if (!pt.check_access(off, size, CtxAccessKind::Load)) {
                    continue;
                }
                Prog prog(ctx_load_prog(static_cast<std::int16_t>(off), size));
                ASSERT_TRUE(prog.loaded()) << f.name << " off=" << off << " size=" << size << ": "
                                           << std::strerror(prog.error());
                for (std::size_t i = 0; i < cases.size(); ++i) {
                    const auto got = prog.run(cases[i].frame);
                    ASSERT_TRUE(got.has_value());
                    EXPECT_EQ(*got, read_ctx(skbs[i], off, size, false, 0))
                        << cases[i].name << ": " << f.name << " off=" << off << " size=" << size;
                    ++compared;
                }
            }
        }
    }
    EXPECT_GT(compared, 1000);
}

TEST_F(KernelPacket, TestRunPacketBytesMatch) {
    for (const Case& c : frames()) {
        auto skb = make_skb(c.frame, dlt::kEn10mb, SocketKind::TestRun);
        ASSERT_TRUE(skb) << c.name;
        for (std::int32_t k : {0, 1, 3}) {
            if (static_cast<std::uint32_t>(k) >= skb->len()) {
                continue;
            }
            Prog prog(ld_abs_prog(k));
            ASSERT_TRUE(prog.loaded()) << std::strerror(prog.error());
            EXPECT_EQ(prog.run(c.frame), skb->bytes[skb->data + static_cast<std::uint32_t>(k)]) << c.name << " k=" << k;
        }
        // SKF_NET_OFF: the network header is where offset 0 is.
        if (skb->len() > 0) {
            Prog net(ld_abs_prog(-0x100000));
            ASSERT_TRUE(net.loaded());
            EXPECT_EQ(net.run(c.frame), skb->bytes[static_cast<std::uint32_t>(skb->network_header)]) << c.name;
        }
    }
}

TEST_F(KernelPacket, TestRunRefusesShortIpFrames) {
    Prog prog({insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0), insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)});
    ASSERT_TRUE(prog.loaded());
    for (std::uint16_t type : {std::uint16_t{0x0800}, std::uint16_t{0x86dd}, std::uint16_t{0x0806}}) {
        for (std::size_t n = 0; n <= 44; ++n) {
            Bytes frame = cat({Bytes(12, 0), be16(type), Bytes(n, type == 0x86dd ? 0x60 : 0x45)});
            LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = static_cast<__u32>(frame.size()));
            const bool kernel_ok = bpf_prog_test_run_opts(prog.fd(), &opts) == 0;
            const auto skb = make_skb(frame, dlt::kEn10mb, SocketKind::TestRun);
            EXPECT_EQ(skb.has_value(), kernel_ok) << "type " << type << ", " << n << " bytes after the Ethernet header";
        }
    }
}

TEST_F(KernelPacket, SockAccessRulesMatch) {
    for (std::int32_t off = -4; off < 88; ++off) {
        for (std::uint32_t size : {1u, 2u, 4u, 8u}) {
            Prog prog(sk_load_prog(static_cast<std::int16_t>(off), size));
            EXPECT_EQ(prog.loaded(), check_sock_access(off, size)) << "off=" << off << " size=" << size;
        }
    }
}

TEST_F(KernelPacket, TestRunDummySocketMatches) {
    const auto cases = frames();
    int compared = 0;
    for (std::int32_t off = 0; off < 80; ++off) {
        for (std::uint32_t size : {1u, 2u, 4u}) {
            if (!check_sock_access(off, size)) {
                continue;
            }
            Prog prog(sk_load_prog(static_cast<std::int16_t>(off), size));
            ASSERT_TRUE(prog.loaded()) << "off=" << off << " size=" << size;
            for (const Case& c : cases) {
                auto skb = make_skb(c.frame, dlt::kEn10mb, SocketKind::TestRun);
                ASSERT_TRUE(skb);
                const auto got = prog.run(c.frame);
                ASSERT_TRUE(got.has_value()) << c.name << ": ctx->sk is NULL under test-run";
                EXPECT_EQ(*got, read_sock(*skb, off, size)) << c.name << ": sk off=" << off << " size=" << size;
                ++compared;
            }
        }
    }
    EXPECT_GT(compared, 500);
}

}  // namespace
}  // namespace sockfilter::runtime
