// SPDX-License-Identifier: MIT
// The generator without a kernel: the same seed gives the same cases, every case is accepted by
// runtime::load and runs in checked mode without a fault, removing units keeps programs valid,
// and regression files read back into the case they were written from.
#include <gtest/gtest.h>

#include "diff.h"
#include "generator.h"

namespace sockfilter::gen {
namespace {

TEST(Generator, SameSeedSameCases) {
    Generator a(42);
    Generator b(42);
    Generator other(43);
    bool differs = false;
    for (int i = 0; i < 50; ++i) {
        const Case x = a.next();
        const Case y = b.next();
        const Case z = other.next();
        EXPECT_EQ(layout(x).bytes(), layout(y).bytes());
        ASSERT_EQ(x.packets.size(), y.packets.size());
        for (std::size_t p = 0; p < x.packets.size(); ++p) {
            EXPECT_EQ(x.packets[p].frame, y.packets[p].frame);
            EXPECT_EQ(format_ctx(x.packets[p].ctx), format_ctx(y.packets[p].ctx));
        }
        differs = differs || layout(x).bytes() != layout(z).bytes();
    }
    EXPECT_TRUE(differs);
}

TEST(Generator, OurSideRunsEveryCase) {
    Generator g(7);
    Coverage cov;
    for (int i = 0; i < 300; ++i) {
        const Case c = g.next();
        const Trace t = run_ours(c);
        ASSERT_EQ(t.load_error, "") << regression_text(c, "");
        for (const std::string& p : t.packets) {
            ASSERT_EQ(p.rfind("fault", 0), std::string::npos) << p << "\n" << regression_text(c, "");
        }
        EXPECT_EQ(t.maps.size(), c.maps.size());
        cov.add(layout(c));
    }
    EXPECT_EQ(cov.missing_classes(), std::vector<std::string>{});
}

TEST(Generator, WithoutUnitStaysValid) {
    Generator g(11);
    for (int i = 0; i < 40; ++i) {
        Case c = g.next();
        // Remove every removable unit of the entry from the front, one at a time.
        std::size_t u = 1;
        while (u < c.functions[0].units.size()) {
            if (c.functions[0].units[u].fixed) {
                ++u;
                continue;
            }
            c = without_unit(c, 0, u);
            EXPECT_EQ(run_ours(c).load_error, "");
        }
        EXPECT_EQ(c.functions.size(), 1U);
        EXPECT_EQ(c.functions[0].units.size(), 2U);
    }
}

TEST(Generator, RegressionTextReadsBack) {
    Generator g(5);
    for (int i = 0; i < 30; ++i) {
        const Case c = g.next();
        const std::string text = regression_text(c, "none");
        auto back = read_regression(text, "case.s");
        ASSERT_TRUE(back.has_value()) << back.error().render() << "\n" << text;
        EXPECT_EQ(layout(*back).bytes(), layout(c).bytes());
        ASSERT_EQ(back->maps.size(), c.maps.size());
        for (std::size_t m = 0; m < c.maps.size(); ++m) {
            EXPECT_EQ(back->maps[m].type, c.maps[m].type);
            EXPECT_EQ(back->maps[m].key_size, c.maps[m].key_size);
            EXPECT_EQ(back->maps[m].value_size, c.maps[m].value_size);
            EXPECT_EQ(back->maps[m].max_entries, c.maps[m].max_entries);
        }
        ASSERT_EQ(back->packets.size(), c.packets.size());
        for (std::size_t p = 0; p < c.packets.size(); ++p) {
            EXPECT_EQ(back->packets[p].frame, c.packets[p].frame);
            EXPECT_EQ(format_ctx(back->packets[p].ctx), format_ctx(c.packets[p].ctx));
        }
    }
}

TEST(Generator, RegressionFileErrors) {
    EXPECT_EQ(read_regression("r0 = 0\nexit\n", "a.s").error().render(), "a.s:1:1: no '; packet' line");
    EXPECT_EQ(read_regression("; map lru key=4\n; packet 00\nr0 = 0\nexit\n", "b.s").error().render(),
              "b.s:1:1: map type 'lru' is not hash or array");
}

}  // namespace
}  // namespace sockfilter::gen
