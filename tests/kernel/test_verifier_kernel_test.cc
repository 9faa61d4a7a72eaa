// SPDX-License-Identifier: MIT
// The kernel's test_verifier socket-filter cases replayed on the running kernel the way the
// selftest runner does (spec §9.2): fix-up maps created with libbpf and patched in as
// BPF_PSEUDO_MAP_FD, BPF_PROG_LOAD through kernel::load_socket_filter with the runner's flags,
// ACCEPT/REJECT and `errstr` (ordered substrings) checked, then BPF_PROG_TEST_RUN for every
// expected return value. So the JSON's expectations, which test_verifier/interp holds our
// interpreter to, are proven on this kernel.
//
// Privileged passes load with CAP_SYS_ADMIN dropped (the runner's is_admin()); unprivileged passes
// with CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_PERFMON and CAP_BPF dropped. Capabilities belong to a
// thread, so maps and program are made in a thread of their own that drops them and ends; the test
// run then happens with every capability, as the runner re-raises them for it. An unprivileged pass
// needs kernel.unprivileged_bpf_disabled = 0: where it is 2 it is set to 0 for that load only and
// put back; where it is 1 (which only a reboot undoes) the unprivileged passes are skipped.
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/capability.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "kernel/bpf.h"
#include "kernel/fd.h"
#include "kernel_env.h"
#include "runner/failing_test.h"
#include "test_verifier/cases.h"

namespace sockfilter::testing::test_verifier {
namespace {

/// BPF_F_TEST_REG_INVARIANTS (6.7+; newer than the UAPI headers of this build).
constexpr std::uint32_t kTestRegInvariants = 1U << 7;
/// test_verifier's F_NEEDS_EFFICIENT_UNALIGNED_ACCESS and F_LOAD_WITH_STRICT_ALIGNMENT.
constexpr std::uint32_t kNeedsUnaligned = 1;
constexpr std::uint32_t kStrictAlignment = 2;
/// The runner's log level (DEFAULT_LIBBPF_LOG_LEVEL, BPF_LOG_STATS): rejections still log why.
constexpr std::uint32_t kLogLevel = 4;

constexpr const char* kUnprivSysctl = "/proc/sys/kernel/unprivileged_bpf_disabled";

/// The prog_flags do_test_single passes.
std::uint32_t prog_flags(const Case& c) {
    std::uint32_t f = BPF_F_TEST_RND_HI32 | kTestRegInvariants;
    if ((c.flags & kStrictAlignment) != 0) {
        f |= BPF_F_STRICT_ALIGNMENT;
    }
    if ((c.flags & kNeedsUnaligned) != 0) {
        f |= BPF_F_ANY_ALIGNMENT;
    }
    if ((c.flags & ~(kNeedsUnaligned | kStrictAlignment)) != 0) {
        f |= c.flags;
    }
    return f;
}

std::optional<std::string> read_sysctl() {
    std::ifstream f(kUnprivSysctl);
    std::string v;
    if (f >> v) {
        return v;
    }
    return std::nullopt;
}

bool write_sysctl(const char* value) {
    std::ofstream f(kUnprivSysctl);
    f << value << '\n';
    f.flush();
    return static_cast<bool>(f);
}

/// kernel.unprivileged_bpf_disabled = 0 while it lives: set from 2 and put back to 2 by the
/// destructor; nothing to do at 0; impossible at 1 (reason() says why).
class UnprivilegedBpf {
public:
    UnprivilegedBpf() {
        const auto v = read_sysctl();
        if (!v) {
            reason_ = fmt::format("cannot read {}", kUnprivSysctl);
        } else if (*v == "2") {
            if (write_sysctl("0")) {
                restore_ = true;
            } else {
                reason_ = fmt::format("cannot set {} from 2 to 0", kUnprivSysctl);
            }
        } else if (*v != "0") {
            reason_ = fmt::format("{} is {}: unprivileged bpf() is off until reboot", kUnprivSysctl, *v);
        }
    }
    ~UnprivilegedBpf() {
        if (restore_) {
            EXPECT_TRUE(write_sysctl("2")) << "could not put " << kUnprivSysctl << " back to 2";
        }
    }
    UnprivilegedBpf(const UnprivilegedBpf&) = delete;
    UnprivilegedBpf& operator=(const UnprivilegedBpf&) = delete;

    /// Empty when unprivileged loads are possible now.
    [[nodiscard]] const std::string& reason() const { return reason_; }

private:
    bool restore_ = false;
    std::string reason_;
};

/// Maps and program of one pass, made as the runner makes them.
struct Loaded {
    std::vector<kernel::Fd> maps;
    Result<kernel::Fd> prog = tl::unexpected(Error{});
    std::string log;
    std::string setup_error;  ///< a fix-up map that could not be made
};

/// do_test_fixup + bpf_prog_load, on the calling thread with its capabilities.
void make(const Case& c, Loaded& out) {
    std::vector<isa::Insn> slots = c.insns;
    for (const Fixup& f : c.fixups) {
        const program::MapSpec spec = fixup_spec(f.map);
        LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = spec.map_flags);
        kernel::Fd fd(bpf_map_create(static_cast<bpf_map_type>(spec.type), nullptr, spec.key_size, spec.value_size,
                                     spec.max_entries, &mo));
        if (fd.get() < 0) {
            out.setup_error = fmt::format("{}: BPF_MAP_CREATE: {}", spec.name, std::strerror(errno));
            return;
        }
        if (!spec.initial_value.empty()) {
            const std::uint32_t key = 0;
            if (bpf_map_update_elem(fd.get(), &key, spec.initial_value.data(), BPF_ANY) != 0) {
                out.setup_error = fmt::format("{}: BPF_MAP_UPDATE_ELEM: {}", spec.name, std::strerror(errno));
                return;
            }
        }
        for (std::uint32_t at : f.insns) {
            slots[at].imm = fd.get();
        }
        out.maps.push_back(std::move(fd));
    }
    kernel::LoadOptions lo;
    lo.license = "GPL";
    lo.log_level = kLogLevel;
    lo.prog_flags = prog_flags(c);
    out.prog = kernel::load_socket_filter(fmt::format("tv{}", c.idx), slots, lo, &out.log);
}

class PassTest final : public KernelTest {
public:
    PassTest(const Case* c, bool unpriv) : c_(c), unpriv_(unpriv) {}

    void TestBody() override {
        const Case& c = *c_;
        Loaded l;
        {
            std::optional<UnprivilegedBpf> enabled;
            if (unpriv_) {
                enabled.emplace();
                if (!enabled->reason().empty()) {
                    skip_kernel_test("unprivileged pass: " + enabled->reason());
                    return;
                }
            }
            std::string dropped;
            std::thread t([&] {
                const bool ok = unpriv_ ? drop_effective_caps({CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_PERFMON, CAP_BPF})
                                        : drop_effective_caps({CAP_SYS_ADMIN});
                if (!ok) {
                    dropped = fmt::format("capset: {}", std::strerror(errno));
                    return;
                }
                make(c, l);
            });
            t.join();
            ASSERT_TRUE(dropped.empty()) << dropped;
        }
        ASSERT_TRUE(l.setup_error.empty()) << l.setup_error;
        const std::string name = pass_name(c, unpriv_);
        if (c.expected(unpriv_) == Expect::Reject) {
            ASSERT_FALSE(l.prog.has_value()) << name << ": the kernel accepts it";
            const auto& errstr = c.expected_errstr(unpriv_);
            ASSERT_TRUE(errstr.has_value()) << name << ": a REJECT case without errstr";
            EXPECT_TRUE(errstr_matches(l.log, *errstr)) << name << ": errstr \"" << *errstr << "\" not in the log:\n"
                                                        << l.log;
            return;
        }
        ASSERT_TRUE(l.prog.has_value()) << name << ": the kernel refuses it: " << l.prog.error().render() << "\n"
                                        << l.log;
        if (!unpriv_ && c.insn_processed != 0) {
            const std::size_t at = l.log.find("processed ");
            ASSERT_NE(at, std::string::npos) << "no `processed N insns` line in the log";
            EXPECT_EQ(std::strtoul(l.log.c_str() + at + 10, nullptr, 10), c.insn_processed);
        }
        for (std::size_t i = 0; i < c.run_count(); ++i) {
            auto r = kernel::test_run(*l.prog, c.retvals[i].data, std::nullopt);
            ASSERT_TRUE(r.has_value()) << name << ": run " << i << ": " << r.error().render();
            const std::uint32_t want = c.expected_retval(i, unpriv_);
            if (want != kPointerValue) {
                EXPECT_EQ(r->retval, want) << name << ": run " << i;
            }
        }
    }

private:
    const Case* c_;
    bool unpriv_;
};

}  // namespace
}  // namespace sockfilter::testing::test_verifier

int main(int argc, char** argv) {
    using namespace sockfilter::testing::test_verifier;
    ::testing::InitGoogleTest(&argc, argv);
    const char* shared = std::getenv("SF_SHARED_DIR");
    const std::string dir = shared != nullptr && *shared != '\0' ? shared : SF_DEFAULT_SHARED_DIR;
    static std::vector<Case> cases;
    auto read = read_cases(dir + "/conformance/kernel/test_verifier_socket_filter.json");
    if (!read) {
        sockfilter::testing::register_failing_test("KernelTestVerifier", "ReadCases", read.error().render());
        return RUN_ALL_TESTS();
    }
    cases = std::move(*read);
    for (const bool unpriv : {false, true}) {
        for (const Case& c : cases) {
            if (unpriv && !c.as_unpriv) {
                continue;
            }
            ::testing::RegisterTest(unpriv ? "KernelTestVerifierUnpriv" : "KernelTestVerifier", test_name(c).c_str(),
                                    nullptr, c.descr.c_str(), __FILE__, __LINE__,
                                    [&c, unpriv]() -> ::testing::Test* { return new PassTest(&c, unpriv); });
        }
    }
    return RUN_ALL_TESTS();
}
