// SPDX-License-Identifier: MIT
// write_object: what it writes reads back through our reader and opens in libbpf.
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include "asm/assembler.h"
#include "elf/elf.h"
#include "elf/writer.h"

namespace sockfilter::elf {
namespace {

program::Object one_program() {
    auto p = assembler::assemble("r0 = 0\nr1 = 5\nif r1 > 3 goto +1\nr0 = 64\nexit\n", "t.s");
    EXPECT_TRUE(p);
    program::Object o;
    o.programs.push_back(program::ObjectProgram{std::move(*p), "socket", {}});
    o.license = "Dual MIT/GPL";
    return o;
}

TEST(Writer, ReadsBackThroughTheReader) {
    const program::Object o = one_program();
    auto bytes = write_object(o);
    ASSERT_TRUE(bytes) << bytes.error().render();
    auto back = read_object(*bytes, "w.o");
    ASSERT_TRUE(back) << back.error().render();
    ASSERT_EQ(back->programs.size(), 1u);
    EXPECT_EQ(back->programs[0].section, "socket");
    EXPECT_EQ(back->programs[0].program.bytes(), o.programs[0].program.bytes());
    EXPECT_EQ(back->license, "Dual MIT/GPL");
}

TEST(Writer, LibbpfOpensIt) {
    auto bytes = write_object(one_program());
    ASSERT_TRUE(bytes);
    bpf_object* obj = bpf_object__open_mem(bytes->data(), bytes->size(), nullptr);
    ASSERT_NE(obj, nullptr) << "libbpf refused the object";
    bpf_program* prog = bpf_object__next_program(obj, nullptr);
    ASSERT_NE(prog, nullptr);
    EXPECT_EQ(bpf_program__type(prog), BPF_PROG_TYPE_SOCKET_FILTER);
    EXPECT_EQ(bpf_program__insn_cnt(prog), 5u);
    bpf_object__close(obj);
}

TEST(Writer, RefusesWhatItCannotWrite) {
    program::Object o = one_program();
    o.maps.push_back(program::MapSpec{});
    auto r = write_object(o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::NotSupported);
    program::Object two = one_program();
    two.programs.push_back(two.programs[0]);
    EXPECT_EQ(write_object(two).error().message, "two programs in section \"socket\"");
}

}  // namespace
}  // namespace sockfilter::elf
