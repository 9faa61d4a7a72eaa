// SPDX-License-Identifier: MIT
// The fixtures against libbpf and the running kernel (label kernel): libbpf opens and the kernel
// loads every socket program, proving the fixtures valid, and our Object has the same programs
// (names, instruction counts and instructions after libbpf's relocation) and the same maps.
// Skips without bpf(); fails instead with CI=true.
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "elf/elf.h"
#include "elf/test_util.h"

namespace sockfilter::elf {
namespace {

bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci != nullptr && std::string(ci) == "true";
}

struct ObjectCloser {
    void operator()(bpf_object* o) const { bpf_object__close(o); }
};

class LibbpfAgrees : public ::testing::TestWithParam<const char*> {};

TEST_P(LibbpfAgrees, ProgramsAndMaps) {
    const std::string name = GetParam();
    const auto bytes = testing::fixture(name);
    ASSERT_FALSE(bytes.empty()) << testing::fixture_path(name);
    auto ours = read_object(bytes, name);
    ASSERT_TRUE(ours.has_value()) << ours.error().render();

    const std::string obj_name = name.substr(0, name.find('.'));
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = obj_name.c_str());
    std::unique_ptr<bpf_object, ObjectCloser> obj(bpf_object__open_mem(bytes.data(), bytes.size(), &opts));
    ASSERT_NE(obj, nullptr) << "libbpf cannot open " << name << ": " << std::strerror(errno);
    std::size_t socket_programs = 0;
    bpf_program* p = nullptr;
    bpf_object__for_each_program(p, obj.get()) {
        const std::string section = bpf_program__section_name(p);
        if (section == "socket" || section.starts_with("socket/")) {
            ASSERT_EQ(bpf_program__set_type(p, BPF_PROG_TYPE_SOCKET_FILTER), 0);
            ++socket_programs;
        } else {
            ASSERT_EQ(bpf_program__set_autoload(p, false), 0);
        }
    }
    const int err = bpf_object__load(obj.get());
    if (err == -EPERM || err == -EACCES || err == -ENOSYS) {
        if (in_ci()) {
            FAIL() << "bpf() refused (" << std::strerror(-err) << ") and CI=true";
        }
        GTEST_SKIP() << "bpf() refused: " << std::strerror(-err);
    }
    ASSERT_EQ(err, 0) << "the kernel refused " << name << ": " << std::strerror(-err);

    ASSERT_EQ(ours->programs.size(), socket_programs);
    for (const auto& op : ours->programs) {
        const std::string& pname = op.program.name();
        bpf_program* lp = bpf_object__find_program_by_name(obj.get(), pname.c_str());
        ASSERT_NE(lp, nullptr) << pname;
        EXPECT_EQ(op.section, bpf_program__section_name(lp)) << pname;
        ASSERT_EQ(bpf_program__insn_cnt(lp), op.program.size()) << pname;
        const bpf_insn* li = bpf_program__insns(lp);
        ASSERT_NE(li, nullptr) << pname;
        for (std::size_t pc = 0; pc < op.program.size(); ++pc) {
            const isa::Insn& in = op.program.slots()[pc];
            const isa::Op o = op.program.op(pc);
            SCOPED_TRACE(pname + " pc " + std::to_string(pc));
            EXPECT_EQ(in.opcode, li[pc].code);
            EXPECT_EQ(in.dst, li[pc].dst_reg);
            EXPECT_EQ(in.off, li[pc].off);
            if (o == isa::Op::LddwMapIdx || o == isa::Op::LddwMapIdxValue) {
                // libbpf: map fd (src 1) or map value (src 2, offset in the second slot).
                if (!op.program.is_lddw_tail(pc)) {
                    EXPECT_EQ(li[pc].src_reg, o == isa::Op::LddwMapIdx ? BPF_PSEUDO_MAP_FD : BPF_PSEUDO_MAP_VALUE);
                } else {
                    EXPECT_EQ(in.imm, li[pc].imm);
                }
            } else if (o == isa::Op::CallKfunc) {
                EXPECT_EQ(li[pc].src_reg, BPF_PSEUDO_KFUNC_CALL);
            } else {
                EXPECT_EQ(in.src, li[pc].src_reg);
                EXPECT_EQ(in.imm, li[pc].imm);
            }
        }
    }

    std::size_t libbpf_maps = 0;
    bpf_map* m = nullptr;
    bpf_object__for_each_map(m, obj.get()) {
        ++libbpf_maps;
        const std::string mname = bpf_map__name(m);
        const program::MapSpec* spec = nullptr;
        for (const auto& s : ours->maps) {
            if (s.name == mname || (s.name.starts_with(".") && mname.ends_with(s.name))) {
                spec = &s;
            }
        }
        ASSERT_NE(spec, nullptr) << "libbpf map " << mname << " is not in our Object";
        EXPECT_EQ(static_cast<std::uint32_t>(spec->type), static_cast<std::uint32_t>(bpf_map__type(m))) << mname;
        EXPECT_EQ(spec->key_size, bpf_map__key_size(m)) << mname;
        EXPECT_EQ(spec->value_size, bpf_map__value_size(m)) << mname;
        EXPECT_EQ(spec->max_entries, bpf_map__max_entries(m)) << mname;
        EXPECT_EQ(spec->map_flags, bpf_map__map_flags(m)) << mname;
    }
    EXPECT_EQ(libbpf_maps, ours->maps.size());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LibbpfAgrees,
                         ::testing::Values("simple.o", "simple.v1.o", "simple.v2.o", "simple.clang16.o", "multi.o",
                                           "subprog.o", "subprog.v1.o", "subprog.clang16.o", "maps.o",
                                           "maps.clang16.o", "globals.o", "globals.v2.o", "globals.clang16.o",
                                           "kfunc.o", "core.o", "core.clang16.o", "other_types.o"),
                         [](const auto& info) {
                             std::string n = info.param;
                             for (char& c : n) {
                                 c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                             }
                             return n;
                         });

// libbpf 1.0 dropped legacy `maps` sections; sockfilter still reads them (reader_test.cc).
TEST(Libbpf, RefusesLegacyMaps) {
    const auto bytes = testing::fixture("legacy_maps.o");
    std::unique_ptr<bpf_object, ObjectCloser> obj(bpf_object__open_mem(bytes.data(), bytes.size(), nullptr));
    EXPECT_EQ(obj, nullptr);
}

}  // namespace
}  // namespace sockfilter::elf
