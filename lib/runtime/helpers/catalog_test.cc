// SPDX-License-Identifier: MIT
// The helper catalog against the kernel's measurements: every row of empirical/hp_priv.tsv,
// hp_bpfonly.tsv and hp_unpriv.tsv (id, allowed, the kernel's message for `r1..r5 = 0; call id;
// r0 = 0; exit`) decides helper_allowed, names the helper, and load() with that privilege refuses
// exactly the refused rows with exactly the kernel's message.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "isa/isa.h"
#include "program/program.h"
#include "runtime/helpers.h"
#include "runtime/load.h"

namespace sockfilter::runtime {
namespace {

struct Row {
    std::int32_t id = 0;
    bool allowed = false;
    std::string message;
};

std::vector<Row> read_tsv(const std::string& file) {
    const char* dir = std::getenv("SF_SHARED_DIR");
    const std::string path = std::string(dir == nullptr ? "" : dir) + "/spec/empirical/" + file;
    std::ifstream in(path);
    EXPECT_TRUE(in.good()) << "cannot read " << path << " (set SF_SHARED_DIR)";
    std::vector<Row> rows;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        Row r;
        std::string id;
        std::string allowed;
        std::getline(fields, id, '\t');
        std::getline(fields, allowed, '\t');
        std::getline(fields, r.message);
        r.id = std::stoi(id);
        r.allowed = allowed == "1";
        rows.push_back(r);
    }
    return rows;
}

/// The probe of the measurement: every argument register 0, the call, r0 = 0, exit.
program::Program probe(std::int32_t id) {
    std::vector<isa::Insn> slots;
    for (std::uint8_t reg = 1; reg <= 5; ++reg) {
        slots.push_back(isa::Insn{0xb7, reg, 0, 0, 0});
    }
    slots.push_back(isa::Insn{0x85, 0, 0, 0, id});
    slots.push_back(isa::Insn{0xb7, 0, 0, 0, 0});
    slots.push_back(isa::Insn{0x95, 0, 0, 0, 0});
    auto p = program::Program::from_slots("probe", slots);
    EXPECT_TRUE(p.has_value());
    return std::move(*p);
}

void check(const std::string& file, Privilege privilege, std::size_t expected_allowed) {
    const auto rows = read_tsv(file);
    ASSERT_EQ(rows.size(), 211U) << file;
    const Environment env{&socket_filter(), &socket_filter_helpers(privilege)};
    std::size_t allowed = 0;
    for (const Row& row : rows) {
        SCOPED_TRACE(file + " id " + std::to_string(row.id));
        EXPECT_EQ(helper_allowed(row.id, privilege), row.allowed);
        allowed += row.allowed ? 1 : 0;
        const program::Program prog = probe(row.id);
        const auto loaded = load(prog, env);
        const std::string refusal = "cannot use helper " + std::string(helper_name(row.id)) + "#";
        if (row.allowed) {
            // Argument checks are the verifier's; load() accepts the call or says why it has no
            // implementation, never that the program type cannot use it.
            if (!loaded) {
                EXPECT_EQ(loaded.error().message.find("cannot use helper"), std::string::npos) << loaded.error().message;
                EXPECT_NE(loaded.error().message.find("is not available in userspace"), std::string::npos);
            }
            continue;
        }
        ASSERT_FALSE(loaded.has_value());
        EXPECT_EQ(loaded.error().message, row.message);
        EXPECT_EQ(loaded.error().render(), "pc 5: " + row.message);
    }
    EXPECT_EQ(allowed, expected_allowed);
}

TEST(HelperCatalog, RootMatchesKernel) { check("hp_priv.tsv", Privilege::Root, 88); }
TEST(HelperCatalog, CapBpfMatchesKernel) { check("hp_bpfonly.tsv", Privilege::Bpf, 60); }
TEST(HelperCatalog, UnprivilegedMatchesKernel) { check("hp_unpriv.tsv", Privilege::None, 32); }

TEST(HelperCatalog, NamesFromTheKernelMessages) {
    // Every refused row of the root table carries the kernel's name for its id.
    for (const Row& row : read_tsv("hp_unpriv.tsv")) {
        const std::string key = "cannot use helper ";
        const auto at = row.message.find(key);
        if (at == std::string::npos) {
            continue;
        }
        const auto hash = row.message.find('#', at);
        EXPECT_EQ(row.message.substr(at + key.size(), hash - at - key.size()), helper_name(row.id)) << row.id;
        EXPECT_EQ(row.message.substr(hash + 1), std::to_string(row.id));
    }
    EXPECT_EQ(helper_name(0), "bpf_unspec");
    EXPECT_EQ(helper_name(1), "bpf_map_lookup_elem");
    EXPECT_EQ(helper_name(182), "bpf_strncmp");
    EXPECT_EQ(helper_name(211), "bpf_cgrp_storage_delete");
    EXPECT_EQ(helper_name(212), "unknown");
    EXPECT_EQ(helper_name(-1), "unknown");
}

TEST(HelperCatalog, OutOfRangeAndUnspec) {
    const Environment env{&socket_filter(), &socket_filter_helpers(Privilege::Root)};
    for (std::int32_t id : {212, -1, 100000}) {
        const program::Program prog = probe(id);
        const auto loaded = load(prog, env);
        ASSERT_FALSE(loaded.has_value());
        EXPECT_EQ(loaded.error().message, "invalid func unknown#" + std::to_string(id));
    }
    const program::Program prog = probe(0);
    EXPECT_EQ(load(prog, env).error().message, "program of this type cannot use helper bpf_unspec#0");
}

TEST(HelperCatalog, UnsupportedHelpersSayWhy) {
    const Environment env{&socket_filter(), &socket_filter_helpers(Privilege::Root)};
    const program::Program task = probe(35);
    EXPECT_EQ(load(task, env).error().message,
              "helper bpf_get_current_task#35 is not available in userspace: it works on kernel objects (tasks, "
              "kernel or user memory, perf counters, BTF-typed pointers) that have no userspace equivalent");
    const program::Program percpu = probe(153);
    EXPECT_EQ(load(percpu, env).error().message,
              "helper bpf_per_cpu_ptr#153 is not available in userspace: it works on kernel objects (tasks, kernel or "
              "user memory, perf counters, BTF-typed pointers) that have no userspace equivalent");
    // Unprivileged, the kernel refuses it itself.
    const Environment unpriv{&socket_filter(), &socket_filter_helpers(Privilege::None)};
    EXPECT_EQ(load(percpu, unpriv).error().message, "program of this type cannot use helper bpf_per_cpu_ptr#153");
}

TEST(HelperCatalog, RegistryHoldsTheImplementedHelpers) {
    const HelperRegistry& root = socket_filter_helpers(Privilege::Root);
    const HelperRegistry& none = socket_filter_helpers(Privilege::None);
    EXPECT_EQ(root.all().size(), 60U);
    // Every unprivileged helper is implemented.
    EXPECT_EQ(none.all().size(), 32U);
    for (const auto& [id, def] : root.all()) {
        EXPECT_EQ(def.name, helper_name(id));
        EXPECT_NE(def.fn, nullptr);
        EXPECT_TRUE(helper_allowed(id, Privilege::Root));
    }
}

}  // namespace
}  // namespace sockfilter::runtime
