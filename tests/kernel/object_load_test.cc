// SPDX-License-Identifier: MIT
// kernel::load_object against libbpf loading the same file: every socket-filter fixture of
// tests/elf and every example loads, each program has as many translated instructions as under
// libbpf and gives the same BPF_PROG_TEST_RUN verdicts; prog arrays are filled, global data is
// visible and .rodata frozen, a verifier rejection names the program and leaves nothing open.
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "elf/elf.h"
#include "kernel/bpf.h"
#include "kernel/object.h"
#include "kernel_env.h"
#include "libbpf_object.h"
#include "pcap/reader.h"

namespace sockfilter::testing {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = SF_ELF_FIXTURES;
const std::string kExamples = SF_EXAMPLES_DIR;
const std::string kExampleSources = SF_EXAMPLES_SOURCE_DIR;

// Fixtures without socket filters (our reader refuses them) and the one libbpf 1.x refuses
// (legacy `maps` definitions); every other object must load both ways.
const std::set<std::string> kNoSocketFilters = {"xdp_only.o", "core_target.o"};
const std::set<std::string> kLibbpfRefuses = {"legacy_maps.o"};
// The fixture the verifier refuses (both loaders), for `sockfilter verify`.
const std::string kRejected = "rejected.o";

std::vector<std::uint8_t> read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

Result<program::Object> read(const std::string& path) {
    const auto bytes = read_file(path);
    return elf::read_object(bytes, path);
}

/// What the kernel reports of a loaded program that the two loaders must agree on: translated
/// instructions, func_info and line_info records.
std::array<std::uint32_t, 3> shape(int fd) {
    bpf_prog_info info{};
    std::uint32_t len = sizeof(info);
    EXPECT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
    return {static_cast<std::uint32_t>(info.xlated_prog_len / sizeof(bpf_insn)), info.nr_func_info,
            info.nr_line_info};
}

/// Frames of the example captures: IPv4 and IPv6, TCP, UDP, ICMP, ARP, extension headers.
std::vector<std::vector<std::uint8_t>> packets() {
    std::vector<std::vector<std::uint8_t>> out;
    for (const char* name : {"traffic.pcap", "ipv6_ext.pcap"}) {
        auto cap = pcap::read_capture(kExampleSources + "/" + name);
        EXPECT_TRUE(cap.has_value()) << (cap ? "" : cap.error().render());
        if (cap) {
            for (auto& f : cap->frames) {
                out.push_back(std::move(f.bytes));
            }
        }
    }
    return out;
}

/// Every socket-filter object the tests can load: the fixtures, then the examples.
std::vector<std::string> objects() {
    std::vector<std::string> out;
    for (const auto& dir : {kFixtures, kExamples}) {
        std::vector<std::string> here;
        for (const auto& e : fs::directory_iterator(dir)) {
            if (e.path().extension() == ".o" && !kNoSocketFilters.contains(e.path().filename().string())) {
                here.push_back(e.path().string());
            }
        }
        std::sort(here.begin(), here.end());
        out.insert(out.end(), here.begin(), here.end());
    }
    return out;
}

class ObjectLoadTest : public KernelTest {};

TEST_F(ObjectLoadTest, EveryObjectLoadsAsUnderLibbpf) {
    const auto frames = packets();
    ASSERT_GE(frames.size(), 10U);
    const auto paths = objects();
    ASSERT_GE(paths.size(), 20U);
    std::size_t programs = 0;
    std::size_t with_lines = 0;
    for (const auto& path : paths) {
        SCOPED_TRACE(path);
        auto obj = read(path);
        ASSERT_TRUE(obj.has_value()) << obj.error().render();
        auto loaded = kernel::load_object(*obj);
        if (fs::path(path).filename() == kRejected) {
            ASSERT_FALSE(loaded.has_value());
            EXPECT_EQ(loaded.error().render(), "program reads_tc_classid: invalid bpf_context access off=72 size=4");
            EXPECT_NE(LibbpfObject(path, std::set<std::string>{"reads_tc_classid"}).error(), "");
            continue;
        }
        ASSERT_TRUE(loaded.has_value()) << loaded.error().render();
        ASSERT_EQ(loaded->programs.size(), obj->programs.size());
        ASSERT_EQ(loaded->maps.size(), obj->maps.size());
        const std::string file = fs::path(path).filename().string();
        std::set<std::string> names;
        for (const auto& p : obj->programs) {
            names.insert(p.program.name());
        }
        LibbpfObject ref(path, names);
        if (kLibbpfRefuses.contains(file)) {
            // libbpf cannot finalize this object's BTF, and the kernel refuses clang's raw BTF.
            EXPECT_FALSE(loaded->btf.valid());
            EXPECT_NE(loaded->btf_error.find("BPF_BTF_LOAD: Invalid argument"), std::string::npos);
            EXPECT_NE(ref.error(), "");
            continue;
        }
        EXPECT_EQ(loaded->btf.valid(), !obj->btf.empty());
        EXPECT_EQ(loaded->btf_error, "");
        ASSERT_EQ(ref.error(), "");
        for (std::size_t i = 0; i < obj->programs.size(); ++i) {
            const std::string& name = obj->programs[i].program.name();
            SCOPED_TRACE(name);
            const int ours = loaded->programs[i].get();
            const int theirs = ref.program_fd(name);
            ASSERT_GE(ours, 0);
            ASSERT_GE(theirs, 0);
            const auto a = shape(ours);
            EXPECT_EQ(a, shape(theirs));
            EXPECT_GT(a[0], 0U);
            with_lines += a[2] > 0 ? 1 : 0;
            for (std::size_t k = 0; k < frames.size(); ++k) {
                auto r = kernel::test_run(loaded->programs[i], frames[k], std::nullopt);
                ASSERT_TRUE(r.has_value()) << r.error().render();
                LIBBPF_OPTS(bpf_test_run_opts, ro, .data_in = frames[k].data(),
                            .data_size_in = static_cast<std::uint32_t>(frames[k].size()), .repeat = 1);
                ASSERT_EQ(bpf_prog_test_run_opts(theirs, &ro), 0);
                EXPECT_EQ(r->retval, ro.retval) << "packet " << k;
            }
            ++programs;
        }
    }
    EXPECT_GE(programs, 25U);
    EXPECT_GE(with_lines, 20U);
}

TEST_F(ObjectLoadTest, TailDispatchThroughFilledProgArray) {
    auto obj = read(kExamples + "/tail_dispatch.o");
    ASSERT_TRUE(obj.has_value()) << obj.error().render();
    auto loaded = kernel::load_object(*obj);
    ASSERT_TRUE(loaded.has_value()) << loaded.error().render();
    auto index = [&](const std::string& name) {
        for (std::size_t i = 0; i < obj->programs.size(); ++i) {
            if (obj->programs[i].program.name() == name) {
                return i;
            }
        }
        ADD_FAILURE() << "no program " << name;
        return std::size_t{0};
    };
    std::size_t handlers = 0;
    while (handlers < obj->maps.size() && obj->maps[handlers].name != "handlers") {
        ++handlers;
    }
    ASSERT_LT(handlers, obj->maps.size());
    // A prog array read from userspace gives the id of the program in each slot.
    auto id_of = [](const kernel::Fd& fd) {
        bpf_prog_info info{};
        std::uint32_t len = sizeof(info);
        EXPECT_EQ(bpf_obj_get_info_by_fd(fd.get(), &info, &len), 0);
        return info.id;
    };
    const int map = loaded->maps[handlers].fd.get();
    std::uint32_t id = 0;
    std::uint32_t key = 0;
    ASSERT_EQ(bpf_map_lookup_elem(map, &key, &id), 0);
    EXPECT_EQ(id, id_of(loaded->programs[index("handle_ipv4")]));
    key = 1;
    ASSERT_EQ(bpf_map_lookup_elem(map, &key, &id), 0);
    EXPECT_EQ(id, id_of(loaded->programs[index("handle_ipv6")]));
    key = 2;
    EXPECT_NE(bpf_map_lookup_elem(map, &key, &id), 0);
    EXPECT_EQ(errno, ENOENT);

    // The dispatcher keeps IPv6 only through handle_ipv6 (an empty slot would give 0).
    std::vector<std::uint8_t> v6(14 + 40, 0);
    v6[12] = 0x86;
    v6[13] = 0xdd;
    v6[14] = 0x60;
    auto r = kernel::test_run(loaded->programs[index("dispatch")], v6, std::nullopt);
    ASSERT_TRUE(r.has_value()) << r.error().render();
    EXPECT_EQ(r->retval, 0xffffffffU);

    // Loading only the dispatcher leaves the slots empty: the same packet falls through.
    auto only = kernel::load_object(*obj, kernel::ObjectLoadOptions{.only = index("dispatch")});
    ASSERT_TRUE(only.has_value()) << only.error().render();
    EXPECT_FALSE(only->programs[index("handle_ipv6")].valid());
    r = kernel::test_run(only->programs[index("dispatch")], v6, std::nullopt);
    ASSERT_TRUE(r.has_value()) << r.error().render();
    EXPECT_EQ(r->retval, 0U);
}

TEST_F(ObjectLoadTest, GlobalDataIsVisibleAndRodataFrozen) {
    auto obj = read(kFixtures + "/globals.o");
    ASSERT_TRUE(obj.has_value()) << obj.error().render();
    auto loaded = kernel::load_object(*obj);
    ASSERT_TRUE(loaded.has_value()) << loaded.error().render();
    auto map_fd = [&](const std::string& name) {
        for (const auto& m : loaded->maps) {
            if (m.name == name) {
                return m.fd.get();
            }
        }
        ADD_FAILURE() << "no map " << name;
        return -1;
    };
    // min_len = 60 and max_len = 1514 come from .rodata: a 100-byte frame passes, a 40-byte one not.
    std::vector<std::uint8_t> frame(100, 0);
    frame[12] = 0x08;
    auto r = kernel::test_run(loaded->programs[0], frame, std::nullopt);
    ASSERT_TRUE(r.has_value()) << r.error().render();
    EXPECT_EQ(r->retval, 0xffffffffU);
    frame.resize(40);
    r = kernel::test_run(loaded->programs[0], frame, std::nullopt);
    ASSERT_TRUE(r.has_value()) << r.error().render();
    EXPECT_EQ(r->retval, 0U);

    // `seen` starts at 7 in .data and counts the two runs; `big` starts at 1 in .data.stats.
    const std::uint32_t zero = 0;
    std::vector<std::uint8_t> data(obj->maps[static_cast<std::size_t>(
        std::find_if(obj->maps.begin(), obj->maps.end(), [](const auto& m) { return m.name == ".data"; }) -
        obj->maps.begin())].value_size);
    ASSERT_EQ(bpf_map_lookup_elem(map_fd(".data"), &zero, data.data()), 0);
    std::uint64_t seen = 0;
    std::memcpy(&seen, data.data(), sizeof(seen));
    EXPECT_EQ(seen, 9U);
    std::uint64_t big = 0;
    ASSERT_EQ(bpf_map_lookup_elem(map_fd(".data.stats"), &zero, &big), 0);
    EXPECT_EQ(big, 1U);

    std::vector<std::uint8_t> rodata(8, 0);
    EXPECT_NE(bpf_map_update_elem(map_fd(".rodata"), &zero, rodata.data(), BPF_ANY), 0);
    EXPECT_EQ(errno, EPERM);
}

TEST_F(ObjectLoadTest, RejectedProgramNamesItselfAndLeavesNothingOpen) {
    const std::size_t before = open_fd_count();
    program::Object obj;
    obj.path = "reject.o";
    obj.license = "GPL";
    program::MapSpec counts;
    counts.name = "counts";
    counts.type = program::MapType::Array;
    counts.key_size = 4;
    counts.value_size = 8;
    counts.max_entries = 4;
    obj.maps.push_back(counts);
    // r0 = *(u32 *)(r1 + 76) reads past the fields a socket filter may read.
    auto bad = program::Program::from_slots("bad_ctx", {{0x61, 0, 1, 76, 0}, {0x95, 0, 0, 0, 0}});
    ASSERT_TRUE(bad.has_value());
    auto good = program::Program::from_slots("good", {{0xb7, 0, 0, 0, 0}, {0x95, 0, 0, 0, 0}});
    ASSERT_TRUE(good.has_value());
    obj.programs.push_back(program::ObjectProgram{std::move(*good), "socket", {}, {}});
    obj.programs.push_back(program::ObjectProgram{std::move(*bad), "socket", {}, {}});

    std::string log;
    auto loaded = kernel::load_object(obj, {}, &log);
    ASSERT_FALSE(loaded.has_value());
    EXPECT_EQ(loaded.error().code, Errc::Kernel);
    EXPECT_EQ(loaded.error().sys_errno, EACCES);
    EXPECT_EQ(loaded.error().render(), "program bad_ctx: invalid bpf_context access off=76 size=4");
    EXPECT_NE(log.find("0: (61) r0 = *(u32 *)(r1 +76)"), std::string::npos) << log;
    EXPECT_EQ(open_fd_count(), before);

    // The good program alone loads, and with a log level the log of that load comes back.
    auto only = kernel::load_object(obj, kernel::ObjectLoadOptions{.load = {.license = "", .log_level = 2}, .only = 0},
                                    &log);
    ASSERT_TRUE(only.has_value()) << only.error().render();
    EXPECT_FALSE(only->programs[1].valid());
    EXPECT_NE(log.find("processed 2 insns"), std::string::npos) << log;
}

}  // namespace
}  // namespace sockfilter::testing
