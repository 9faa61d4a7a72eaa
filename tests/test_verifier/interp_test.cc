// SPDX-License-Identifier: MIT
// The kernel's test_verifier socket-filter cases (spec §9.2) on our loader and interpreter: every
// ACCEPT pass must load and return the kernel's values for its runs (BPF_PROG_TEST_RUN's packet,
// the test-run socket kind); a REJECT pass our load-time checks refuse must be refused for the
// reason the kernel gives where the message is one we reproduce. One GoogleTest test per case and
// pass (TestVerifier.c<idx>_<descr>, TestVerifierUnpriv.…); tests/EXPECTED_FAIL lists passes that
// cannot pass, strictly; the counts are printed at the end.
//
// CLI: test_verifier_interp [gtest flags] | test_verifier_interp --case IDX [--unpriv] [-v]
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "program/program.h"
#include "runner/expected_fail.h"
#include "runner/failing_test.h"
#include "runtime/helpers.h"
#include "runtime/instance.h"
#include "runtime/load.h"
#include "runtime/packet.h"
#include "runtime/prog_type.h"
#include "test_verifier/cases.h"
#include "vm/interpreter.h"
#include "vm/vm_test_util.h"

namespace sockfilter::testing::test_verifier {
namespace {

constexpr std::string_view kListPrefix = "test_verifier/";

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::string(v) : std::string(fallback);
}

/// What one pass of a case came to on our side.
struct Outcome {
    bool refused = false;   ///< Program::from_slots or runtime::load refused the program
    std::string refusal;    ///< their message, rendered with its pc
    bool same_reason = false;  ///< refused, and the kernel's errstr matches our message
    std::string problem;    ///< why the pass fails; empty when it passes
};

/// The case's slots with the fix-up `lddw`s turned into references by map index
/// (BPF_PSEUDO_MAP_IDX, or _IDX_VALUE for a BPF_PSEUDO_MAP_VALUE), the index being the fix-up's
/// position in Case::fixups, which is the map's index in the Instance.
std::vector<isa::Insn> patched_slots(const Case& c) {
    std::vector<isa::Insn> slots = c.insns;
    for (std::size_t m = 0; m < c.fixups.size(); ++m) {
        for (std::uint32_t at : c.fixups[m].insns) {
            isa::Insn& in = slots[at];
            in.src = in.src == isa::kPseudoMapValue ? isa::kPseudoMapIdxValue : isa::kPseudoMapIdx;
            in.imm = static_cast<std::int32_t>(m);
        }
    }
    return slots;
}

/// The kernel's messages our load-time checks (runtime::load, program::Program) reproduce word for
/// word, as their fixed beginnings.
constexpr std::array<std::string_view, 17> kReproduced = {
    "invalid bpf_context access off=",
    "same insn cannot be used with different pointers",
    "invalid func unknown#",
    "program of this type cannot use helper ",
    "jump into the middle of ldimm64 insn ",
    "last insn is not an exit or jmp",
    "invalid access to map value pointer, value_size=",
    "direct value offset of ",
    "R6 !read_ok",
    "at the time of BPF_LD_ABS|IND R6 != pointer to skb",
    "LD_ABS is not allowed in subprogs without BTF",
    "tail_call is not allowed in subprogs without BTF",
    "BPF_ATOMIC stores into R",
    "dereference of modified ctx ptr R",
    "negative offset ctx ptr R",
    "unknown opcode ",  // the kernel's "%02x", not isa's "0x%02x"
    "jump out of range from insn ",
};

/// The message of a rendered refusal, without its "pc N: " location.
std::string_view message_of(std::string_view rendered) {
    if (rendered.starts_with("pc ")) {
        const std::size_t colon = rendered.find(": ");
        if (colon != std::string_view::npos) {
            return rendered.substr(colon + 2);
        }
    }
    return rendered;
}

/// Whether `message` is one of the kernel's messages we reproduce (see kReproduced).
bool reproduced(std::string_view message) {
    return std::any_of(kReproduced.begin(), kReproduced.end(), [message](std::string_view stem) {
        return message.starts_with(stem) && !(stem == "unknown opcode " && message.starts_with("unknown opcode 0x"));
    });
}

/// Whether the kernel's errstr names one of those messages: it matches a message's beginning,
/// or contains one.
bool names_reproduced(std::string_view errstr) {
    return std::any_of(kReproduced.begin(), kReproduced.end(), [errstr](std::string_view stem) {
        return errstr_matches(stem, errstr) || errstr.find(stem) != std::string_view::npos;
    });
}

/// Runs one pass of `c` the way test_verifier's do_test_single does, on our side.
Outcome run_pass(const Case& c, bool unpriv, bool verbose) {
    Outcome out;
    auto prog = program::Program::from_slots(test_name(c), patched_slots(c));
    std::vector<program::MapSpec> specs;
    for (const Fixup& f : c.fixups) {
        specs.push_back(fixup_spec(f.map));
    }
    auto inst = runtime::Instance::create(specs, {});
    if (!inst) {
        out.problem = "fix-up maps: " + inst.error().render();
        return out;
    }
    Result<runtime::LoadedProgram> loaded = tl::unexpected(Error{});
    if (!prog) {
        loaded = tl::unexpected(prog.error());
    } else {
        const runtime::Environment env{&runtime::socket_filter(),
                                       &runtime::socket_filter_helpers(unpriv ? runtime::Privilege::None
                                                                              : runtime::Privilege::Root),
                                       inst->get()};
        loaded = runtime::load(*prog, env);
    }
    if (!loaded) {
        out.refused = true;
        out.refusal = loaded.error().render();
    }
    if (verbose) {
        fmt::print("{}: expected {}, {}\n", pass_name(c, unpriv),
                   c.expected(unpriv) == Expect::Reject ? "REJECT" : "ACCEPT",
                   out.refused ? "refused: " + out.refusal : std::string("loaded"));
        if (const auto& e = c.expected_errstr(unpriv)) {
            fmt::print("kernel errstr: {}\n", *e);
        }
    }
    if (c.expected(unpriv) == Expect::Reject) {
        // Both sides give a message we reproduce: then they must be the same check. Otherwise the
        // kernel reports a check we do not make first (unprivileged pointer rules, strict
        // alignment, the verifier proper), and only the refusal itself counts.
        const std::string_view ours = message_of(out.refusal);
        const std::string& errstr = c.expected_errstr(unpriv).value_or("");
        out.same_reason = out.refused && errstr_matches(ours, errstr);
        if (out.refused && !out.same_reason && reproduced(ours) && names_reproduced(errstr)) {
            out.problem = fmt::format("refused with \"{}\", but the kernel's message is \"{}\"", ours, errstr);
        }
        return out;
    }
    if (out.refused) {
        out.problem = "the kernel accepts it but we refuse it: " + out.refusal;
        return out;
    }
    vm::Interpreter interp(*loaded, vm::Options{});
    vm::testing::RegisterPrinter printer;
    if (verbose) {
        interp.set_trace(&printer);
    }
    for (std::size_t i = 0; i < c.run_count(); ++i) {
        const std::uint32_t want = c.expected_retval(i, unpriv);
        auto skb = runtime::make_skb(c.retvals[i].data, runtime::dlt::kEn10mb, runtime::SocketKind::TestRun);
        if (!skb) {
            out.problem += fmt::format("run {}: {}; ", i, skb.error().render());
            continue;
        }
        vm::RunInput in;
        in.skb = &*skb;
        const vm::ExecResult r = interp.run(in);
        const auto got = static_cast<std::uint32_t>(r.r0);
        if (verbose) {
            fmt::print("run {}: status {}, r0 {:#x}, expected {:#x} {}\n", i, static_cast<int>(r.status), r.r0, want,
                       interp.fault_message());
        }
        if (r.status != vm::ExecStatus::Ok) {
            out.problem += fmt::format("run {}: {}; ", i, interp.fault_message());
        } else if (got != want && want != kPointerValue) {
            out.problem += fmt::format("run {}: returned {:#x}, the kernel {:#x}; ", i, got, want);
        }
    }
    return out;
}

/// Counts over the passes that ran, printed when the run ends.
struct Tally {
    std::size_t accept = 0;
    std::size_t accept_ok = 0;
    std::size_t runs = 0;
    std::size_t reject = 0;
    std::size_t refused = 0;
    std::size_t refused_same_reason = 0;

    void add(const Case& c, bool unpriv, const Outcome& o) {
        if (c.expected(unpriv) == Expect::Reject) {
            ++reject;
            refused += o.refused ? 1 : 0;
            refused_same_reason += o.same_reason ? 1 : 0;
            return;
        }
        ++accept;
        runs += c.run_count();
        accept_ok += o.problem.empty() ? 1 : 0;
    }
};

Tally& tally() {
    static Tally t;
    return t;
}

class Figures final : public ::testing::Environment {
public:
    void TearDown() override {
        const Tally& t = tally();
        fmt::print("test_verifier socket-filter passes run: {} ACCEPT ({} test runs), {} gave the kernel's values; "
                   "{} REJECT, {} refused by our load-time checks ({} with the kernel's message), the rest need "
                   "the verifier\n",
                   t.accept, t.runs, t.accept_ok, t.reject, t.refused, t.refused_same_reason);
    }
};

class PassTest final : public ::testing::Test {
public:
    PassTest(const Case* c, bool unpriv, const std::string* expected_reason)
        : c_(c), unpriv_(unpriv), reason_(expected_reason) {}
    void TestBody() override {
        const Outcome o = run_pass(*c_, unpriv_, false);
        tally().add(*c_, unpriv_, o);
        if (reason_ != nullptr) {
            EXPECT_FALSE(o.problem.empty()) << "'" << pass_name(*c_, unpriv_) << "' is listed in tests/EXPECTED_FAIL ("
                                            << *reason_ << ") but passes: remove the line";
            return;
        }
        EXPECT_TRUE(o.problem.empty()) << pass_name(*c_, unpriv_) << ": " << o.problem;
    }

private:
    const Case* c_;
    bool unpriv_;
    const std::string* reason_;
};

}  // namespace
}  // namespace sockfilter::testing::test_verifier

int main(int argc, char** argv) {
    using namespace sockfilter::testing::test_verifier;
    ::testing::InitGoogleTest(&argc, argv);
    long one = -1;
    bool unpriv = false;
    bool verbose = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--case") == 0 && i + 1 < argc) {
            one = std::strtol(argv[++i], nullptr, 10);
        } else if (std::strcmp(argv[i], "--unpriv") == 0) {
            unpriv = true;
        } else if (std::strcmp(argv[i], "-v") == 0) {
            verbose = true;
        }
    }
    const std::string json_path =
        env_or("SF_SHARED_DIR", SF_DEFAULT_SHARED_DIR) + "/conformance/kernel/test_verifier_socket_filter.json";
    static std::vector<Case> cases;
    auto read = read_cases(json_path);
    if (read) {
        cases = std::move(*read);
    }
    if (one >= 0) {
        if (!read) {
            std::fprintf(stderr, "%s\n", read.error().render().c_str());
            return 2;
        }
        for (const Case& c : cases) {
            if (c.idx == static_cast<std::uint32_t>(one)) {
                const Outcome o = run_pass(c, unpriv, verbose);
                fmt::print("{}{}\n", o.problem.empty() ? "PASS" : "FAIL: ", o.problem);
                return o.problem.empty() ? 0 : 1;
            }
        }
        std::fprintf(stderr, "no case with idx %ld\n", one);
        return 2;
    }
    if (!read) {
        sockfilter::testing::register_failing_test("TestVerifier", "ReadCases", read.error().render());
        return RUN_ALL_TESTS();
    }
    static const std::map<std::string, std::string> expected = sockfilter::testing::read_expected_failures(
        env_or("SF_SOURCE_DIR", SF_DEFAULT_SOURCE_DIR) + "/tests/EXPECTED_FAIL", kListPrefix);
    std::vector<std::string> stale;
    for (const auto& [name, reason] : expected) {
        stale.push_back(name);
    }
    for (const bool pass_unpriv : {false, true}) {
        for (const Case& c : cases) {
            if (pass_unpriv && !c.as_unpriv) {
                continue;
            }
            const std::string name = pass_name(c, pass_unpriv);
            auto it = expected.find(name);
            const std::string* reason = it == expected.end() ? nullptr : &it->second;
            std::erase(stale, name);
            ::testing::RegisterTest(
                pass_unpriv ? "TestVerifierUnpriv" : "TestVerifier", test_name(c).c_str(), nullptr, c.descr.c_str(),
                __FILE__, __LINE__,
                [&c, pass_unpriv, reason]() -> ::testing::Test* { return new PassTest(&c, pass_unpriv, reason); });
        }
    }
    // The list is strict both ways: every test_verifier/ line must name a pass that runs here.
    std::string names;
    for (const std::string& name : stale) {
        names += "\ntests/EXPECTED_FAIL names 'test_verifier/" + name + "', which is no pass of the JSON file";
    }
    if (!names.empty()) {
        sockfilter::testing::register_failing_test("TestVerifierList", "ExpectedFailuresNamePasses", names);
    }
    ::testing::AddGlobalTestEnvironment(new Figures);
    return RUN_ALL_TESTS();
}
