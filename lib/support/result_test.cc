// SPDX-License-Identifier: MIT
// Tests of error rendering.
#include "support/result.h"

#include <gtest/gtest.h>

namespace sockfilter {
namespace {

Result<int> inner() { return fail(Errc::InvalidProgram, InsnIndex{3}, "unknown opcode {:#04x}", 0x8f); }

TEST(Error, RendersContextOutermostFirst) {
    auto r = inner();
    ASSERT_FALSE(r.has_value());
    Error e = std::move(r.error()).with_context("section \"socket\"");
    EXPECT_EQ(e.render(), "section \"socket\": pc 3: unknown opcode 0x8f");
    e = std::move(e).with_context("prog.o");
    EXPECT_EQ(e.render(), "prog.o: section \"socket\": pc 3: unknown opcode 0x8f");
}

TEST(Error, RendersSourcePositions) {
    Error e{Errc::Parse, "expected register", SourcePos{"f.s", 2, 7}, {}, 0};
    EXPECT_EQ(e.render(), "f.s:2:7: expected register");
    EXPECT_EQ(render_location(ElfPos{".text", 16}), "section .text+0x10");
    EXPECT_EQ(render_location(Location{}), "");
}

}  // namespace
}  // namespace sockfilter
