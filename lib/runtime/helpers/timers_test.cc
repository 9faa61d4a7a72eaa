// SPDX-License-Identifier: MIT
// bpf_timer helpers and bpf_wq kfuncs on the virtual clock: error codes, arming, due order, firing
// bookkeeping and cancelling from the timer's own callback.
#include <gtest/gtest.h>

#include <array>

#include "runtime/helpers/impl.h"
#include "runtime/helpers/test_util.h"
#include "support/bytes.h"

namespace sockfilter::runtime {
namespace {

using namespace testing;
namespace h = helpers;
using program::MapType;

class Timers : public ::testing::Test {
protected:
    void SetUp() override {
        inst_ = make_instance({map_spec("arr", MapType::Array, 4, 24, 4), map_spec("hash", MapType::Hash, 4, 16, 4),
                               map_spec("pc", MapType::PercpuArray, 4, 16, 1)});
        ASSERT_NE(inst_, nullptr);
        mem_.allow(*inst_);
        env_ = make_env(inst_.get(), &mem_);
    }
    /// Address of the 16-byte timer at offset 8 of array element `i`.
    std::uint64_t timer(std::uint32_t i) {
        std::array<std::uint8_t, 4> key{};
        store_le<std::uint32_t>(key.data(), i);
        return addr(inst_->map(0).lookup(key.data())) + 8;
    }
    std::uint64_t handle(std::size_t i) { return inst_->map_handle(i); }

    std::unique_ptr<Instance> inst_;
    FakeMemory mem_;
    CallEnv env_;
};

TEST_F(Timers, InitSetCallbackStartCancel) {
    const std::uint64_t t = timer(2);
    EXPECT_EQ(s64(h::timer_set_callback(env_, t, 0x77, 0, 0, 0)), -22);  // not initialised
    EXPECT_EQ(s64(h::timer_start(env_, t, 10, 0, 0, 0)), -22);
    EXPECT_EQ(s64(h::timer_cancel(env_, t, 0, 0, 0, 0)), -22);
    EXPECT_EQ(s64(h::timer_init(env_, t, handle(0), 2, 0, 0)), -22);   // CLOCK_PROCESS_CPUTIME_ID
    EXPECT_EQ(s64(h::timer_init(env_, t, handle(0), 17, 0, 0)), -22);  // flags >= MAX_CLOCKS
    EXPECT_EQ(h::timer_init(env_, t, handle(0), 1, 0, 0), 0U);
    EXPECT_EQ(s64(h::timer_init(env_, t, handle(0), 1, 0, 0)), -16);
    EXPECT_EQ(s64(h::timer_start(env_, t, 10, 0, 0, 0)), -22);  // no callback yet
    EXPECT_EQ(h::timer_set_callback(env_, t, 0x77, 0, 0, 0), 0U);
    EXPECT_EQ(s64(h::timer_start(env_, t, 10, 4, 0, 0)), -22);
    EXPECT_EQ(h::timer_cancel(env_, t, 0, 0, 0, 0), 0U);  // not armed
    inst_->set_now_ns(1000);
    EXPECT_EQ(h::timer_start(env_, t, 10, 0, 0, 0), 0U);
    EXPECT_TRUE(inst_->due_timers(1009).empty());
    ASSERT_EQ(inst_->due_timers(1010).size(), 1U);
    EXPECT_EQ(h::timer_cancel(env_, t, 0, 0, 0, 0), 1U);
    EXPECT_TRUE(inst_->due_timers(5000).empty());
    EXPECT_TRUE(env_.fault.empty()) << env_.fault;
}

TEST_F(Timers, DueOrderAndCallbackArguments) {
    const std::uint64_t a = timer(0);
    const std::uint64_t b = timer(3);
    for (const std::uint64_t t : {a, b}) {
        ASSERT_EQ(h::timer_init(env_, t, handle(0), 7, 0, 0), 0U);
        ASSERT_EQ(h::timer_set_callback(env_, t, 0x77, 0, 0, 0), 0U);
    }
    inst_->set_now_ns(100);
    EXPECT_EQ(h::timer_start(env_, a, 500, 1, 0, 0), 0U);  // BPF_F_TIMER_ABS
    EXPECT_EQ(h::timer_start(env_, b, 50, 0, 0, 0), 0U);   // relative: 150
    const auto due = inst_->due_timers(1000);
    ASSERT_EQ(due.size(), 2U);
    EXPECT_EQ(due[0].timer, b);
    EXPECT_EQ(due[1].timer, a);
    const auto call = inst_->start_timer_callback(due[0]);
    ASSERT_TRUE(call.has_value());
    EXPECT_EQ(call->callback, 0x77U);
    EXPECT_EQ(call->map_handle, handle(0));
    EXPECT_EQ(call->value, b - 8);
    EXPECT_EQ(load_le<std::uint32_t>(reinterpret_cast<const std::uint8_t*>(call->key)), 3U);
    EXPECT_TRUE(mem_.readable(call->key, 4));
    EXPECT_FALSE(mem_.writable(call->key, 4));
    // Cancelling the running timer from its callback deadlocks in the kernel: -EDEADLK.
    EXPECT_EQ(s64(h::timer_cancel(env_, b, 0, 0, 0, 0)), -35);
    // The other one may be cancelled; the listed entry is then skipped.
    EXPECT_EQ(h::timer_cancel(env_, a, 0, 0, 0, 0), 1U);
    inst_->finish_timer_callback();
    EXPECT_FALSE(inst_->start_timer_callback(due[1]).has_value());
    EXPECT_FALSE(inst_->start_timer_callback(due[0]).has_value());  // already fired
}

TEST_F(Timers, HashElementsAndBadArguments) {
    const std::array<std::uint8_t, 4> key = {9, 0, 0, 0};
    const std::array<std::uint8_t, 16> zero{};
    ASSERT_EQ(inst_->map(1).update_user(key.data(), zero.data(), 0), 0);
    const std::uint64_t t = addr(inst_->map(1).lookup(key.data()));
    EXPECT_EQ(h::timer_init(env_, t, handle(1), 0, 0, 0), 0U);
    ASSERT_EQ(inst_->timers().count(t), 1U);
    EXPECT_EQ(inst_->timers().at(t).key, (std::vector<std::uint8_t>(key.begin(), key.end())));
    h::timer_init(env_, timer(1), handle(1), 0, 0, 0);
    EXPECT_NE(env_.fault.find("is not a bpf_timer in a value of the map R2 names"), std::string::npos) << env_.fault;
    env_.fault.clear();
    h::timer_init(env_, timer(1) + 4, handle(0), 0, 0, 0);
    EXPECT_NE(env_.fault.find("is not a bpf_timer"), std::string::npos) << env_.fault;
    env_.fault.clear();
    const std::array<std::uint8_t, 4> k0{};
    h::timer_init(env_, addr(inst_->map(2).lookup(k0.data())), handle(2), 0, 0, 0);
    EXPECT_EQ(env_.fault, "bpf_timer_init: timers live only in array, hash and lru_hash map values");
}

TEST_F(Timers, WorkQueueRunsBeforeTheNextPacket) {
    const std::uint64_t w = timer(1);
    EXPECT_EQ(s64(h::kf_wq_set_callback_impl(env_, w, 0x77, 0, 0, 0)), -22);
    EXPECT_EQ(s64(h::kf_wq_start(env_, w, 0, 0, 0, 0)), -22);
    EXPECT_EQ(s64(h::kf_wq_init(env_, w, handle(0), 1, 0, 0)), -22);
    EXPECT_EQ(h::kf_wq_init(env_, w, handle(0), 0, 0, 0), 0U);
    EXPECT_EQ(s64(h::kf_wq_init(env_, w, handle(0), 0, 0, 0)), -16);
    EXPECT_EQ(s64(h::kf_wq_start(env_, w, 0, 0, 0, 0)), -22);  // no callback
    EXPECT_EQ(s64(h::kf_wq_set_callback_impl(env_, w, 0x77, 1, 0, 0)), -22);
    EXPECT_EQ(h::kf_wq_set_callback_impl(env_, w, 0x77, 0, 0, 0), 0U);
    EXPECT_EQ(s64(h::kf_wq_start(env_, w, 1, 0, 0, 0)), -22);
    inst_->set_now_ns(500);
    EXPECT_EQ(h::kf_wq_start(env_, w, 0, 0, 0, 0), 0U);
    EXPECT_EQ(h::kf_wq_start(env_, w, 0, 0, 0, 0), 0U);  // already pending: queued once
    const auto due = inst_->due_timers(500);
    ASSERT_EQ(due.size(), 1U);
    const auto call = inst_->start_timer_callback(due[0]);
    ASSERT_TRUE(call.has_value());
    EXPECT_EQ(call->value, w - 8);
    inst_->finish_timer_callback();
    // A bpf_wq is not a bpf_timer.
    h::timer_start(env_, w, 1, 0, 0, 0);
    EXPECT_NE(env_.fault.find("is a bpf_wq"), std::string::npos) << env_.fault;
}

}  // namespace
}  // namespace sockfilter::runtime
