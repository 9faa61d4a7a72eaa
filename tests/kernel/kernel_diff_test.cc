// SPDX-License-Identifier: MIT
// Differential tests against BPF_PROG_TEST_RUN: every readable context field at every size and
// offset the kernel accepts, and LD_ABS/LD_IND at the edges of the packet and of the magic
// offsets, run by the kernel and by our interpreter (make_skb with the test-run socket kind) on
// several frames. Results must be identical.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "ctx_rows.h"
#include "kernel/bpf.h"
#include "kernel/ctx_in.h"
#include "kernel_env.h"
#include "runtime/load.h"
#include "runtime/packet.h"
#include "vm/interpreter.h"

namespace sockfilter::testing {
namespace {

using isa::Op;

constexpr std::int32_t kSkfNetOff = -0x100000;
constexpr std::int32_t kSkfLlOff = -0x200000;
constexpr std::int32_t kSkfAdOff = -0x1000;

/// One input: the frame and the context fields preset for it (mirrored into ctx_in).
struct Frame {
    std::string name;
    std::vector<std::uint8_t> bytes;
    runtime::CtxOverrides overrides;
};

std::vector<std::uint8_t> eth(std::array<std::uint8_t, 6> dst, std::uint16_t type) {
    std::vector<std::uint8_t> f(dst.begin(), dst.end());
    for (int b : {0x02, 0x11, 0x22, 0x33, 0x44, 0x55}) {
        f.push_back(static_cast<std::uint8_t>(b));
    }
    f.push_back(static_cast<std::uint8_t>(type >> 8));
    f.push_back(static_cast<std::uint8_t>(type));
    return f;
}

void append(std::vector<std::uint8_t>& f, std::initializer_list<int> bytes) {
    for (int b : bytes) {
        f.push_back(static_cast<std::uint8_t>(b));
    }
}

/// An IPv4 header with total length `total`, protocol `proto`, 10.0.0.1 -> 10.0.0.2.
void ipv4(std::vector<std::uint8_t>& f, std::uint16_t total, std::uint8_t proto) {
    append(f, {0x45, 0, total >> 8, total & 0xff, 0x12, 0x34, 0x40, 0, 64, proto, 0xab, 0xcd, 10, 0, 0, 1, 10, 0, 0, 2});
}

void fill_to(std::vector<std::uint8_t>& f, std::size_t size) {
    while (f.size() < size) {
        f.push_back(static_cast<std::uint8_t>(0x61 + f.size() % 26));
    }
}

constexpr std::array<std::uint8_t, 6> kToHost{0, 0, 0, 0, 0, 0};  // lo's address: PACKET_HOST
constexpr std::array<std::uint8_t, 6> kBroadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr std::array<std::uint8_t, 6> kV6Multicast{0x33, 0x33, 0, 0, 0, 1};
constexpr std::array<std::uint8_t, 6> kOtherHost{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};

Frame ipv4_tcp() {
    auto f = eth(kToHost, 0x0800);
    ipv4(f, 60, 6);
    append(f, {0x30, 0x39, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0x20, 0, 0x12, 0x34, 0, 0});
    fill_to(f, 74);
    return {"ipv4_tcp", f, {}};
}

Frame ipv6_udp() {
    auto f = eth(kV6Multicast, 0x86dd);
    append(f, {0x60, 0x01, 0x23, 0x45, 0, 20, 17, 64});
    for (int i = 0; i < 16; ++i) {
        f.push_back(static_cast<std::uint8_t>(i == 0 ? 0x20 : i == 1 ? 0x01 : i == 15 ? 1 : 0));
    }
    for (int i = 0; i < 16; ++i) {
        f.push_back(static_cast<std::uint8_t>(i == 0 ? 0xff : i == 1 ? 0x02 : i == 15 ? 1 : 0));
    }
    append(f, {0x13, 0x88, 0x00, 0x35, 0, 20, 0xbe, 0xef});
    fill_to(f, 14 + 40 + 20);
    return {"ipv6_udp", f, {}};
}

Frame broadcast_arp() {
    auto f = eth(kBroadcast, 0x0806);
    append(f, {0, 1, 8, 0, 6, 4, 0, 1, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2});
    return {"broadcast_arp", f, {}};
}

Frame udp_with_ctx() {
    auto f = eth(kOtherHost, 0x0800);
    ipv4(f, 40, 17);
    append(f, {0x04, 0xd2, 0x16, 0x2e, 0, 20, 0, 0});
    fill_to(f, 54);
    runtime::CtxOverrides o;
    o.mark = 0x8badf00d;
    o.priority = 0x00060007;
    o.ingress_ifindex = 7;
    o.ifindex = 1;
    o.gso_segs = 0x8002;
    o.gso_size = 1448;
    o.cb = {0xdeadbeef, 0x80000001, 0x7f, 0xffffffff, 0x01020304};
    return {"udp_ctx_in", f, o};
}

/// The 54-byte IPv4/UDP frame of spec §2.3.
Frame frame54() {
    auto f = eth(kToHost, 0x0800);
    ipv4(f, 40, 17);
    append(f, {0x30, 0x39, 0x00, 0x35, 0, 20, 0, 0});
    fill_to(f, 50);
    append(f, {0x6f, 0x2d, 0x77, 0x6f});
    return {"frame54", f, {}};
}

/// BPF_PROG_TEST_RUN refuses IPv4 and IPv6 frames too short for their network header (see
/// TestRunInputLimits), so the 14-byte frame carries the local experimental ethertype.
Frame frame14() { return {"frame14", eth(kToHost, 0x88b5), {}}; }

/// A 1500-byte IPv4/TCP frame.
Frame frame1500() {
    auto f = eth(kToHost, 0x0800);
    ipv4(f, 1486, 6);
    append(f, {0x30, 0x39, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0x20, 0, 0x12, 0x34, 0, 0});
    while (f.size() < 1500) {
        f.push_back(static_cast<std::uint8_t>(f.size() * 7));
    }
    return {"frame1500", f, {}};
}

/// What a run returned, as text comparable across engines ("0x45", or "error: ...").
std::string kernel_result(const kernel::Fd& fd, const Frame& f) {
    auto r = kernel::test_run(fd, f.bytes, kernel::test_run_ctx(f.overrides));
    if (!r) {
        return "error: " + r.error().render();
    }
    return fmt::format("{:#x}", r->retval);
}

std::string our_result(const program::Program& prog, const Frame& f) {
    auto loaded = runtime::load(prog, runtime::socket_filter_env());
    if (!loaded) {
        return "error: load: " + loaded.error().render();
    }
    auto skb = runtime::make_skb(f.bytes, runtime::dlt::kEn10mb, runtime::SocketKind::TestRun, f.overrides);
    if (!skb) {
        return "error: make_skb: " + skb.error().render();
    }
    vm::Interpreter interp(*loaded);
    vm::RunInput in;
    in.skb = &*skb;
    const vm::ExecResult r = interp.run(in);
    if (r.status != vm::ExecStatus::Ok) {
        return "error: run: " + interp.fault_message();
    }
    return fmt::format("{:#x}", static_cast<std::uint32_t>(r.r0));
}

/// Loads `prog` in the kernel and compares both engines on every frame; appends mismatches.
std::size_t compare(const program::Program& prog, const std::string& what, const std::vector<Frame>& frames,
                    std::string& failures, std::size_t& mismatches) {
    kernel::LoadOptions opts;
    opts.log_level = 0;
    auto fd = kernel::load_socket_filter(prog, opts);
    if (!fd) {
        ++mismatches;
        failures += what + ": kernel refused the program: " + fd.error().render() + "\n";
        return 0;
    }
    std::size_t n = 0;
    for (const Frame& f : frames) {
        const std::string k = kernel_result(*fd, f);
        const std::string ours = our_result(prog, f);
        ++n;
        if (k != ours) {
            ++mismatches;
            failures += what + " on " + f.name + ": kernel " + k + ", ours " + ours + "\n";
        }
    }
    return n;
}

class KernelDiff : public KernelTest {};

TEST_F(KernelDiff, ContextReads) {
    auto rows = read_ctx_csv(shared_dir() + "/spec/empirical/ctx_priv.csv");
    ASSERT_TRUE(rows.has_value()) << rows.error().render();
    const std::vector<Frame> frames{ipv4_tcp(), ipv6_udp(), broadcast_arp(), udp_with_ctx()};
    std::size_t cases = 0;
    std::size_t mismatches = 0;
    std::string failures;
    for (const CtxRow& row : *rows) {
        // The 8-byte load of ctx->sk is a pointer: its value is not comparable.
        if (!row.accepted || (row.kind != "ldx" && row.kind != "ldsx") || row.off == 168) {
            continue;
        }
        const Op op = ctx_op(row.kind, row.size);
        const auto off = static_cast<std::int16_t>(row.off);
        const std::string what = row.kind + std::to_string(row.size * 8) + " @" + std::to_string(row.off);
        cases += compare(build("lo", {I(op, 0, 1, off), I(Op::Exit)}), what + " (low 32)", frames, failures, mismatches);
        cases += compare(build("hi", {I(op, 0, 1, off), I(Op::Rsh64Imm, 0, 0, 0, 32), I(Op::Exit)}), what + " (high 32)",
                         frames, failures, mismatches);
    }
    std::printf("context reads: %zu cases compared, %zu mismatches\n", cases, mismatches);
    EXPECT_GT(cases, 0u);
    EXPECT_EQ(mismatches, 0u) << failures;
}

/// r6 = r1; [r7 = base;] load; r0 += 100; exit — a terminated run returns 0, a completed one >= 100.
program::Program ld_program(Op op, std::int32_t imm, std::optional<std::uint64_t> base) {
    std::vector<isa::Insn> s{I(Op::Mov64Reg, 6, 1)};
    if (base) {
        lddw(s, 7, *base);
        s.push_back(I(op, 0, 7, 0, imm));
    } else {
        s.push_back(I(op, 0, 0, 0, imm));
    }
    s.push_back(I(Op::Add64Imm, 0, 0, 0, 100));
    s.push_back(I(Op::Exit));
    return build("ld", std::move(s));
}

TEST_F(KernelDiff, LdAbsLdInd) {
    const std::vector<Frame> frames{frame54(), frame14(), frame1500()};
    std::vector<std::int32_t> offsets{0,    1,    2,    3,    9,    12,   13,   14,   20,   36,   37,   38,
                                      39,   40,   41,   42,   52,   53,   54,   1482, 1483, 1484, 1485, 1486,
                                      1487, 1500, 65535, 0x7fffffff, -1, -2, -4, -13, -14, INT32_MIN};
    for (std::int32_t k : {0, 1, 9, 12, 39, 40, 1485, 1486}) {
        offsets.push_back(kSkfNetOff + k);
    }
    offsets.push_back(kSkfNetOff - 1);
    for (std::int32_t k : {0, 1, 7, 12, 13, 14, 15, 53, 54, 1499, 1500}) {
        offsets.push_back(kSkfLlOff + k);
    }
    offsets.push_back(kSkfLlOff - 1);
    offsets.push_back(kSkfLlOff - 14);
    for (std::int32_t k : {0, 1, 4, 0xfff}) {
        offsets.push_back(kSkfAdOff + k);
    }
    std::size_t cases = 0;
    std::size_t mismatches = 0;
    std::string failures;
    for (Op op : {Op::LdAbs8, Op::LdAbs16, Op::LdAbs32}) {
        for (std::int32_t off : offsets) {
            cases += compare(ld_program(op, off, std::nullopt),
                             fmt::format("{} [{}]", isa::info(op).conf, off), frames, failures, mismatches);
        }
    }
    struct Ind {
        std::uint64_t base;
        std::int32_t imm;
    };
    const std::vector<Ind> inds{
        {8, 1},
        {0x100000009, 0},
        {static_cast<std::uint64_t>(-1), 10},
        {0xffffffff, 1},
        {0x7fffffff, 1},
        {0x80000000, 0},
        {static_cast<std::uint64_t>(static_cast<std::int64_t>(kSkfNetOff)), 9},
        {static_cast<std::uint64_t>(static_cast<std::int64_t>(kSkfLlOff)), 12},
        {0xffffffff00000000 | static_cast<std::uint32_t>(kSkfLlOff), 6},
        {static_cast<std::uint64_t>(-100), 139},
        {36, 0},
        {1480, 5},
        {0, -1},
    };
    for (Op op : {Op::LdInd8, Op::LdInd16, Op::LdInd32}) {
        for (const Ind& ind : inds) {
            cases += compare(ld_program(op, ind.imm, ind.base),
                             fmt::format("{} [{:#x} + {}]", isa::info(op).conf, ind.base, ind.imm), frames, failures,
                             mismatches);
        }
    }
    // r6-r9 survive LD_ABS: r7 = 18; r0 = ldabsb [0]; r0 += r7.
    cases += compare(build("keep", {I(Op::Mov64Reg, 6, 1), I(Op::Mov64Imm, 7, 0, 0, 18), I(Op::Mov64Imm, 8, 0, 0, 1),
                                    I(Op::LdAbs8, 0, 0, 0, 0), I(Op::Add64Reg, 0, 7), I(Op::Add64Reg, 0, 8),
                                    I(Op::Exit)}),
                     "r7/r8 across ldabsb", frames, failures, mismatches);
    std::printf("LD_ABS/LD_IND: %zu cases compared, %zu mismatches\n", cases, mismatches);
    EXPECT_GT(cases, 0u);
    EXPECT_EQ(mismatches, 0u) << failures;
}

TEST_F(KernelDiff, TestRunInputLimits) {
    // BPF_PROG_TEST_RUN refuses (EINVAL) a frame shorter than an Ethernet header, and an IPv4 or
    // IPv6 frame shorter than its fixed network header; make_skb for test-run must refuse the same.
    struct Input {
        std::uint16_t ethertype;
        std::size_t size;
    };
    const std::vector<Input> inputs{{0x88b5, 13}, {0x88b5, 14}, {0x0806, 14}, {0x0800, 14}, {0x0800, 33},
                                    {0x0800, 34}, {0x86dd, 14}, {0x86dd, 53}, {0x86dd, 54}};
    auto fd = kernel::load_socket_filter(build("len", {I(Op::Ldx32, 0, 1, 0), I(Op::Exit)}));
    ASSERT_TRUE(fd.has_value()) << fd.error().render();
    std::string failures;
    for (const Input& in : inputs) {
        auto f = eth(kToHost, in.ethertype);
        f.resize(in.size, 0);
        if (in.size > 14 && in.ethertype == 0x0800) {
            f[14] = 0x45;
        }
        if (in.size > 14 && in.ethertype == 0x86dd) {
            f[14] = 0x60;
        }
        auto k = kernel::test_run(*fd, f, std::nullopt);
        auto ours = runtime::make_skb(f, runtime::dlt::kEn10mb, runtime::SocketKind::TestRun);
        if (k.has_value() != ours.has_value()) {
            failures += fmt::format("ethertype {:#06x}, {} bytes: kernel {}, make_skb {}\n", in.ethertype, in.size,
                                    k ? "runs it" : k.error().render(), ours ? "accepts it" : ours.error().render());
        }
    }
    EXPECT_EQ(failures, "");
}

}  // namespace
}  // namespace sockfilter::testing
