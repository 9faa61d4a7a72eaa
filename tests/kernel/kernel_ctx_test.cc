// SPDX-License-Identifier: MIT
// The running kernel against the measured context-access table: every row of ctx_priv.csv is
// loaded with load_socket_filter and must get the recorded verdict and message, one test per
// instruction kind, listing every row that disagrees. (runtime::load is compared with the same
// rows in ctx_table_test.)
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ctx_rows.h"
#include "kernel/bpf.h"
#include "kernel_env.h"
#include "runtime/load.h"

namespace sockfilter::testing {
namespace {

class KernelCtxTable : public KernelTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(KernelCtxTable, KernelMatchesMeasurementAndLoad) {
    const std::string& kind = GetParam();
    const std::string path = shared_dir() + "/spec/empirical/ctx_priv.csv";
    auto rows = read_ctx_csv(path);
    ASSERT_TRUE(rows.has_value()) << rows.error().render();
    std::size_t compared = 0;
    std::size_t failed = 0;
    std::string failures;
    kernel::LoadOptions opts;
    opts.log_level = 0;
    for (const CtxRow& row : *rows) {
        if (row.kind != kind) {
            continue;
        }
        ++compared;
        const program::Program prog = ctx_probe(row);
        auto fd = kernel::load_socket_filter(prog, opts);
        const std::string kernel_says = fd ? "OK" : fd.error().message;
        auto ours = runtime::load(prog, runtime::socket_filter_env());
        const std::string we_say = ours ? "OK" : ours.error().message;
        const std::string want = row.accepted ? "OK" : row.msg;
        if (kernel_says != want || we_say != kernel_says) {
            ++failed;
            failures += path + ":" + std::to_string(row.line) + ": " + row.kind + " size " + std::to_string(row.size) +
                        " off " + std::to_string(row.off) + ": csv '" + want + "', kernel '" + kernel_says +
                        "', runtime::load '" + we_say + "'\n";
        }
    }
    EXPECT_GT(compared, 0u);
    EXPECT_EQ(failed, 0u) << failures;
    std::printf("kernel ctx table %s: %zu rows compared, %zu mismatches\n", kind.c_str(), compared, failed);
}

INSTANTIATE_TEST_SUITE_P(Rows, KernelCtxTable, ::testing::Values("ldx", "ldsx", "stx", "st", "atomic"),
                         [](const auto& info) { return info.param; });

/// How a load() message is compared with the kernel's.
enum class Match {
    Exact,
    WithoutHelperName,  ///< the kernel names the helper (`helper bpf_skb_store_bytes#9`), we do not
    VariablePrefix,     ///< the kernel prints the tnum after `variable ctx access`
};

struct MessageCase {
    const char* name;
    std::vector<isa::Insn> slots;
    Match match = Match::Exact;
};

std::string normalize(const std::string& msg, Match m) {
    if (m == Match::WithoutHelperName) {
        const std::string key = "cannot use helper ";
        const std::size_t at = msg.find(key);
        const std::size_t hash = msg.find('#', at);
        if (at != std::string::npos && hash != std::string::npos) {
            return msg.substr(0, at + key.size()) + msg.substr(hash);
        }
    }
    if (m == Match::VariablePrefix && msg.starts_with("variable ctx access")) {
        return "variable ctx access";
    }
    return msg;
}

class KernelLoadMessages : public KernelTest {};

TEST_F(KernelLoadMessages, SameAsRuntimeLoad) {
    using isa::Op;
    const std::vector<MessageCase> cases{
        {"modified", {I(Op::Add64Imm, 1, 0, 0, 4), I(Op::Ldx32, 0, 1, 0), I(Op::Exit)}},
        {"negative", {I(Op::Add64Imm, 1, 0, 0, -4), I(Op::Ldx32, 0, 1, 4), I(Op::Exit)}},
        {"modified by register",
         {I(Op::Mov64Imm, 2, 0, 0, 8), I(Op::Add64Reg, 1, 2), I(Op::Ldx32, 0, 1, 0), I(Op::Exit)}},
        {"variable",
         {I(Op::Ldx32, 2, 1, 0), I(Op::Add64Reg, 1, 2), I(Op::Ldx32, 0, 1, 0), I(Op::Exit)},
         Match::VariablePrefix},
        {"ctx or stack",
         {I(Op::Ldx32, 2, 1, 0), I(Op::Stx64, 10, 2, -8), I(Op::Jeq64Imm, 2, 0, 2, 0), I(Op::Mov64Reg, 1, 10),
          I(Op::Add64Imm, 1, 0, 0, -8), I(Op::Ldx32, 0, 1, 0), I(Op::Exit)}},
        {"atomic through a copy",
         {I(Op::Mov64Reg, 2, 1), I(Op::Mov64Imm, 3, 0, 0, 1), I(Op::AtomicAdd32, 2, 3, 48), I(Op::Mov64Imm, 0),
          I(Op::Exit)}},
        {"spill and fill",
         {I(Op::Stx64, 10, 1, -16), I(Op::Ldx64, 3, 10, -16), I(Op::Ldx32, 0, 3, 80), I(Op::Exit)}},
        {"ld_abs without r6", {I(Op::LdAbs8, 0, 0, 0, 0), I(Op::Exit)}},
        {"ld_abs r6 scalar", {I(Op::Mov64Imm, 6, 0, 0, 0), I(Op::LdAbs8, 0, 0, 0, 0), I(Op::Exit)}},
        {"ld_abs r6 modified",
         {I(Op::Mov64Reg, 6, 1), I(Op::Add64Imm, 6, 0, 0, 4), I(Op::LdAbs8, 0, 0, 0, 0), I(Op::Exit)}},
        {"ld_ind unset source", {I(Op::Mov64Reg, 6, 1), I(Op::LdInd32, 0, 3, 0, 0), I(Op::Exit)}},
        {"ld_abs in a subprogram",
         {I(Op::CallLocal, 0, 0, 0, 1), I(Op::Exit), I(Op::Mov64Reg, 6, 1), I(Op::LdAbs8, 0, 0, 0, 0), I(Op::Exit)}},
        {"tail call in a subprogram",
         {I(Op::CallLocal, 0, 0, 0, 1), I(Op::Exit), I(Op::CallHelper, 0, 0, 0, 12), I(Op::Exit)}},
        {"helper 9999", {I(Op::CallHelper, 0, 0, 0, 9999), I(Op::Exit)}},
        {"helper 212", {I(Op::CallHelper, 0, 0, 0, 212), I(Op::Exit)}},
        {"helper -1", {I(Op::CallHelper, 0, 0, 0, -1), I(Op::Exit)}},
        {"helper 9", {I(Op::CallHelper, 0, 0, 0, 9), I(Op::Exit)}, Match::WithoutHelperName},
        {"helper 0", {I(Op::CallHelper, 0, 0, 0, 0), I(Op::Exit)}, Match::WithoutHelperName},
        {"callx", {I(Op::Mov64Imm, 2, 0, 0, 0), I(Op::Callx, 2), I(Op::Exit)}},
        {"callx is found before the walk",
         {I(Op::Ldx32, 0, 1, 76), I(Op::Mov64Imm, 2, 0, 0, 0), I(Op::Callx, 2), I(Op::Exit)}},
        {"subprogram rules come before unknown opcodes",
         {I(Op::Mov64Imm, 2, 0, 0, 0), I(Op::Callx, 2), I(Op::CallLocal, 0, 0, 0, 1), I(Op::Exit),
          I(Op::Mov64Reg, 6, 1), I(Op::LdAbs8, 0, 0, 0, 0), I(Op::Exit)}},
    };
    std::string failures;
    for (const MessageCase& c : cases) {
        const program::Program prog = build("msg", c.slots);
        auto fd = kernel::load_socket_filter(prog);
        auto ours = runtime::load(prog, runtime::socket_filter_env());
        const std::string k = fd ? "OK" : normalize(fd.error().message, c.match);
        const std::string o = ours ? "OK" : normalize(ours.error().message, c.match);
        if (k != o || k == "OK") {
            failures += std::string(c.name) + ": kernel '" + k + "', runtime::load '" + o + "'\n";
        }
    }
    EXPECT_EQ(failures, "");
    std::printf("load messages: %zu programs compared\n", cases.size());
}

}  // namespace
}  // namespace sockfilter::testing
