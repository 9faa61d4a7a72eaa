// SPDX-License-Identifier: MIT
// The kernel backend itself: Fd ownership, load_socket_filter's verdict, errno and log summary,
// test_run, probe; every kernel test also fails on a leaked file descriptor.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <vector>

#include "ctx_rows.h"
#include "kernel/bpf.h"
#include "kernel/fd.h"
#include "kernel_env.h"

namespace sockfilter::testing {
namespace {

using isa::Op;
using kernel::Fd;

std::array<int, 2> make_pipe() {
    std::array<int, 2> p{-1, -1};
    EXPECT_EQ(::pipe(p.data()), 0);
    return p;
}

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

TEST(KernelFd, ClosesOnceAndMoves) {
    const std::size_t before = open_fd_count();
    {
        auto p = make_pipe();
        Fd a(p[0]);
        Fd b(p[1]);
        EXPECT_TRUE(a.valid());
        Fd c(std::move(a));
        EXPECT_FALSE(a.valid());
        EXPECT_EQ(c.get(), p[0]);
        b = std::move(c);  // closes p[1], takes p[0]
        EXPECT_FALSE(is_open(p[1]));
        EXPECT_EQ(b.get(), p[0]);
        const int raw = b.release();
        EXPECT_FALSE(b.valid());
        b.reset(raw);
        EXPECT_TRUE(is_open(raw));
    }
    EXPECT_EQ(open_fd_count(), before);
    EXPECT_FALSE(Fd(-5).valid());
    EXPECT_FALSE(Fd().valid());
}

TEST(KernelLog, Summary) {
    EXPECT_EQ(kernel::summarize_log("0: R1=ctx() R10=fp0\n0: (61) r0 = *(u32 *)(r1 +76)\n"
                                    "invalid bpf_context access off=76 size=4\n"
                                    "processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 "
                                    "peak_states 0 mark_read 0\n\n"),
              "invalid bpf_context access off=76 size=4");
    // With BTF line info the kernel may annotate the source line after the message.
    EXPECT_EQ(kernel::summarize_log("invalid bpf_context access off=72 size=4\n"
                                    "; return skb->tc_classid; @ rejected.c:12\n"
                                    "verification time 21 usec\nstack depth 0\n"
                                    "processed 4 insns (limit 1000000) max_states_per_insn 0\n"),
              "invalid bpf_context access off=72 size=4");
    EXPECT_EQ(kernel::summarize_log("verification time 5 usec\nstack depth 0\nprocessed 2 insns\n"), "");
    EXPECT_EQ(kernel::summarize_log(""), "");
    EXPECT_EQ(kernel::summarize_log("last line without newline"), "last line without newline");
}

class KernelBackend : public KernelTest {};

program::Program return_len() {
    return build("len", {I(Op::Ldx32, 0, 1, 0), I(Op::Exit)});
}

TEST_F(KernelBackend, LoadsAndRuns) {
    std::string log;
    auto fd = kernel::load_socket_filter(return_len(), {}, &log);
    ASSERT_TRUE(fd.has_value()) << fd.error().render();
    EXPECT_TRUE(fd->valid());
    EXPECT_NE(log.find("processed 2 insns"), std::string::npos) << log;
    std::vector<std::uint8_t> frame(54, 0);
    frame[12] = 0x08;
    auto run = kernel::test_run(*fd, frame, std::nullopt);
    ASSERT_TRUE(run.has_value()) << run.error().render();
    EXPECT_EQ(run->retval, 40u);
    EXPECT_EQ(run->data_out.size(), 54u);
}

TEST_F(KernelBackend, CtxInAndOut) {
    // r0 = ctx->mark; ctx->cb[1] = r0 + 1; exit
    auto prog = build("cb", {I(Op::Ldx32, 0, 1, 8), I(Op::Mov64Reg, 2, 0), I(Op::Add64Imm, 2, 0, 0, 1),
                             I(Op::Stx32, 1, 2, 52), I(Op::Exit)});
    auto fd = kernel::load_socket_filter(prog);
    ASSERT_TRUE(fd.has_value()) << fd.error().render();
    std::array<std::uint8_t, kernel::kSkBuffSize> ctx{};
    ctx[8] = 0x41;  // mark
    std::vector<std::uint8_t> frame(20, 0);
    auto run = kernel::test_run(*fd, frame, ctx);
    ASSERT_TRUE(run.has_value()) << run.error().render();
    EXPECT_EQ(run->retval, 0x41u);
    EXPECT_EQ(run->ctx_out[52], 0x42);
    // A frame shorter than an Ethernet header and a ctx_in field test-run refuses: EINVAL.
    auto short_run = kernel::test_run(*fd, std::vector<std::uint8_t>(13, 0), std::nullopt);
    ASSERT_FALSE(short_run.has_value());
    EXPECT_EQ(short_run.error().code, Errc::Kernel);
    EXPECT_EQ(short_run.error().sys_errno, EINVAL);
    ctx[0] = 5;  // len
    auto bad_ctx = kernel::test_run(*fd, frame, ctx);
    ASSERT_FALSE(bad_ctx.has_value());
    EXPECT_EQ(bad_ctx.error().sys_errno, EINVAL);
}

TEST_F(KernelBackend, RejectionCarriesErrnoSummaryAndLog) {
    std::string log;
    auto fd = kernel::load_socket_filter(build("bad", {I(Op::Ldx32, 0, 1, 76), I(Op::Exit)}), {}, &log);
    ASSERT_FALSE(fd.has_value());
    EXPECT_EQ(fd.error().code, Errc::Kernel);
    EXPECT_EQ(fd.error().sys_errno, EACCES);
    EXPECT_EQ(fd.error().message, "invalid bpf_context access off=76 size=4");
    EXPECT_NE(log.find("processed"), std::string::npos) << log;
    EXPECT_NE(log.find("invalid bpf_context access"), std::string::npos) << log;
}

TEST_F(KernelBackend, LogLevelZeroStillExplainsFailures) {
    kernel::LoadOptions opts;
    opts.log_level = 0;
    std::string log = "untouched";
    auto ok = kernel::load_socket_filter(return_len(), opts, &log);
    ASSERT_TRUE(ok.has_value()) << ok.error().render();
    EXPECT_EQ(log, "");
    auto fd = kernel::load_socket_filter(build("helper", {I(Op::CallHelper, 0, 0, 0, 9999), I(Op::Exit)}), opts);
    ASSERT_FALSE(fd.has_value());
    EXPECT_EQ(fd.error().sys_errno, EINVAL);
    EXPECT_EQ(fd.error().message, "invalid func unknown#9999");
}

TEST_F(KernelBackend, LargeLogsGrowTheBuffer) {
    // Level 2 logs every instruction's state; a long program overflows the first 1 MiB buffer.
    std::vector<isa::Insn> s;
    for (int i = 0; i < 20000; ++i) {
        s.push_back(I(Op::Add64Imm, 0, 0, 0, 1));
    }
    s.insert(s.begin(), I(Op::Mov64Imm, 0, 0, 0, 0));
    s.push_back(I(Op::Exit));
    kernel::LoadOptions opts;
    opts.log_level = 2;
    std::string log;
    auto fd = kernel::load_socket_filter(build("long", std::move(s)), opts, &log);
    ASSERT_TRUE(fd.has_value()) << fd.error().render();
    EXPECT_GT(log.size(), std::size_t{1} << 20);
    EXPECT_NE(log.find("processed 20002 insns"), std::string::npos);
}

TEST_F(KernelBackend, ProbePermits) {
    auto p = kernel::probe();
    ASSERT_TRUE(p.has_value()) << p.error().render();
    EXPECT_TRUE(p->permitted);
    EXPECT_EQ(p->sys_errno, 0);
}

TEST_F(KernelBackend, NoFdLeaksOverManyLoads) {
    const std::size_t before = open_fd_count();
    for (int i = 0; i < 200; ++i) {
        auto fd = kernel::load_socket_filter(return_len());
        ASSERT_TRUE(fd.has_value()) << fd.error().render();
        auto bad = kernel::load_socket_filter(build("bad", {I(Op::Ldx32, 0, 1, 76), I(Op::Exit)}));
        ASSERT_FALSE(bad.has_value());
    }
    EXPECT_EQ(open_fd_count(), before);
}

}  // namespace
}  // namespace sockfilter::testing
