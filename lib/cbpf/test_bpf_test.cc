// SPDX-License-Identifier: MIT
// The kernel's lib/test_bpf.c CLASSIC cases from ../shared/conformance/kernel/test_bpf.json, on
// the fake skb of spec §9.1: each accepted case runs on the classic interpreter (Classic.<descr>)
// and converted to eBPF on the eBPF interpreter (Converted.<descr>); each FLAG_EXPECTED_FAIL case
// must be rejected by validate().
//
// tests/EXPECTED_FAIL lines starting "test_bpf_classic/" name classic-interpreter cases that
// cannot pass, strictly (a listed case that passes fails).
//
// CLI: cbpf_test_bpf [gtest flags]
#include <cstdlib>
#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "cbpf/convert.h"
#include "cbpf/test_util.h"
#include "cbpf/interpreter.h"
#include "cbpf/validate.h"
#include "runtime/helpers.h"
#include "runtime/load.h"
#include "runtime/prog_type.h"
#include "vm/interpreter.h"

namespace sockfilter::cbpf::testing {
namespace {

constexpr std::string_view kListPrefix = "test_bpf_classic/";

/// tests/EXPECTED_FAIL lines of this suite: descr -> reason.
std::map<std::string, std::string> read_expected_failures() {
    const char* dir = std::getenv("SF_SOURCE_DIR");
    std::ifstream in(std::string(dir != nullptr && *dir != '\0' ? dir : SF_DEFAULT_SOURCE_DIR) + "/tests/EXPECTED_FAIL");
    std::map<std::string, std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.starts_with(kListPrefix)) continue;
        const std::size_t tab = line.find('\t');
        out[line.substr(kListPrefix.size(), tab == std::string::npos ? std::string::npos : tab - kListPrefix.size())] =
            tab == std::string::npos ? std::string() : line.substr(tab + 1);
    }
    return out;
}

std::unique_ptr<runtime::Instance> instance() {
    auto inst = runtime::Instance::create({}, {}, runtime::InstanceOptions{});
    EXPECT_TRUE(inst.has_value());
    return std::move(*inst);
}

class ClassicTest final : public ::testing::Test {
public:
    ClassicTest(const Case* c, const std::string* reason) : c_(c), reason_(reason) {}
    void TestBody() override {
        const Case& c = *c_;
        if (c.expected_fail) {
            if (!c.filter) {
                // Generated and left out: only its length (over BPF_MAXINSNS) is known; any program
                // of that length is refused for it.
                ASSERT_GT(c.len, kMaxInsns);
                EXPECT_FALSE(validate(Filter(c.len, Insn{code::kRet | code::kK, 0, 0, 0})));
                return;
            }
            auto v = validate(*c.filter);
            ASSERT_FALSE(v) << c.descr << ": the kernel rejects this program; validate() accepted it";
            EXPECT_EQ(v.error().sys_errno, EINVAL);
            return;
        }
        ASSERT_TRUE(c.filter.has_value());
        auto v = validate(*c.filter);
        ASSERT_TRUE(v) << v.error().render();
        auto inst = instance();
        Interpreter interp(*c.filter, *inst);
        std::string problems;
        for (const auto& [size, want] : runnable(c)) {
            const runtime::Skb skb = c.no_data ? runtime::Skb{} : fake_skb(c, size);
            const std::uint32_t got = interp.run(skb);
            if (got != want) {
                problems += fmt::format("data_size {}: returned {:#x}, expected {:#x}; ", size, got, want);
            }
        }
        if (reason_ != nullptr) {
            EXPECT_FALSE(problems.empty()) << "listed in tests/EXPECTED_FAIL (" << *reason_
                                           << ") but passes: remove the line";
            return;
        }
        EXPECT_TRUE(problems.empty()) << problems;
    }

private:
    const Case* c_;
    const std::string* reason_;
};

class ConvertedTest final : public ::testing::Test {
public:
    explicit ConvertedTest(const Case* c) : c_(c) {}
    void TestBody() override {
        const Case& c = *c_;
        ASSERT_TRUE(c.filter.has_value());
        auto prog = convert(*c.filter, c.descr);
        bool refused_anc = false;
        for (const Insn& in : *c.filter) {
            if (code::cls(in.code) == code::kLd && code::mode(in.code) == code::kAbs) {
                auto a = ancillary(in.k);
                refused_anc |= a && !convertible(*a);
            }
        }
        if (refused_anc) {
            ASSERT_FALSE(prog) << "a program with hatype/nla/nlan/poff must be refused";
            EXPECT_EQ(prog.error().code, Errc::NotSupported);
            return;
        }
        ASSERT_TRUE(prog) << prog.error().render();
        auto inst = instance();
        const runtime::Environment env{&runtime::socket_filter(), &runtime::socket_filter_helpers(), inst.get()};
        vm::Interpreter engine(runtime::LoadedProgram{&*prog, env}, vm::Options{});
        for (const auto& [size, want] : runnable(c)) {
            runtime::Skb skb = fake_skb(c, size);
            vm::RunInput in;
            if (!c.no_data) in.skb = &skb;
            const vm::ExecResult r = engine.run(in);
            ASSERT_EQ(r.status, vm::ExecStatus::Ok) << "data_size " << size << ": " << engine.fault_message();
            EXPECT_EQ(static_cast<std::uint32_t>(r.r0), want) << "data_size " << size;
        }
    }

private:
    const Case* c_;
};

std::string test_name(const std::string& descr, std::set<std::string>& used) {
    std::string out;
    for (char ch : descr) {
        if (std::isalnum(static_cast<unsigned char>(ch)) != 0) {
            out += ch;
        } else if (!out.empty() && out.back() != '_') {
            out += '_';
        }
    }
    while (!out.empty() && out.back() == '_') out.pop_back();
    std::string name = out;
    for (int n = 2; !used.insert(name).second; ++n) name = fmt::format("{}_{}", out, n);
    return name;
}

}  // namespace
}  // namespace sockfilter::cbpf::testing

int main(int argc, char** argv) {
    using namespace sockfilter::cbpf::testing;
    ::testing::InitGoogleTest(&argc, argv);
    static std::string error;
    static std::vector<Case> cases = read_test_bpf_cases(error);
    if (!error.empty()) {
        ::testing::RegisterTest("TestBpfClassic", "ReadCases", nullptr, nullptr, __FILE__, __LINE__,
                                []() -> ::testing::Test* {
                                    class Failing final : public ::testing::Test {
                                        void TestBody() override { FAIL() << error; }
                                    };
                                    return new Failing;
                                });
        return RUN_ALL_TESTS();
    }
    static std::map<std::string, std::string> expected = read_expected_failures();
    static std::vector<std::string> stale;
    for (const auto& [descr, reason] : expected) {
        const bool present = std::any_of(cases.begin(), cases.end(), [&](const Case& c) {
            return c.descr == descr && !c.expected_fail;
        });
        if (!present) stale.push_back(descr);
    }
    ::testing::RegisterTest("ClassicList", "ExpectedFailuresNameRunnableCases", nullptr, nullptr, __FILE__, __LINE__,
                            []() -> ::testing::Test* {
                                class Check final : public ::testing::Test {
                                    void TestBody() override {
                                        for (const std::string& d : stale) {
                                            ADD_FAILURE() << "tests/EXPECTED_FAIL names '" << d
                                                          << "', not an accepted CLASSIC case of test_bpf.json";
                                        }
                                    }
                                };
                                return new Check;
                            });
    std::set<std::string> used;
    for (const Case& c : cases) {
        const std::string name = test_name(c.descr, used);
        auto it = expected.find(c.descr);
        const std::string* reason = it == expected.end() ? nullptr : &it->second;
        ::testing::RegisterTest("Classic", name.c_str(), nullptr, c.descr.c_str(), __FILE__, __LINE__,
                                [&c, reason]() -> ::testing::Test* { return new ClassicTest(&c, reason); });
        if (!c.expected_fail) {
            ::testing::RegisterTest("Converted", name.c_str(), nullptr, c.descr.c_str(), __FILE__, __LINE__,
                                    [&c]() -> ::testing::Test* { return new ConvertedTest(&c); });
        }
    }
    return RUN_ALL_TESTS();
}
