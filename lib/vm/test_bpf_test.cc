// SPDX-License-Identifier: MIT
// The kernel's lib/test_bpf.c eBPF (INTERNAL) cases from ../shared/conformance/kernel/test_bpf.json,
// run on the interpreter in checked mode against the fake skb of spec §9.1. One GoogleTest test per
// case (TestBpf.<descr>); tests/EXPECTED_FAIL lists the cases that cannot pass, strictly.
//
// CLI: vm_test_bpf [gtest flags] | vm_test_bpf --case "<descr>" [-v]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "program/program.h"
#include "runner/expected_fail.h"
#include "runner/failing_test.h"
#include "runtime/helpers.h"
#include "runtime/load.h"
#include "runtime/prog_type.h"
#include "runtime/skb.h"
#include "support/bytes.h"
#include "vm/interpreter.h"
#include "vm/vm_test_util.h"

namespace sockfilter::vm::testing {
namespace {

constexpr std::string_view kListPrefix = "test_bpf/";

/// One INTERNAL case of test_bpf.json (spec §9.1).
struct Case {
    std::string descr;
    bool no_data = false;
    bool large_mem = false;
    bool skb_frag = false;
    std::vector<std::uint8_t> data;
    std::vector<std::uint8_t> frag;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> subtests;  ///< (data_size, result)
    bool generated = false;                                         ///< insns == null
    std::vector<std::uint8_t> insns;
};

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::string(v) : std::string(fallback);
}

std::string shared_dir() { return env_or("SF_SHARED_DIR", SF_DEFAULT_SHARED_DIR); }
std::string source_dir() { return env_or("SF_SOURCE_DIR", SF_DEFAULT_SOURCE_DIR); }

std::vector<std::uint8_t> hex_bytes(const nlohmann::json& v) {
    if (!v.is_string()) {
        return {};
    }
    auto b = parse_hex(v.get<std::string>());
    return b ? std::move(*b) : std::vector<std::uint8_t>{};
}

Result<std::vector<Case>> read_cases(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        return fail(Errc::Io, "cannot open {} (set SF_SHARED_DIR to the shared/ folder)", path);
    }
    nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
    if (doc.is_discarded() || !doc.is_array()) {
        return fail(Errc::Format, "{}: not a JSON array", path);
    }
    std::vector<Case> cases;
    for (const auto& j : doc) {
        if (j.value("type", "") != "INTERNAL") {
            continue;
        }
        Case c;
        c.descr = j.value("descr", "");
        for (const auto& f : j.value("flags", nlohmann::json::array())) {
            const std::string flag = f.get<std::string>();
            c.no_data |= flag == "FLAG_NO_DATA";
            c.large_mem |= flag == "FLAG_LARGE_MEM";
            c.skb_frag |= flag == "FLAG_SKB_FRAG";
        }
        c.data = hex_bytes(j["data"]);
        c.frag = hex_bytes(j["frag_data"]);
        for (const auto& s : j["subtests"]) {
            c.subtests.emplace_back(s["data_size"].get<std::uint32_t>(), s["result"].get<std::uint32_t>());
        }
        c.generated = j["insns"].is_null();
        c.insns = hex_bytes(j["insns"]);
        cases.push_back(std::move(c));
    }
    return cases;
}

/// The skb populate_skb() builds (spec §9.1) from the first `size` bytes of the case's data.
runtime::Skb fake_skb(const Case& c, std::uint32_t size) {
    runtime::Skb skb;
    skb.bytes.assign(c.data.begin(), c.data.begin() + std::min<std::size_t>(size, c.data.size()));
    skb.bytes.resize(size, 0);
    if (c.skb_frag) {
        // One 128-byte page fragment: the skb is linear here, so the fragment follows the head.
        std::vector<std::uint8_t> frag = c.frag;
        frag.resize(128, 0);
        skb.bytes.insert(skb.bytes.end(), frag.begin(), frag.end());
    }
    skb.data = 0;
    skb.mac_header = 0;
    skb.network_header = static_cast<std::int32_t>(std::min<std::uint32_t>(size, 14));
    skb.meta.protocol = 0x0008;  // htons(ETH_P_IP) as a little-endian host reads it
    skb.meta.pkt_type = 3;
    skb.meta.mark = 0x1234aaaa;
    skb.meta.hash = 0x1234aaab;
    skb.meta.queue_mapping = 123;
    skb.meta.vlan_tci = 0xffff;
    skb.meta.vlan_proto = 0x0008;
    skb.meta.ifindex = 577;
    return skb;
}

/// Runs every sub-test; returns an empty string when all pass, else what went wrong.
std::string run_case(const Case& c, bool verbose) {
    auto prog = program::Program::from_bytes(c.descr, c.insns);
    if (!prog) {
        return "program rejected: " + prog.error().render();
    }
    const runtime::Environment env =
        c.large_mem ? runtime::Environment{nullptr, &runtime::conformance_helpers()}
                    : runtime::Environment{&runtime::socket_filter(), &runtime::socket_filter_helpers()};
    Interpreter vm(runtime::LoadedProgram{&*prog, env}, Options{});
    RegisterPrinter printer;
    if (verbose) {
        vm.set_trace(&printer);
    }
    std::string problems;
    for (std::size_t i = 0; i < c.subtests.size(); ++i) {
        const auto [size, want] = c.subtests[i];
        if (i > 0 && size == 0 && want == 0) {
            break;
        }
        RunInput in;
        runtime::Skb skb;
        std::vector<std::uint8_t> mem;
        if (c.large_mem) {
            mem.assign(size, 0);
            in.mem = mem;
        } else if (!c.no_data) {
            skb = fake_skb(c, size);
            in.skb = &skb;
        }
        const ExecResult r = vm.run(in);
        const auto got = static_cast<std::uint32_t>(r.r0);
        if (verbose) {
            fmt::print("subtest {} (data_size {}): status {}, r0 {:#x}, expected {:#x} {}\n", i, size,
                       static_cast<int>(r.status), r.r0, want, vm.fault_message());
        }
        if (r.status != ExecStatus::Ok) {
            problems += fmt::format("subtest {} (data_size {}): {}; ", i, size, vm.fault_message());
        } else if (got != want) {
            problems += fmt::format("subtest {} (data_size {}): returned {:#x}, expected {:#x}; ", i, size, got, want);
        }
    }
    return problems;
}

class CaseTest final : public ::testing::Test {
public:
    CaseTest(const Case* c, const std::string* expected_reason) : c_(c), reason_(expected_reason) {}
    void TestBody() override {
        if (c_->generated) {
            GTEST_SKIP() << "generated program over 4096 insns, not included";
        }
        const std::string problems = run_case(*c_, false);
        if (reason_ != nullptr) {
            EXPECT_FALSE(problems.empty()) << "'" << c_->descr << "' is listed in tests/EXPECTED_FAIL (" << *reason_
                                           << ") but passes: remove the line";
            return;
        }
        EXPECT_TRUE(problems.empty()) << c_->descr << ": " << problems;
    }

private:
    const Case* c_;
    const std::string* reason_;
};

/// Test names: the descr with every character outside [A-Za-z0-9] turned into '_' (runs merged).
std::string test_name(const std::string& descr, std::set<std::string>& used) {
    std::string out;
    for (char ch : descr) {
        const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (ok) {
            out += ch;
        } else if (!out.empty() && out.back() != '_') {
            out += '_';
        }
    }
    while (!out.empty() && out.back() == '_') {
        out.pop_back();
    }
    std::string name = out;
    for (int n = 2; !used.insert(name).second; ++n) {
        name = fmt::format("{}_{}", out, n);
    }
    return name;
}

}  // namespace
}  // namespace sockfilter::vm::testing

int main(int argc, char** argv) {
    using namespace sockfilter::vm::testing;
    ::testing::InitGoogleTest(&argc, argv);
    std::string one;
    bool verbose = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--case") == 0 && i + 1 < argc) {
            one = argv[++i];
        } else if (std::strcmp(argv[i], "-v") == 0) {
            verbose = true;
        }
    }
    const std::string json_path = shared_dir() + "/conformance/kernel/test_bpf.json";
    static std::vector<Case> cases;
    auto read = read_cases(json_path);
    if (read) {
        cases = std::move(*read);
    }
    if (!one.empty()) {
        if (!read) {
            std::fprintf(stderr, "%s\n", read.error().render().c_str());
            return 2;
        }
        for (const Case& c : cases) {
            if (c.descr == one) {
                if (c.generated) {
                    fmt::print("SKIP: generated program over 4096 insns, not included\n");
                    return 0;
                }
                const std::string problems = run_case(c, verbose);
                fmt::print("{}{}\n", problems.empty() ? "PASS" : "FAIL: ", problems);
                return problems.empty() ? 0 : 1;
            }
        }
        std::fprintf(stderr, "no INTERNAL case named '%s'\n", one.c_str());
        return 2;
    }

    static std::map<std::string, std::string> expected =
        sockfilter::testing::read_expected_failures(source_dir() + "/tests/EXPECTED_FAIL", kListPrefix);
    if (!read) {
        sockfilter::testing::register_failing_test("TestBpf", "ReadCases", read.error().render());
        return RUN_ALL_TESTS();
    }
    std::set<std::string> used;
    std::set<std::string> listed_and_present;
    for (const Case& c : cases) {
        auto it = expected.find(c.descr);
        const std::string* reason = it == expected.end() ? nullptr : &it->second;
        if (reason != nullptr && !c.generated) {
            listed_and_present.insert(c.descr);
        }
        const std::string name = test_name(c.descr, used);
        ::testing::RegisterTest("TestBpf", name.c_str(), nullptr, c.descr.c_str(), __FILE__, __LINE__,
                                [&c, reason]() -> ::testing::Test* { return new CaseTest(&c, reason); });
    }
    // The list is strict both ways: every test_bpf/ line must name a case that runs here.
    std::string stale;
    for (const auto& [descr, reason] : expected) {
        if (listed_and_present.count(descr) == 0) {
            stale += "\ntests/EXPECTED_FAIL names '" + descr +
                     "', which is not a runnable INTERNAL case of test_bpf.json";
        }
    }
    if (!stale.empty()) {
        sockfilter::testing::register_failing_test("TestBpfList", "ExpectedFailuresNameRunnableCases", stale);
    }
    return RUN_ALL_TESTS();
}
