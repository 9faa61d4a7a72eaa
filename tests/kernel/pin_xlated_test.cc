// SPDX-License-Identifier: MIT
// kernel::program_info, kernel::xlated and kernel::pin against the running kernel: the translated
// program of a context read, pins on bpffs and their errors, and the mount of /sys/fs/bpf in a
// private mount namespace where none is mounted.
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "kernel/bpf.h"
#include "kernel/features.h"
#include "kernel/pin.h"
#include "kernel_env.h"

namespace sockfilter::testing {
namespace {

namespace fs = std::filesystem;

class PinXlatedTest : public KernelTest {
protected:
    void SetUp() override {
        KernelTest::SetUp();
        if (IsSkipped()) {
            return;
        }
        // r0 = skb->len; exit
        auto p = program::Program::from_slots("sf_xlated", {{0x61, 0, 1, 0, 0}, {0x95, 0, 0, 0, 0}});
        ASSERT_TRUE(p.has_value());
        auto fd = kernel::load_socket_filter(*p);
        ASSERT_TRUE(fd.has_value()) << fd.error().render();
        prog_ = std::move(*fd);
    }
    void TearDown() override {
        prog_.reset();
        KernelTest::TearDown();
    }
    kernel::Fd prog_;
};

TEST_F(PinXlatedTest, XlatedShowsTheRewrittenContextRead) {
    auto info = kernel::program_info(prog_);
    ASSERT_TRUE(info.has_value()) << info.error().render();
    EXPECT_EQ(info->name, "sf_xlated");
    EXPECT_GT(info->id, 0U);
    EXPECT_EQ(info->verified_insns, 2U);
    auto x = kernel::xlated(prog_);
    ASSERT_TRUE(x.has_value()) << x.error().render();
    ASSERT_EQ(x->size(), info->xlated_insns);
    ASSERT_GE(x->size(), 2U);
    // skb->len (offset 0 of __sk_buff) becomes a 32-bit load from struct sk_buff.
    EXPECT_EQ(x->front().opcode, 0x61);
    EXPECT_EQ(x->front().dst, 0);
    EXPECT_EQ(x->front().src, 1);
    EXPECT_NE(x->front().off, 0);
    EXPECT_EQ(x->back().opcode, 0x95);
}

TEST_F(PinXlatedTest, PinsOnBpffsAndSaysWhyNot) {
    ASSERT_TRUE(kernel::on_bpffs(kernel::kBpffsPath));
    const std::string dir = std::string(kernel::kBpffsPath) + "/sf_pin_test_" + std::to_string(::getpid());
    ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
    const std::string path = dir + "/prog";
    auto pinned = kernel::pin(prog_, path);
    ASSERT_TRUE(pinned.has_value()) << pinned.error().render();
    EXPECT_FALSE(pinned->mounted_bpffs);
    {
        kernel::Fd again(bpf_obj_get(path.c_str()));
        ASSERT_TRUE(again.valid());
        EXPECT_EQ(kernel::program_info(again)->id, kernel::program_info(prog_)->id);
    }
    auto twice = kernel::pin(prog_, path);
    ASSERT_FALSE(twice.has_value());
    EXPECT_EQ(twice.error().sys_errno, EEXIST);
    EXPECT_EQ(twice.error().render(), path + ": cannot pin (BPF_OBJ_PIN): it already exists");
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());

    const std::string tmp = fs::temp_directory_path().string() + "/sf_pin_" + std::to_string(::getpid());
    auto not_bpffs = kernel::pin(prog_, tmp);
    ASSERT_FALSE(not_bpffs.has_value());
    EXPECT_EQ(not_bpffs.error().code, Errc::InvalidArgument);
    EXPECT_NE(not_bpffs.error().message.find("is not on a bpf filesystem"), std::string::npos)
        << not_bpffs.error().render();

    auto dotted = kernel::pin(prog_, std::string(kernel::kBpffsPath) + "/sf.prog");
    ASSERT_FALSE(dotted.has_value());
    EXPECT_EQ(dotted.error().render(), "/sys/fs/bpf/sf.prog: a bpf filesystem refuses names with '.'");

    auto missing = kernel::pin(prog_, dir + "/prog");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().render(), dir + "/prog: directory " + dir + " does not exist");
}

TEST_F(PinXlatedTest, MountsBpffsWhereNoneIsMounted) {
    // In a child with a private mount namespace, /sys/fs/bpf is covered by a tmpfs; pin mounts a
    // bpf filesystem over it and pins there. Exit codes: 0 ok, 10+ setup failed, 20+ pin wrong.
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
            ::_exit(10);
        }
        if (::mount("tmpfs", kernel::kBpffsPath, "tmpfs", 0, "size=64k") != 0 || kernel::on_bpffs(kernel::kBpffsPath)) {
            ::_exit(11);
        }
        const std::string path = std::string(kernel::kBpffsPath) + "/sf_mounted";
        auto pinned = kernel::pin(prog_, path);
        if (!pinned) {
            ::_exit(20);
        }
        if (!pinned->mounted_bpffs || !kernel::on_bpffs(kernel::kBpffsPath)) {
            ::_exit(21);
        }
        ::_exit(::access(path.c_str(), F_OK) == 0 ? 0 : 22);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace sockfilter::testing
