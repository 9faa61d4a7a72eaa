// SPDX-License-Identifier: MIT
// Generated programs against the running kernel: SF_GEN_COUNT (default per build) random
// socket filters from seed SF_GEN_SEED, each loaded by the kernel and by runtime::load and run on
// its packets by BPF_PROG_TEST_RUN and by the interpreter. Zero divergences allowed; a divergence
// is minimised and saved under tests/data/gen_regressions/. Also replays every saved case.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "diff.h"
#include "generator.h"
#include "kernel_env.h"

namespace sockfilter::testing {
namespace {

namespace fs = std::filesystem;
using gen::Case;
using gen::Trace;

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 0) : fallback;
}

/// Where regression cases live: $SF_GEN_REGRESSIONS, else the source tree's folder.
fs::path regressions_dir() {
    const char* v = std::getenv("SF_GEN_REGRESSIONS");
    return v != nullptr && *v != '\0' ? fs::path(v) : fs::path(SF_GEN_REGRESSIONS_DIR);
}

class GenDiff : public KernelTest {};

TEST_F(GenDiff, GeneratedPrograms) {
    const std::uint64_t seed = env_or("SF_GEN_SEED", 1);
    const std::uint64_t count = env_or("SF_GEN_COUNT", SF_GEN_DEFAULT_COUNT);
    const auto start = std::chrono::steady_clock::now();
    gen::Generator g(seed);
    gen::Coverage coverage;
    std::uint64_t accepted = 0;
    std::uint64_t packets = 0;
    std::uint64_t divergences = 0;
    std::string rejections;
    std::size_t shown = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
        const Case c = g.next();
        const Trace k = gen::run_kernel(c);
        if (!k.load_error.empty()) {
            if (shown++ < 5) {
                rejections += fmt::format("  case {}: {}\n", c.index, k.load_error);
            }
            continue;
        }
        ++accepted;
        packets += c.packets.size();
        coverage.add(gen::layout(c));
        const std::string d = gen::compare(k, gen::run_ours(c));
        if (d.empty()) {
            continue;
        }
        ++divergences;
        if (divergences > 3) {
            ADD_FAILURE() << "case " << c.index << " diverges: " << d;
            continue;
        }
        const Case m = gen::minimise(c);
        const std::string md = gen::compare(gen::run_kernel(m), gen::run_ours(m));
        const fs::path path = regressions_dir() / fmt::format("{}-{}.s", seed, c.index);
        std::error_code ec;
        fs::create_directories(path.parent_path(), ec);
        std::ofstream out(path);
        out << gen::regression_text(m, md);
        EXPECT_TRUE(out.good()) << "cannot write " << path.string();
        ADD_FAILURE() << "case " << c.index << " diverges: " << d << "\nminimised to " << path.string() << ": " << md;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("generated programs: seed %llu, %llu programs, %llu accepted by the kernel (%.1f%%), %llu packets "
                "compared, %llu divergences, %.1f s\n",
                static_cast<unsigned long long>(seed), static_cast<unsigned long long>(count),
                static_cast<unsigned long long>(accepted), count == 0 ? 0.0 : 100.0 * static_cast<double>(accepted) / static_cast<double>(count),
                static_cast<unsigned long long>(packets), static_cast<unsigned long long>(divergences), seconds);
    std::printf("%s", coverage.report().c_str());
    if (!rejections.empty()) {
        std::printf("first rejections:\n%s", rejections.c_str());
    }
    EXPECT_GE(accepted * 100, count * 90) << "acceptance under 90%:\n" << rejections;
    EXPECT_EQ(coverage.missing_classes(), std::vector<std::string>{});
    EXPECT_EQ(coverage.missing_ops(), std::vector<std::string>{});
}

/// Reads a regression file and runs it on both sides: the kernel must accept it and agree with us.
void replay(const fs::path& path) {
    SCOPED_TRACE(path.string());
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    auto c = gen::read_regression(text.str(), path.string());
    ASSERT_TRUE(c.has_value()) << c.error().render();
    const Trace k = gen::run_kernel(*c);
    EXPECT_EQ(k.load_error, "");
    EXPECT_EQ(gen::compare(k, gen::run_ours(*c)), "");
}

TEST_F(GenDiff, SavedRegressions) {
    const fs::path dir = regressions_dir();
    ASSERT_TRUE(fs::is_directory(dir)) << dir.string();
    std::size_t cases = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() == ".s") {
            replay(entry.path());
            ++cases;
        }
    }
    std::printf("replayed %zu saved regression cases from %s\n", cases, dir.string().c_str());
    // The same path for freshly written files: generated cases with maps and several functions,
    // written as regression files and replayed from disk.
    const fs::path tmp = fs::path(::testing::TempDir()) / "gen_replay.s";
    gen::Generator g(99);
    for (int i = 0; i < 20; ++i) {
        std::ofstream(tmp) << gen::regression_text(g.next(), "none");
        replay(tmp);
    }
    fs::remove(tmp);
}

}  // namespace
}  // namespace sockfilter::testing
