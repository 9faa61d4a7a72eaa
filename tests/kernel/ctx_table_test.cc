// SPDX-License-Identifier: MIT
// runtime::load against the measured context-access table: every row of ctx_priv.csv and
// ctx_unpriv.csv, one test per (file, kind), listing every row that disagrees. No kernel needed.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "ctx_rows.h"
#include "runtime/load.h"

namespace sockfilter::testing {
namespace {

class CtxTable : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(CtxTable, LoadMatchesKernelMeasurement) {
    const auto& [file, kind] = GetParam();
    const std::string path = shared_dir() + "/spec/empirical/" + file + ".csv";
    auto rows = read_ctx_csv(path);
    ASSERT_TRUE(rows.has_value()) << rows.error().render();
    std::size_t compared = 0;
    std::string failures;
    std::size_t failed = 0;
    for (const CtxRow& row : *rows) {
        if (row.kind != kind) {
            continue;
        }
        ++compared;
        const program::Program prog = ctx_probe(row);
        auto loaded = runtime::load(prog, runtime::socket_filter_env());
        std::string got = loaded ? "OK" : loaded.error().message;
        std::string want = row.accepted ? "OK" : row.msg;
        if (got != want) {
            ++failed;
            failures += path + ":" + std::to_string(row.line) + ": " + row.kind + " size " + std::to_string(row.size) +
                        " off " + std::to_string(row.off) + ": want '" + want + "', got '" + got + "'\n";
        }
    }
    EXPECT_GT(compared, 0u);
    EXPECT_EQ(failed, 0u) << failures;
    std::printf("%s/%s: %zu rows compared, %zu mismatches\n", file.c_str(), kind.c_str(), compared, failed);
}

INSTANTIATE_TEST_SUITE_P(Rows, CtxTable,
                         ::testing::Combine(::testing::Values("ctx_priv", "ctx_unpriv"),
                                            ::testing::Values("ldx", "ldsx", "stx", "st", "atomic")),
                         [](const auto& info) { return std::get<0>(info.param) + "_" + std::get<1>(info.param); });

}  // namespace
}  // namespace sockfilter::testing
