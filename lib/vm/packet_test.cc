// SPDX-License-Identifier: MIT
// Socket-filter mode: LD_ABS/LD_IND (spec §2.2, the table of §2.3) and the __sk_buff context
// (reads with narrow loads, cb[] writes, refused accesses, ctx->sk).
#include <gtest/gtest.h>

#include "vm/vm_test_util.h"

namespace sockfilter::vm::testing {
namespace {

constexpr std::int32_t kNet = -0x100000;  // SKF_NET_OFF
constexpr std::int32_t kLl = -0x200000;   // SKF_LL_OFF
constexpr std::int32_t kAd = -0x1000;     // SKF_AD_OFF (classic only)

/// The frame of spec §2.3: a 54-byte Ethernet/IPv4/UDP frame whose skb starts at the IP header
/// (40 bytes). The source MAC's second byte is 0x11; saddr is 10.0.0.1; the last four bytes are
/// "o-wo".
runtime::Skb frame54() {
    runtime::Skb skb;
    skb.bytes = {
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // dst MAC
        0x02, 0x11, 0x22, 0x33, 0x44, 0x55,  // src MAC
        0x08, 0x00,                          // ethertype IPv4
        0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,  // IPv4 header
        0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,                          // saddr, daddr
        0x30, 0x39, 0x00, 0x35, 0x00, 0x14, 0x00, 0x00,                          // UDP header
        0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x2c, 0x20, 0x77, 0x6f, 0x2d, 0x77, 0x6f,  // "hello, wo-wo"
    };
    skb.data = 14;
    skb.mac_header = 0;
    skb.network_header = 14;
    skb.meta.protocol = 0x0008;
    return skb;
}

/// r0 of `<op> [imm]` (or `r7 = reg; <op> [r7 + imm]`) followed by `r0 += 100`, when the load
/// succeeds; 0 when it terminates the program.
std::uint64_t packet_load(Op op, std::int32_t imm, std::uint64_t reg = 0) {
    runtime::Skb skb = frame54();
    Code c{I(Op::Mov64Reg, 6, 1)};
    c.lddw(7, reg) << I(op, 0, isa::info(op).format == isa::Format::LdInd ? 7 : 0, 0, imm)
                   << I(Op::Add64Imm, 0, 0, 0, 100) << I(Op::Exit);
    const Outcome o = run_skb(c, &skb);
    EXPECT_EQ(o.result.status, ExecStatus::Ok) << o.message;
    return o.result.r0 == 0 ? 0 : o.result.r0 - 100;
}

TEST(LdAbs, SpecTable) {
    EXPECT_EQ(packet_load(Op::LdAbs8, 0), 0x45u);
    EXPECT_EQ(packet_load(Op::LdAbs16, 2), 0x0028u);
    EXPECT_EQ(packet_load(Op::LdAbs32, 12), 0x0a000001u);
    EXPECT_EQ(packet_load(Op::LdAbs8, 39), 0x6fu);
    EXPECT_EQ(packet_load(Op::LdAbs32, 36), 0x6f2d776fu);
    EXPECT_EQ(packet_load(Op::LdAbs8, 40), 0u);   // past the end: terminated
    EXPECT_EQ(packet_load(Op::LdAbs32, 37), 0u);  // straddles the end
    EXPECT_EQ(packet_load(Op::LdAbs8, -1), 0u);
    EXPECT_EQ(packet_load(Op::LdAbs8, kNet + 9), 0x11u);
    EXPECT_EQ(packet_load(Op::LdAbs16, kLl + 12), 0x0800u);
    EXPECT_EQ(packet_load(Op::LdAbs8, kLl + 7), 0x11u);
    EXPECT_EQ(packet_load(Op::LdAbs8, kLl - 1), 0u);
    EXPECT_EQ(packet_load(Op::LdAbs16, kAd + 0), 0u);  // no ancillary loads in eBPF
    EXPECT_EQ(packet_load(Op::LdInd8, 1, 8), 0x11u);
}

TEST(LdAbs, TerminatesWithZeroWithoutRunningTheNextInstruction) {
    runtime::Skb skb = frame54();
    Code c{I(Op::Mov64Reg, 6, 1), I(Op::Mov64Imm, 0, 0, 0, 7), I(Op::LdAbs8, 0, 0, 0, 40),
           I(Op::Add64Imm, 0, 0, 0, 100), I(Op::Exit)};
    const Outcome o = run_skb(c, &skb);
    EXPECT_EQ(o.result.status, ExecStatus::Ok);
    EXPECT_EQ(o.result.r0, 0u);
    EXPECT_EQ(o.result.pc, 2u);
}

TEST(LdInd, OffsetIsAdded64BitThenTruncated) {
    EXPECT_EQ(packet_load(Op::LdInd8, 0, 0x100000009ULL), 0x11u);  // reads offset 9
    EXPECT_EQ(packet_load(Op::LdInd8, 10, static_cast<std::uint64_t>(-1)), 0x11u);
    EXPECT_EQ(packet_load(Op::LdInd16, 2, 0xffffffff00000000ULL), 0x0028u);
    EXPECT_EQ(packet_load(Op::LdInd8, -1, 0), 0u);
    EXPECT_EQ(packet_load(Op::LdInd32, 0, 0x7fffffff), 0u);
    EXPECT_EQ(packet_load(Op::LdInd8, 9, static_cast<std::uint64_t>(kNet)), 0x11u);
    EXPECT_EQ(packet_load(Op::LdInd16, kLl, 12), 0x0800u);
    EXPECT_EQ(packet_load(Op::LdInd32, 0, 36), 0x6f2d776fu);
}

TEST(LdAbs, ResultIsZeroExtended) {
    runtime::Skb skb = frame54();
    skb.bytes[14] = 0x80;
    skb.bytes[15] = 0x01;
    skb.bytes[16] = 0x02;
    skb.bytes[17] = 0x03;
    Code c{I(Op::Mov64Reg, 6, 1), I(Op::Mov64Imm, 0, 0, 0, -1), I(Op::LdAbs32, 0, 0, 0, 0), I(Op::Exit)};
    EXPECT_EQ(run_skb(c, &skb).result.r0, 0x80010203u);
}

TEST(LdAbs, LinkLayerOffsetsNeedAMacHeader) {
    runtime::Skb skb = frame54();
    skb.mac_header = runtime::kNoHeader;
    Code c{I(Op::Mov64Reg, 6, 1), I(Op::LdAbs8, 0, 0, 0, kLl + 7), I(Op::Add64Imm, 0, 0, 0, 1), I(Op::Exit)};
    EXPECT_EQ(run_skb(c, &skb).result.r0, 0u);
    Code net{I(Op::Mov64Reg, 6, 1), I(Op::LdAbs8, 0, 0, 0, kNet), I(Op::Exit)};
    EXPECT_EQ(run_skb(net, &skb).result.r0, 0x45u);
}

TEST(LdAbs, RegistersAfterTheLoad) {
    runtime::Skb skb = frame54();
    // r1 = ctx, r2 = offset (64-bit, before truncation), r3..r5 = 0, r6..r9 kept.
    // Store r1..r5 right after the load; the trace's last step shows the registers.
    Code fixed{I(Op::Mov64Reg, 6, 1), I(Op::Mov64Imm, 3, 0, 0, 3), I(Op::Mov64Imm, 4, 0, 0, 4),
               I(Op::Mov64Imm, 5, 0, 0, 5), I(Op::Mov64Imm, 9, 0, 0, 9)};
    fixed.lddw(7, 0x100000000ULL) << I(Op::LdInd8, 0, 7, 0, 1);
    fixed << I(Op::Stx64, 10, 1, -8) << I(Op::Stx64, 10, 2, -16) << I(Op::Stx64, 10, 3, -24)
          << I(Op::Stx64, 10, 4, -32) << I(Op::Stx64, 10, 5, -40) << I(Op::Mov64Reg, 0, 9) << I(Op::Exit);
    const program::Program prog = make_program(fixed);
    Interpreter vm(runtime::LoadedProgram{&prog, sf_environment()});
    class Last final : public TraceSink {
    public:
        void step(const TraceStep& s) override { last = s; }
        TraceStep last{};
    } rec;
    vm.set_trace(&rec);
    RunInput in;
    in.skb = &skb;
    const ExecResult r = vm.run(in);
    ASSERT_EQ(r.status, ExecStatus::Ok) << vm.fault_message();
    EXPECT_EQ(r.r0, 9u);
    const std::uint64_t* regs = rec.last.after;
    EXPECT_EQ(regs[1], regs[6]);  // the context pointer
    EXPECT_EQ(regs[2], 0x100000001ULL);
    EXPECT_EQ(regs[3], 0u);
    EXPECT_EQ(regs[4], 0u);
    EXPECT_EQ(regs[5], 0u);
    EXPECT_EQ(regs[7], 0x100000000ULL);
}

TEST(LdAbs, FailureInASubprogramReturnsZeroToTheCaller) {
    runtime::Skb skb = frame54();
    Code c{I(Op::Mov64Reg, 6, 1), I(Op::CallLocal, 0, 0, 0, 2), I(Op::Add64Imm, 0, 0, 0, 100), I(Op::Exit),
           // f: r0 = 7; ldabs b [40] fails -> return 0 to main
           I(Op::Mov64Imm, 0, 0, 0, 7), I(Op::LdAbs8, 0, 0, 0, 40), I(Op::Mov64Imm, 0, 0, 0, 55), I(Op::Exit)};
    const Outcome o = run_skb(c, &skb);
    EXPECT_EQ(o.result.status, ExecStatus::Ok);
    EXPECT_EQ(o.result.r0, 100u);
    EXPECT_EQ(o.result.pc, 3u);
}

TEST(LdAbs, WithoutAPacketFaults) {
    Code c{I(Op::LdAbs8, 0, 0, 0, 0), I(Op::Exit)};
    const Outcome o = run_skb(c, nullptr);
    EXPECT_EQ(o.result.status, ExecStatus::MemoryFault);
    EXPECT_EQ(o.message, "pc 0: LD_ABS/LD_IND needs a packet, and this run has none (the context is NULL)");
    EXPECT_EQ(run_raw(c).message, "pc 0: LD_ABS/LD_IND needs a packet, and this run has none (raw mode)");
}

runtime::Skb meta_skb() {
    runtime::Skb skb = frame54();
    skb.meta.pkt_type = 3;
    skb.meta.mark = 0x1234aaaa;
    skb.meta.protocol = 0xdd86;
    skb.meta.queue_mapping = 123;
    skb.meta.ifindex = 577;
    skb.meta.cb = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
    return skb;
}

std::uint64_t ctx_load(Op op, std::int16_t off, runtime::Skb skb = meta_skb()) {
    Code c{I(op, 0, 1, off), I(Op::Exit)};
    const Outcome o = run_skb(c, &skb);
    EXPECT_EQ(o.result.status, ExecStatus::Ok) << o.message;
    return o.result.r0;
}

TEST(Context, Reads) {
    EXPECT_EQ(ctx_load(Op::Ldx32, 0), 40u);  // len: from skb->data to the end
    EXPECT_EQ(ctx_load(Op::Ldx32, 8), 0x1234aaaau);
    EXPECT_EQ(ctx_load(Op::Ldx16, 10), 0x1234u);  // mark is a real u32: narrow loads shift
    EXPECT_EQ(ctx_load(Op::Ldx8, 9), 0xaau);
    EXPECT_EQ(ctx_load(Op::Ldx32, 40), 577u);
    EXPECT_EQ(ctx_load(Op::Ldx32, 12), 123u);
    EXPECT_EQ(ctx_load(Op::Ldsx8, 8), 0xffffffffffffffaaULL);
}

TEST(Context, NarrowLoadsOfNarrowFields) {
    EXPECT_EQ(ctx_load(Op::Ldx8, 5), 3u);  // any byte of pkt_type is pkt_type
    EXPECT_EQ(ctx_load(Op::Ldx16, 6), 3u);
    EXPECT_EQ(ctx_load(Op::Ldx32, 16), 0xdd86u);
    EXPECT_EQ(ctx_load(Op::Ldx16, 18), 0xdd86u);  // H@+2 repeats the field
    EXPECT_EQ(ctx_load(Op::Ldx8, 16), 0x86u);
    EXPECT_EQ(ctx_load(Op::Ldx8, 17), 0xddu);
    EXPECT_EQ(ctx_load(Op::Ldx8, 18), 0u);
}

TEST(Context, CbReadsAndWrites) {
    EXPECT_EQ(ctx_load(Op::Ldx32, 52), 0x08070605u);
    EXPECT_EQ(ctx_load(Op::Ldx64, 56), 0x100f0e0d0c0b0a09ULL);
    EXPECT_EQ(ctx_load(Op::Ldx8, 67), 20u);
    runtime::Skb skb = meta_skb();
    Code c{I(Op::Mov64Imm, 2, 0, 0, -1), I(Op::Stx32, 1, 2, 48), I(Op::St16, 1, 0, 54, 0x7788),
           I(Op::St64, 1, 0, 56, -2), I(Op::Stx8, 1, 2, 67), I(Op::Ldx64, 0, 1, 48), I(Op::Exit)};
    const Outcome o = run_skb(c, &skb);
    ASSERT_EQ(o.result.status, ExecStatus::Ok) << o.message;
    EXPECT_EQ(o.result.r0, 0x77880605ffffffffULL);
    const std::array<std::uint8_t, 20> want = {0xff, 0xff, 0xff, 0xff, 5, 6, 0x88, 0x77, 0xfe, 0xff,
                                               0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 17, 18, 19, 0xff};
    EXPECT_EQ(skb.meta.cb, want);
}

TEST(Context, RefusedAccessesFault) {
    runtime::Skb skb = meta_skb();
    auto fault_of = [&](const Code& c) {
        const Outcome o = run_skb(c, &skb);
        EXPECT_EQ(o.result.status, ExecStatus::MemoryFault);
        return o.message;
    };
    EXPECT_EQ(fault_of(Code{I(Op::St32, 1, 0, 8, 1), I(Op::Exit)}), "pc 0: invalid bpf_context access off=8 size=4");
    EXPECT_EQ(fault_of(Code{I(Op::Ldx32, 0, 1, 72), I(Op::Exit)}), "pc 0: invalid bpf_context access off=72 size=4");
    EXPECT_EQ(fault_of(Code{I(Op::Ldx64, 0, 1, 0), I(Op::Exit)}), "pc 0: invalid bpf_context access off=0 size=8");
    EXPECT_EQ(fault_of(Code{I(Op::Ldx64, 0, 1, 52), I(Op::Exit)}), "pc 0: invalid bpf_context access off=52 size=8");
    EXPECT_EQ(fault_of(Code{I(Op::Ldx16, 0, 1, 1), I(Op::Exit)}), "pc 0: invalid bpf_context access off=1 size=2");
    EXPECT_EQ(fault_of(Code{I(Op::Ldx32, 0, 1, 188), I(Op::Exit)}), "pc 0: invalid bpf_context access off=188 size=4");
    EXPECT_EQ(fault_of(Code{I(Op::Mov64Imm, 2, 0, 0, 1), I(Op::AtomicAdd32, 1, 2, 48), I(Op::Exit)}),
              "pc 1: BPF_ATOMIC stores into R1 ctx is not allowed");
    // Past the context: outside every region.
    const std::string past = fault_of(Code{I(Op::Ldx32, 0, 1, 300), I(Op::Exit)});
    EXPECT_TRUE(past.starts_with("pc 0: read of 4 bytes at r1+300 (0x")) << past;
    // The rules hold in unchecked mode too.
    const Outcome u = run_skb(Code{I(Op::St32, 1, 0, 8, 1), I(Op::Exit)}, &skb, Options{1000, false});
    EXPECT_EQ(u.result.status, ExecStatus::MemoryFault);
}

TEST(Context, NullContext) {
    Code c{I(Op::Mov64Reg, 0, 1), I(Op::Exit)};
    EXPECT_EQ(run_skb(c, nullptr).result.r0, 0u);
    const Outcome o = run_skb(Code{I(Op::Ldx32, 0, 1, 0), I(Op::Exit)}, nullptr);
    EXPECT_EQ(o.result.status, ExecStatus::MemoryFault);
}

TEST(Context, SkPointer) {
    runtime::Skb skb = meta_skb();
    skb.meta.has_sk = false;
    EXPECT_EQ(ctx_load(Op::Ldx64, 168, skb), 0u);
    skb.meta.has_sk = true;
    skb.meta.sock.family = runtime::kAfInet;
    skb.meta.sock.src_ip4 = {10, 0, 0, 1};
    skb.meta.sock.src_port = 53;
    EXPECT_NE(ctx_load(Op::Ldx64, 168, skb), 0u);
    auto sk_read = [&](Op op, std::int16_t off) {
        Code c{I(Op::Ldx64, 2, 1, 168), I(op, 0, 2, off), I(Op::Exit)};
        return run_skb(c, &skb);
    };
    EXPECT_EQ(sk_read(Op::Ldx32, 4).result.r0, 2u);                // family
    EXPECT_EQ(sk_read(Op::Ldx32, 24).result.r0, 0x0100000au);      // src_ip4, network order bytes
    EXPECT_EQ(sk_read(Op::Ldx8, 27).result.r0, 1u);
    EXPECT_EQ(sk_read(Op::Ldsx8, 24).result.r0, 10u);
    EXPECT_EQ(sk_read(Op::Ldx32, 44).result.r0, 53u);              // src_port, host order
    const Outcome refused = sk_read(Op::Ldx32, 8);
    EXPECT_EQ(refused.result.status, ExecStatus::MemoryFault);
    EXPECT_EQ(refused.message, "pc 1: R2 invalid sock_common access off=8 size=4");
    Code store{I(Op::Ldx64, 2, 1, 168), I(Op::St32, 2, 0, 0, 1), I(Op::Exit)};
    EXPECT_EQ(run_skb(store, &skb).message, "pc 1: R2 cannot write into sock_common (off=0 size=4)");
    Code atomic{I(Op::Ldx64, 2, 1, 168), I(Op::AtomicAdd32, 2, 1, 0), I(Op::Exit)};
    EXPECT_EQ(run_skb(atomic, &skb).message, "pc 1: BPF_ATOMIC stores into R2 sock_common is not allowed");
    // Reaching the sock window without ctx->sk (r1 + 192) is refused too.
    skb.meta.has_sk = false;
    Code guess{I(Op::Ldx32, 0, 1, 196), I(Op::Exit)};
    EXPECT_EQ(run_skb(guess, &skb).message, "pc 0: read of 4 bytes at offset 4 of ctx->sk, which is NULL in this run");
}

}  // namespace
}  // namespace sockfilter::vm::testing
