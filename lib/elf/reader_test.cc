// SPDX-License-Identifier: MIT
// read_object over the committed fixtures: programs, subprogram linking, maps, global data,
// kfuncs, line info, CO-RE against a BTF file, other program types; disassembly round trips.
#include <gtest/gtest.h>

#include <algorithm>

#include "asm/assembler.h"
#include "elf/elf.h"
#include "elf/test_util.h"

namespace sockfilter::elf {
namespace {

using program::MapType;
using testing::fixture;
using testing::fixture_path;

program::Object read_ok(const std::string& name, const ReadOptions& options = {}) {
    auto bytes = fixture(name);
    EXPECT_FALSE(bytes.empty()) << fixture_path(name);
    auto obj = read_object(bytes, name, options);
    EXPECT_TRUE(obj.has_value()) << (obj ? "" : obj.error().render());
    return obj ? std::move(*obj) : program::Object{};
}

std::string read_error(const std::string& name, const ReadOptions& options = {}) {
    auto obj = read_object(fixture(name), name, options);
    EXPECT_FALSE(obj.has_value());
    return obj ? "" : obj.error().render();
}

const program::ObjectProgram& prog(const program::Object& obj, const std::string& name) {
    auto p = select_program(obj, name);
    EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().render());
    static const program::ObjectProgram kNone{*program::Program::from_bytes("none", std::vector<std::uint8_t>{
                                                  0x95, 0, 0, 0, 0, 0, 0, 0}), "", {}, {}};
    return p ? **p : kNone;
}

const program::MapSpec* map(const program::Object& obj, const std::string& name) {
    auto it = std::find_if(obj.maps.begin(), obj.maps.end(), [&](const auto& m) { return m.name == name; });
    return it == obj.maps.end() ? nullptr : &*it;
}

// Every program disassembles and assembles back to the same slots.
void expect_round_trip(const program::Object& obj) {
    for (const auto& p : obj.programs) {
        const std::string text = assembler::disassemble(p.program);
        auto again = assembler::assemble(text, p.program.name());
        ASSERT_TRUE(again.has_value()) << p.program.name() << ": " << again.error().render() << "\n" << text;
        EXPECT_TRUE(std::equal(again->slots().begin(), again->slots().end(), p.program.slots().begin(),
                               p.program.slots().end()))
            << p.program.name();
    }
}

TEST(ReadObject, SimpleFilter) {
    auto obj = read_ok("simple.o");
    ASSERT_EQ(obj.programs.size(), 1U);
    const auto& p = obj.programs[0];
    EXPECT_EQ(p.program.name(), "keep_long");
    EXPECT_EQ(p.section, "socket");
    EXPECT_EQ(p.program.size(), 5U);  // llvm-objdump -d: 5 instructions
    EXPECT_EQ(obj.license, "GPL");
    EXPECT_TRUE(obj.maps.empty());
    EXPECT_TRUE(obj.other_programs.empty());
    ASSERT_FALSE(p.lines.empty());
    EXPECT_EQ(p.lines[0].insn, 0U);
    EXPECT_NE(p.lines[0].file.find("simple.c"), std::string::npos);
    EXPECT_EQ(p.lines[0].line, 9U);
    EXPECT_EQ(p.lines[0].col, 14U);
    EXPECT_EQ(p.lines[0].text, "    if (skb->len > 100)");
    expect_round_trip(obj);
}

TEST(ReadObject, CpuVersionsAndClang16) {
    for (const char* name : {"simple.v1.o", "simple.v2.o", "simple.clang16.o"}) {
        auto obj = read_ok(name);
        ASSERT_EQ(obj.programs.size(), 1U) << name;
        EXPECT_EQ(obj.programs[0].program.name(), "keep_long") << name;
        expect_round_trip(obj);
    }
}

TEST(ReadObject, SeveralProgramsPerSection) {
    auto obj = read_ok("multi.o");
    ASSERT_EQ(obj.programs.size(), 4U);
    EXPECT_EQ(prog(obj, "accept_all").section, "socket");
    EXPECT_EQ(prog(obj, "drop_all").program.size(), 2U);
    EXPECT_EQ(prog(obj, "by_protocol").program.size(), 5U);
    EXPECT_EQ(prog(obj, "truncate_64").section, "socket/extra");
    EXPECT_EQ(obj.license, "Dual MIT/GPL");
    auto none = select_program(obj, "");
    ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error().render(), "multi.o: 4 programs, choose one: accept_all (socket), drop_all (socket), "
                                     "by_protocol (socket), truncate_64 (socket/extra)");
    auto missing = select_program(obj, "nope");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().render(), "multi.o: no program 'nope'; programs: accept_all (socket), drop_all (socket), "
                                        "by_protocol (socket), truncate_64 (socket/extra)");
    expect_round_trip(obj);
}

TEST(ReadObject, TextSubprogramsAppendedInCallOrder) {
    for (const char* name : {"subprog.o", "subprog.v1.o", "subprog.clang16.o"}) {
        auto obj = read_ok(name);
        ASSERT_EQ(obj.programs.size(), 2U) << name;
        const auto& first = prog(obj, "first");
        const auto& second = prog(obj, "second");
        if (std::string(name) == "subprog.o") {
            // first (2) + scaled_len (6) + twice (4) + clamp (4), as llvm-objdump -d lists them
            EXPECT_EQ(first.program.size(), 16U);
            EXPECT_EQ(first.program.functions(), (std::vector<std::uint32_t>{0, 2, 8, 12}));
            EXPECT_EQ(second.program.size(), 16U);  // second (8) + clamp (4) + twice (4)
        }
        EXPECT_EQ(first.program.functions().size(), 4U) << name;
        EXPECT_EQ(second.program.functions().size(), 3U) << name;
        // Calls are CallLocal with pc-relative targets inside the linked program.
        for (std::size_t pc = 0; pc < first.program.size(); ++pc) {
            if (first.program.op(pc) == isa::Op::CallLocal) {
                const auto target = static_cast<std::int64_t>(pc) + 1 + first.program.slots()[pc].imm;
                EXPECT_TRUE(std::count(first.program.functions().begin(), first.program.functions().end(),
                                       static_cast<std::uint32_t>(target)) == 1)
                    << name << " pc " << pc;
            }
        }
        // Line info follows the appended functions.
        EXPECT_TRUE(std::any_of(first.lines.begin(), first.lines.end(), [](const auto& l) {
            return l.insn >= 12 && l.text.find("hi") != std::string::npos;
        })) << name;
        expect_round_trip(obj);
    }
}

TEST(ReadObject, BtfMaps) {
    for (const char* name : {"maps.o", "maps.clang16.o"}) {
        auto obj = read_ok(name);
        const auto* flows = map(obj, "flows");
        ASSERT_NE(flows, nullptr);
        EXPECT_EQ(flows->type, MapType::Hash);
        EXPECT_EQ(flows->key_size, 12U);
        EXPECT_EQ(flows->value_size, 8U);
        EXPECT_EQ(flows->max_entries, 1024U);
        EXPECT_EQ(flows->map_flags, 1U);
        EXPECT_NE(flows->btf_key_type_id, 0U);
        const auto* counters = map(obj, "counters");
        ASSERT_NE(counters, nullptr);
        EXPECT_EQ(counters->type, MapType::Array);
        EXPECT_EQ(counters->key_size, 4U);
        EXPECT_EQ(counters->value_size, 8U);
        EXPECT_EQ(counters->btf_key_type_id, 0U);
        EXPECT_EQ(map(obj, "scratch")->type, MapType::PercpuArray);
        EXPECT_EQ(map(obj, "recent")->type, MapType::LruHash);
        EXPECT_EQ(map(obj, "events")->type, MapType::Ringbuf);
        EXPECT_EQ(map(obj, "events")->max_entries, 4096U);
        const auto* outer = map(obj, "outer");
        ASSERT_NE(outer, nullptr);
        EXPECT_EQ(outer->type, MapType::ArrayOfMaps);
        EXPECT_EQ(outer->value_size, 4U);
        ASSERT_NE(outer->inner, nullptr);
        EXPECT_EQ(outer->inner->name, "outer.inner");
        EXPECT_EQ(outer->inner->type, MapType::Array);
        EXPECT_EQ(outer->inner->max_entries, 8U);
        EXPECT_EQ(outer->initial_slots,
                  (std::vector<std::pair<std::uint32_t, std::string>>{{0, "inner_a"}, {2, "inner_b"}}));
        const auto* by_port = map(obj, "by_port");
        ASSERT_NE(by_port, nullptr);
        EXPECT_EQ(by_port->type, MapType::HashOfMaps);
        ASSERT_NE(by_port->inner, nullptr);
        EXPECT_EQ(by_port->inner->type, MapType::Hash);
        EXPECT_EQ(by_port->inner->value_size, 8U);
        const auto* jumps = map(obj, "jumps");
        ASSERT_NE(jumps, nullptr);
        EXPECT_EQ(jumps->type, MapType::ProgArray);
        EXPECT_EQ(jumps->value_size, 4U);
        EXPECT_EQ(jumps->initial_slots, (std::vector<std::pair<std::uint32_t, std::string>>{{1, "tail_target"}}));

        // Every map reference is an lddw map-idx naming a map by index.
        const auto& p = prog(obj, "use_maps");
        std::vector<std::string> referenced;
        for (std::size_t pc = 0; pc < p.program.size(); ++pc) {
            if (p.program.op(pc) == isa::Op::LddwMapIdx && !p.program.is_lddw_tail(pc)) {
                const auto idx = static_cast<std::size_t>(p.program.slots()[pc].imm);
                ASSERT_LT(idx, obj.maps.size());
                referenced.push_back(obj.maps[idx].name);
            }
        }
        EXPECT_EQ(referenced, (std::vector<std::string>{"flows", "flows", "counters", "scratch", "recent", "outer",
                                                        "by_port", "events", "jumps"}))
            << name;
        expect_round_trip(obj);
    }
}

TEST(ReadObject, LegacyMapsSection) {
    auto obj = read_ok("legacy_maps.o");
    ASSERT_EQ(obj.maps.size(), 2U);
    EXPECT_EQ(obj.maps[0].name, "packets");
    EXPECT_EQ(obj.maps[0].type, MapType::Array);
    EXPECT_EQ(obj.maps[0].value_size, 8U);
    EXPECT_EQ(obj.maps[0].max_entries, 2U);
    EXPECT_EQ(obj.maps[1].name, "by_len");
    EXPECT_EQ(obj.maps[1].type, MapType::Hash);
    EXPECT_EQ(obj.maps[1].max_entries, 256U);
    EXPECT_EQ(obj.maps[1].map_flags, 1U);
    expect_round_trip(obj);
}

TEST(ReadObject, GlobalData) {
    for (const char* name : {"globals.o", "globals.v2.o", "globals.clang16.o"}) {
        auto obj = read_ok(name);
        const auto* ro = map(obj, ".rodata");
        ASSERT_NE(ro, nullptr) << name;
        EXPECT_EQ(ro->type, MapType::Array);
        EXPECT_EQ(ro->key_size, 4U);
        EXPECT_EQ(ro->value_size, 8U);
        EXPECT_EQ(ro->max_entries, 1U);
        EXPECT_TRUE(ro->frozen);
        EXPECT_EQ(ro->map_flags, program::kMapRdonlyProg | program::kMapMmapable);
        EXPECT_EQ(ro->initial_value, (std::vector<std::uint8_t>{60, 0, 0, 0, 0xea, 0x05, 0, 0}));
        const auto* data = map(obj, ".data");
        ASSERT_NE(data, nullptr);
        EXPECT_FALSE(data->frozen);
        EXPECT_EQ(data->initial_value, (std::vector<std::uint8_t>{7, 0, 0, 0, 0, 0, 0, 0}));
        const auto* bss = map(obj, ".bss");
        ASSERT_NE(bss, nullptr);
        EXPECT_EQ(bss->value_size, 16U);
        EXPECT_TRUE(bss->initial_value.empty());
        ASSERT_NE(map(obj, ".data.stats"), nullptr);
        const auto* str = map(obj, ".rodata.str1.1");
        ASSERT_NE(str, nullptr);
        EXPECT_TRUE(str->frozen);
        // max_len is .rodata+4, dropped .bss+8.
        const auto& p = obj.programs.at(0);
        std::vector<std::pair<std::string, std::int32_t>> refs;
        for (std::size_t pc = 0; pc < p.program.size(); ++pc) {
            if (p.program.op(pc) == isa::Op::LddwMapIdxValue && !p.program.is_lddw_tail(pc)) {
                refs.emplace_back(obj.maps.at(static_cast<std::size_t>(p.program.slots()[pc].imm)).name,
                                  p.program.slots()[pc + 1].imm);
            }
        }
        EXPECT_NE(std::find(refs.begin(), refs.end(), std::pair<std::string, std::int32_t>{".rodata", 4}), refs.end())
            << name;
        EXPECT_NE(std::find(refs.begin(), refs.end(), std::pair<std::string, std::int32_t>{".bss", 8}), refs.end())
            << name;
        expect_round_trip(obj);
    }
}

TEST(ReadObject, KfuncExterns) {
    auto obj = read_ok("kfunc.o");
    ASSERT_EQ(obj.kfuncs.size(), 2U);
    EXPECT_EQ(obj.kfuncs[0].name, "bpf_dynptr_from_skb");
    EXPECT_EQ(obj.kfuncs[1].name, "bpf_dynptr_size");
    const auto& p = obj.programs.at(0);
    std::vector<std::int32_t> calls;
    for (std::size_t pc = 0; pc < p.program.size(); ++pc) {
        if (p.program.op(pc) == isa::Op::CallKfunc) {
            calls.push_back(p.program.slots()[pc].imm);
        }
    }
    EXPECT_EQ(calls, (std::vector<std::int32_t>{0, 1}));
    expect_round_trip(obj);
}

// core_target.o is a deterministic CO-RE target: uapi `struct __sk_buff`, an 8-byte
// `task_struct`, an `sk_buff` without `data_len`.
TEST(ReadObject, CoreAgainstBtfFile) {
    for (const char* name : {"core.o", "core.clang16.o"}) {
        auto obj = read_ok(name, ReadOptions{fixture_path("core_target.o")});
        ASSERT_EQ(obj.programs.size(), 1U);
        const auto s = obj.programs[0].program.slots();
        EXPECT_EQ(s[0].off, 0) << name;    // skb->len: local offset 4, __sk_buff offset 0
        EXPECT_EQ(s[1].imm, 0) << name;    // not_in_kernel does not exist
        EXPECT_EQ(s[4].imm, 0) << name;    // sk_buff does not exist in this BTF
        EXPECT_EQ(s[9].imm, 1) << name;    // task_struct exists
        EXPECT_EQ(s[11].imm, 8) << name;   // its size: 8
        EXPECT_EQ(s[16].off, 8) << name;   // skb->mark
        expect_round_trip(obj);
    }
}

TEST(ReadObject, CoreAgainstRunningKernel) {
    if (!std::ifstream(kVmlinuxBtf)) {
        GTEST_SKIP() << "no " << kVmlinuxBtf;
    }
    auto obj = read_ok("core.o");
    const auto s = obj.programs.at(0).program.slots();
    EXPECT_EQ(s[0].off, 0);
    EXPECT_EQ(s[1].imm, 0);
    EXPECT_EQ(s[4].imm, 1);   // the kernel has sk_buff::data_len
    EXPECT_EQ(s[6].imm, 4);   // sizeof(sk_buff::len)
    EXPECT_EQ(s[16].off, 8);
}

TEST(ReadObject, CoreUnresolvableRefuses) {
    EXPECT_EQ(read_error("core.o", ReadOptions{fixture_path("xdp_only.o")}),
              "core.o: section socket+0x0: CO-RE relocation #0 (insn 0, byte_off of [19] __sk_buff___local access "
              "\"0:1\") cannot be applied against " + fixture_path("xdp_only.o") + ": no matching field in the target");
    const std::string missing = read_error("core.o", ReadOptions{"/nonexistent/btf"});
    EXPECT_EQ(missing, "core.o: section \"socket\": 7 CO-RE relocations: cannot load CO-RE target BTF "
                       "/nonexistent/btf: No such file or directory");
}

TEST(ReadObject, OtherProgramTypes) {
    auto obj = read_ok("other_types.o");
    ASSERT_EQ(obj.programs.size(), 1U);
    EXPECT_EQ(obj.programs[0].program.name(), "keep_all");
    EXPECT_EQ(obj.other_programs, (std::vector<std::pair<std::string, std::string>>{
                                      {"xdp", "xdp"}, {"tc", "tc"}, {"kprobe/do_sys_open", "kprobe"}}));
    auto xdp = select_program(obj, "xdp");
    ASSERT_FALSE(xdp.has_value());
    EXPECT_EQ(xdp.error().render(), "other_types.o: section \"xdp\": program type xdp is not a socket filter");
    EXPECT_EQ(read_error("xdp_only.o"), "xdp_only.o: section \"xdp\": program type xdp is not a socket filter");
}

TEST(ReadObject, BtfSummary) {
    auto s = read_btf_summary(fixture("subprog.o"), "subprog.o");
    ASSERT_TRUE(s.has_value()) << s.error().render();
    EXPECT_TRUE(s->present);
    EXPECT_GT(s->types, 5U);
    EXPECT_EQ(s->func_infos, 5U);
    EXPECT_GT(s->line_infos, 5U);
    EXPECT_EQ(s->core_relos, 0U);
    auto c = read_btf_summary(fixture("core.o"), "core.o");
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->core_relos, 7U);
}

}  // namespace
}  // namespace sockfilter::elf
