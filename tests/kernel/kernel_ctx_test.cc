// SPDX-License-Identifier: MIT
// The running kernel against the measured context-access table: every row of ctx_priv.csv is
// loaded with load_socket_filter and must get the recorded verdict and message, one test per
// instruction kind, listing every row that disagrees. (runtime::load is compared with the same
// rows in ctx_table_test.)
#include <gtest/gtest.h>

#include <string>

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

INSTANTIATE_TEST_SUITE_P(Rows, KernelCtxTable, ::testing::Values("ldx", "ldsx", "stx", "st", "atomic"));

}  // namespace
}  // namespace sockfilter::testing
