// SPDX-License-Identifier: MIT
// `sockfilter verify` and `sockfilter load` against the running kernel, run as users run them (the
// built binary): verdicts, the refused instruction mapped to its C source line, the kernel's
// message, --log, --xlated, pins whose tail calls still work after the command exits, and the
// errors for a taken path, a path off bpffs and a process without bpf().
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "kernel/bpf.h"
#include "kernel/fd.h"
#include "kernel_env.h"

namespace sockfilter::testing {
namespace {

const std::string kSockfilter = SF_SOCKFILTER;
const std::string kFixtures = SF_ELF_FIXTURES;
const std::string kExamples = SF_EXAMPLES_DIR;

struct Outcome {
    int exit = -1;
    std::string out;  ///< stdout and stderr together
};

Outcome run(const std::string& args, const std::string& prefix = "") {
    const std::string cmd = prefix + "'" + kSockfilter + "' " + args + " 2>&1";
    Outcome o;
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) {
        ADD_FAILURE() << "cannot run " << cmd;
        return o;
    }
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof(buf), pipe)) > 0;) {
        o.out.append(buf, n);
    }
    const int status = pclose(pipe);
    o.exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return o;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class CommandsKernelTest : public KernelTest {};

TEST_F(CommandsKernelTest, VerifyAccepts) {
    const auto o = run("verify '" + kFixtures + "/simple.o'");
    EXPECT_EQ(o.exit, 0) << o.out;
    EXPECT_TRUE(contains(o.out, "simple.o: program keep_long: accepted by the kernel\n  processed ")) << o.out;
}

TEST_F(CommandsKernelTest, VerifyMapsTheRefusalToItsSourceLine) {
    const auto o = run("verify '" + kFixtures + "/rejected.o'");
    EXPECT_EQ(o.exit, 1) << o.out;
    EXPECT_TRUE(contains(o.out, "rejected.o: program reads_tc_classid: rejected by the kernel (Permission denied)\n"
                                "  instruction 3: r0 = *(u32 *)(r1 + 72)\n"))
        << o.out;
    EXPECT_TRUE(contains(o.out, "rejected.c:12:17:     return skb->tc_classid;\n"
                                "  kernel: invalid bpf_context access off=72 size=4\n"))
        << o.out;
    const auto log = run("verify '" + kFixtures + "/rejected.o' --log");
    EXPECT_EQ(log.exit, 1);
    EXPECT_TRUE(contains(log.out, "3: (61) r0 = *(u32 *)(r1 +72)\ninvalid bpf_context access off=72 size=4\n"))
        << log.out;
}

TEST_F(CommandsKernelTest, VerifyXlatedShowsTheKernelsRewrite) {
    const auto o = run("verify '" + kFixtures + "/globals.o' --xlated");
    EXPECT_EQ(o.exit, 0) << o.out;
    // skb->len read from struct sk_buff, global data as map values named by map id.
    EXPECT_TRUE(contains(o.out, "    0: r1 = *(u32 *)(r1 + ")) << o.out;
    EXPECT_TRUE(contains(o.out, "    1: r2 = map[id:")) << o.out;
}

TEST_F(CommandsKernelTest, VerifyWithoutBpfSaysSo) {
    std::ifstream f("/proc/sys/kernel/unprivileged_bpf_disabled");
    int disabled = 0;
    f >> disabled;
    if (disabled == 0 || access("/usr/bin/setpriv", X_OK) != 0) {
        GTEST_SKIP() << "SKIPPED: an unprivileged process may load socket filters here, or setpriv is missing";
    }
    const auto o = run("verify '" + kFixtures + "/simple.o'",
                       "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all ");
    EXPECT_EQ(o.exit, 1) << o.out;
    EXPECT_TRUE(contains(o.out, "sockfilter verify: the kernel's verifier is not available: bpf(BPF_PROG_LOAD) of a "
                                "socket filter failed: Operation not permitted"))
        << o.out;
}

/// A directory on bpffs for one test, removed with what was pinned in it (also when the test fails).
struct PinDir {
    std::string path = "/sys/fs/bpf/sf_load_test_" + std::to_string(::getpid());
    PinDir() { EXPECT_EQ(::mkdir(path.c_str(), 0700), 0); }
    PinDir(const PinDir&) = delete;
    PinDir& operator=(const PinDir&) = delete;
    ~PinDir() {
        for (const char* name : {"/dispatch", "/dispatch_handlers"}) {
            ::unlink((path + name).c_str());
        }
        ::rmdir(path.c_str());
    }
};

TEST_F(CommandsKernelTest, LoadPinsAProgramWhoseTailCallsOutliveTheCommand) {
    PinDir dir;
    const std::string pin = dir.path + "/dispatch";
    const auto o = run("load '" + kExamples + "/tail_dispatch.o' --program dispatch --pin '" + pin + "'");
    EXPECT_EQ(o.exit, 0) << o.out;
    EXPECT_TRUE(contains(o.out, pin + ": program dispatch id ")) << o.out;
    EXPECT_TRUE(contains(o.out, pin + "_handlers: its prog array pinned")) << o.out;
    {
        kernel::Fd prog(bpf_obj_get(pin.c_str()));
        ASSERT_TRUE(prog.valid());
        // An IPv6 frame is kept only through the tail call to handle_ipv6.
        std::vector<std::uint8_t> v6(14 + 40, 0);
        v6[12] = 0x86;
        v6[13] = 0xdd;
        v6[14] = 0x60;
        auto r = kernel::test_run(prog, v6, std::nullopt);
        ASSERT_TRUE(r.has_value()) << r.error().render();
        EXPECT_EQ(r->retval, 0xffffffffU);
    }
    const auto again = run("load '" + kExamples + "/tail_dispatch.o' --program dispatch --pin '" + pin + "'");
    EXPECT_EQ(again.exit, 1);
    EXPECT_TRUE(contains(again.out, "program dispatch: " + pin + ": cannot pin (BPF_OBJ_PIN): it already exists"))
        << again.out;

    const auto off_bpffs = run("load '" + kFixtures + "/simple.o' --pin /tmp/sf_not_bpffs");
    EXPECT_EQ(off_bpffs.exit, 1);
    EXPECT_TRUE(contains(off_bpffs.out, "/tmp/sf_not_bpffs: /tmp is not on a bpf filesystem")) << off_bpffs.out;
}

}  // namespace
}  // namespace sockfilter::testing
