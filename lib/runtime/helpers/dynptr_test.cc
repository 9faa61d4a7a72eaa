// SPDX-License-Identifier: MIT
// for_each_map_elem, user_ringbuf_drain, the dynptr helpers, the kfuncs, probe_read_*, kptr_xchg
// and cgroup storage: results, error codes, faults, and load()'s kfunc resolution.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <functional>
#include <vector>

#include "runtime/helpers/dynptr.h"
#include "runtime/helpers/impl.h"
#include "runtime/helpers/test_util.h"
#include "runtime/load.h"
#include "runtime/maps/ringbuf.h"
#include "support/bytes.h"

namespace sockfilter::runtime {
namespace {

using namespace testing;
namespace h = helpers;
using program::MapType;

/// Callbacks that run a C++ function per call.
class FnCallbacks final : public Callbacks {
public:
    std::function<std::uint64_t(std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t)> fn;
    std::uint64_t call(std::uint64_t, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t r4,
                       std::uint64_t) override {
        return fn(r1, r2, r3, r4);
    }
};

class Dynptrs : public ::testing::Test {
protected:
    void SetUp() override {
        inst_ = make_instance({map_spec("hash", MapType::Hash, 4, 8, 8), map_spec("ring", MapType::Ringbuf, 0, 0, 4096),
                               map_spec("user", MapType::UserRingbuf, 0, 0, 4096),
                               map_spec("arr", MapType::Array, 4, 8, 3)});
        ASSERT_NE(inst_, nullptr);
        mem_.allow(*inst_);
        mem_.allow(stack_.data(), stack_.size());
        for (std::uint8_t i = 0; i < 30; ++i) {
            skb_.bytes.push_back(i);
        }
        skb_.data = 10;  // skb->len 20
        env_ = make_env(inst_.get(), &mem_, &skb_);
        env_.callbacks = &cb_;
    }
    std::uint64_t at(std::size_t off) { return addr(stack_.data() + off); }
    std::uint64_t handle(std::size_t i) { return inst_->map_handle(i); }

    std::unique_ptr<Instance> inst_;
    FakeMemory mem_;
    Skb skb_;
    CallEnv env_;
    FnCallbacks cb_;
    std::array<std::uint8_t, 256> stack_{};
};

TEST_F(Dynptrs, ForEachHashVisitsEveryElementWithReadOnlyKeys) {
    Map& m = inst_->map(0);
    for (std::uint32_t k = 1; k <= 3; ++k) {
        std::array<std::uint8_t, 4> key{};
        store_le<std::uint32_t>(key.data(), k);
        const std::uint64_t v = k * 10;
        ASSERT_EQ(m.update_user(key.data(), reinterpret_cast<const std::uint8_t*>(&v), 0), 0);
    }
    std::uint64_t sum = 0;
    cb_.fn = [&](std::uint64_t map, std::uint64_t key, std::uint64_t value, std::uint64_t ctx) -> std::uint64_t {
        EXPECT_EQ(map, handle(0));
        EXPECT_EQ(ctx, 0x55U);
        EXPECT_TRUE(mem_.readable(key, 4));
        EXPECT_FALSE(mem_.writable(key, 4));
        EXPECT_TRUE(mem_.writable(value, 8));
        sum += load_le<std::uint32_t>(reinterpret_cast<const std::uint8_t*>(key)) * 1000 +
               load_le<std::uint64_t>(reinterpret_cast<const std::uint8_t*>(value));
        return 0;
    };
    // The scratch is a region of the instance: FakeMemory learned it from regions().
    EXPECT_EQ(h::for_each_map_elem(env_, handle(0), 0x77, 0x55, 0, 0), 3U);
    EXPECT_EQ(sum, 6060U);
    EXPECT_EQ(s64(h::for_each_map_elem(env_, handle(0), 0x77, 0x55, 1, 0)), -22);
    // Deleting the next element from the callback skips it; 1 stops.
    int calls = 0;
    cb_.fn = [&](std::uint64_t, std::uint64_t key, std::uint64_t, std::uint64_t) -> std::uint64_t {
        ++calls;
        std::array<std::uint8_t, 4> other{};
        for (std::uint32_t k = 1; k <= 3; ++k) {
            if (k != load_le<std::uint32_t>(reinterpret_cast<const std::uint8_t*>(key))) {
                store_le<std::uint32_t>(other.data(), k);
                (void)m.remove(other.data());
            }
        }
        return 0;
    };
    EXPECT_EQ(h::for_each_map_elem(env_, handle(0), 0x77, 0, 0, 0), 1U);
    EXPECT_EQ(calls, 1);
    cb_.fn = [](std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t) -> std::uint64_t { return 1; };
    EXPECT_EQ(h::for_each_map_elem(env_, handle(3), 0x77, 0, 0, 0), 1U);
    h::for_each_map_elem(env_, handle(1), 0x77, 0, 0, 0);
    EXPECT_NE(env_.fault.find("does not walk"), std::string::npos) << env_.fault;
}

TEST_F(Dynptrs, UserRingbufDrainHandsOutReadOnlyDynptrs) {
    auto* u = map_as<UserRingbufMap>(inst_->map(2));
    ASSERT_NE(u, nullptr);
    ASSERT_EQ(u->produce(std::vector<std::uint8_t>{1, 2, 3}), 0);
    ASSERT_EQ(u->produce(std::vector<std::uint8_t>{4, 5}), 0);
    std::vector<std::uint32_t> sizes;
    cb_.fn = [&](std::uint64_t dyn, std::uint64_t, std::uint64_t, std::uint64_t) -> std::uint64_t {
        EXPECT_EQ(h::kf_dynptr_is_rdonly(env_, dyn, 0, 0, 0, 0), 1U);
        sizes.push_back(static_cast<std::uint32_t>(h::kf_dynptr_size(env_, dyn, 0, 0, 0, 0)));
        EXPECT_EQ(h::dynptr_read(env_, at(0), 1, dyn, 0, 0), 0U);
        return 0;
    };
    EXPECT_EQ(h::user_ringbuf_drain(env_, handle(2), 0x77, 0, 0, 0), 2U);
    EXPECT_EQ(sizes, (std::vector<std::uint32_t>{3, 2}));
    EXPECT_EQ(stack_[0], 4);
    EXPECT_EQ(h::user_ringbuf_drain(env_, handle(2), 0x77, 0, 0, 0), 0U);
    EXPECT_EQ(s64(h::user_ringbuf_drain(env_, handle(2), 0x77, 0, 4, 0)), -22);
}

TEST_F(Dynptrs, FromMemReadWriteData) {
    // Map value memory, as the kernel requires.
    std::uint8_t* value = inst_->map(3).lookup(std::array<std::uint8_t, 4>{}.data());
    ASSERT_NE(value, nullptr);
    const std::uint64_t v = addr(value);
    const std::uint64_t dyn = at(0);
    EXPECT_EQ(h::dynptr_from_mem(env_, v, 8, 0, dyn, 0), 0U);
    EXPECT_EQ(h::kf_dynptr_size(env_, dyn, 0, 0, 0, 0), 8U);
    EXPECT_EQ(h::kf_dynptr_is_rdonly(env_, dyn, 0, 0, 0, 0), 0U);
    const std::array<std::uint8_t, 4> src = {9, 8, 7, 6};
    mem_.allow(src.data(), src.size(), false);
    EXPECT_EQ(h::dynptr_write(env_, dyn, 4, addr(src.data()), 4, 0), 0U);
    EXPECT_EQ(value[4], 9);
    EXPECT_EQ(s64(h::dynptr_write(env_, dyn, 5, addr(src.data()), 4, 0)), -7);
    EXPECT_EQ(s64(h::dynptr_write(env_, dyn, 0, addr(src.data()), 4, 1)), -22);
    EXPECT_EQ(h::dynptr_read(env_, at(32), 4, dyn, 4, 0), 0U);
    EXPECT_EQ(stack_[32], 9);
    EXPECT_EQ(s64(h::dynptr_read(env_, at(32), 4, dyn, 5, 0)), -7);
    EXPECT_EQ(s64(h::dynptr_read(env_, at(32), 4, dyn, 0, 1)), -22);
    EXPECT_EQ(h::dynptr_data(env_, dyn, 4, 4, 0, 0), v + 4);
    EXPECT_EQ(h::dynptr_data(env_, dyn, 5, 4, 0, 0), 0U);
    // The program may copy the 16 bytes: the copy works the same.
    std::memcpy(stack_.data() + 64, stack_.data(), 16);
    EXPECT_EQ(h::dynptr_data(env_, at(64), 0, 8, 0, 0), v);
    // Adjust and clone keep the view relative to the current one.
    EXPECT_EQ(h::kf_dynptr_adjust(env_, dyn, 2, 6, 0, 0), 0U);
    EXPECT_EQ(h::kf_dynptr_clone(env_, dyn, at(16), 0, 0, 0), 0U);
    EXPECT_EQ(h::kf_dynptr_size(env_, at(16), 0, 0, 0, 0), 4U);
    EXPECT_EQ(h::dynptr_data(env_, at(16), 2, 1, 0, 0), v + 4);
    EXPECT_EQ(s64(h::kf_dynptr_adjust(env_, dyn, 3, 5, 0, 0)), -34);
    EXPECT_EQ(s64(h::kf_dynptr_adjust(env_, dyn, 3, 2, 0, 0)), -22);
    // Errors leave a NULL dynptr.
    EXPECT_EQ(s64(h::dynptr_from_mem(env_, v, 8, 1, dyn, 0)), -22);
    EXPECT_EQ(h::kf_dynptr_is_null(env_, dyn, 0, 0, 0, 0), 1U);
    EXPECT_EQ(h::kf_dynptr_size(env_, dyn, 0, 0, 0, 0), 0xffffffeaU);
    EXPECT_EQ(s64(h::dynptr_read(env_, at(32), 1, dyn, 0, 0)), -22);
    EXPECT_EQ(s64(h::kf_dynptr_clone(env_, dyn, at(16), 0, 0, 0)), -22);
    EXPECT_EQ(h::kf_dynptr_is_null(env_, at(16), 0, 0, 0, 0), 1U);
    EXPECT_EQ(s64(h::dynptr_from_mem(env_, v, 1U << 24, 0, dyn, 0)), -7);
}

TEST_F(Dynptrs, ForgedDynptrsFault) {
    const std::uint64_t dyn = at(0);
    // A local dynptr over memory the program was not given.
    h::Dynptr d;
    d.data = 0x1000;
    d.size = 8;
    d.type = h::DynptrType::Local;
    h::store_dynptr(stack_.data(), d);
    EXPECT_EQ(h::kf_dynptr_size(env_, dyn, 0, 0, 0, 0), 0U);
    EXPECT_NE(env_.fault.find("not writable program memory"), std::string::npos) << env_.fault;
    env_.fault.clear();
    // An skb dynptr of another context.
    d.data = kCtx + 0x100;
    d.type = h::DynptrType::Skb;
    d.rdonly = true;
    h::store_dynptr(stack_.data(), d);
    EXPECT_EQ(h::kf_dynptr_is_rdonly(env_, dyn, 0, 0, 0, 0), 0U);
    EXPECT_EQ(env_.fault, "bpf_dynptr_is_rdonly: R1 is an skb dynptr that does not describe this run's packet");
}

TEST_F(Dynptrs, SkbDynptrIsReadOnly) {
    const std::uint64_t dyn = at(0);
    EXPECT_EQ(s64(h::kf_dynptr_from_skb(env_, kCtx, 1, dyn, 0, 0)), -22);
    EXPECT_EQ(h::kf_dynptr_is_null(env_, dyn, 0, 0, 0, 0), 1U);
    EXPECT_EQ(h::kf_dynptr_from_skb(env_, kCtx, 0, dyn, 0, 0), 0U);
    EXPECT_EQ(h::kf_dynptr_size(env_, dyn, 0, 0, 0, 0), 20U);
    EXPECT_EQ(h::kf_dynptr_is_rdonly(env_, dyn, 0, 0, 0, 0), 1U);
    EXPECT_EQ(h::dynptr_data(env_, dyn, 0, 4, 0, 0), 0U);
    EXPECT_EQ(s64(h::dynptr_write(env_, dyn, 0, at(32), 1, 0)), -22);
    // The slice is always the copy in the buffer; NULL without one or out of range.
    EXPECT_EQ(h::kf_dynptr_slice(env_, dyn, 2, at(32), 4, 0), at(32));
    EXPECT_EQ((std::vector<std::uint8_t>(stack_.begin() + 32, stack_.begin() + 36)),
              (std::vector<std::uint8_t>{12, 13, 14, 15}));
    EXPECT_EQ(h::kf_dynptr_slice(env_, dyn, 2, 0, 4, 0), 0U);
    EXPECT_EQ(h::kf_dynptr_slice(env_, dyn, 17, at(32), 4, 0), 0U);
    EXPECT_EQ(h::kf_dynptr_adjust(env_, dyn, 4, 8, 0, 0), 0U);
    EXPECT_EQ(h::dynptr_read(env_, at(40), 4, dyn, 0, 0), 0U);
    EXPECT_EQ(stack_[40], 14);
}

TEST_F(Dynptrs, RingbufDynptrs) {
    const std::uint64_t dyn = at(0);
    EXPECT_EQ(h::ringbuf_reserve_dynptr(env_, handle(1), 8, 0, dyn, 0), 0U);
    const std::array<std::uint8_t, 8> src = {1, 2, 3, 4, 5, 6, 7, 8};
    mem_.allow(src.data(), src.size(), false);
    EXPECT_EQ(h::dynptr_write(env_, dyn, 0, addr(src.data()), 8, 0), 0U);
    EXPECT_EQ(h::ringbuf_submit_dynptr(env_, dyn, 0, 0, 0, 0), 0U);
    EXPECT_TRUE(env_.fault.empty()) << env_.fault;
    EXPECT_EQ(h::kf_dynptr_is_null(env_, dyn, 0, 0, 0, 0), 1U);
    auto rec = map_as<RingbufMap>(inst_->map(1))->consume();
    ASSERT_TRUE(rec.has_value());
    EXPECT_EQ(*rec, (std::vector<std::uint8_t>(src.begin(), src.end())));
    EXPECT_EQ(s64(h::ringbuf_reserve_dynptr(env_, handle(1), 8, 1, dyn, 0)), -22);
    EXPECT_EQ(s64(h::ringbuf_reserve_dynptr(env_, handle(1), 1U << 24, 0, dyn, 0)), -7);
    EXPECT_EQ(s64(h::ringbuf_reserve_dynptr(env_, handle(1), 8192, 0, dyn, 0)), -22);
    EXPECT_EQ(h::ringbuf_discard_dynptr(env_, dyn, 0, 0, 0, 0), 0U);  // NULL: nothing to do
    EXPECT_TRUE(env_.fault.empty()) << env_.fault;
}

TEST_F(Dynptrs, IterNumAndSections) {
    const std::uint64_t it = at(0);
    EXPECT_EQ(h::kf_iter_num_new(env_, it, 2, 4, 0, 0), 0U);
    EXPECT_EQ(h::kf_iter_num_next(env_, it, 0, 0, 0, 0), it);
    EXPECT_EQ(load_le<std::uint32_t>(stack_.data()), 2U);
    EXPECT_EQ(h::kf_iter_num_next(env_, it, 0, 0, 0, 0), it);
    EXPECT_EQ(h::kf_iter_num_next(env_, it, 0, 0, 0, 0), 0U);
    EXPECT_EQ(h::kf_iter_num_next(env_, it, 0, 0, 0, 0), 0U);
    EXPECT_EQ(h::kf_iter_num_destroy(env_, it, 0, 0, 0, 0), 0U);
    EXPECT_EQ(s64(h::kf_iter_num_new(env_, it, 5, 4, 0, 0)), -22);
    EXPECT_EQ(s64(h::kf_iter_num_new(env_, it, 0, 8 * 1024 * 1024 + 1, 0, 0)), -7);
    EXPECT_EQ(h::kf_iter_num_next(env_, it, 0, 0, 0, 0), 0U);
    EXPECT_EQ(env_.open_iters, 2U);
    h::kf_rcu_read_lock(env_, 0, 0, 0, 0, 0);
    h::kf_rcu_read_lock(env_, 0, 0, 0, 0, 0);
    EXPECT_EQ(env_.fault, "nested rcu read lock (kernel function bpf_rcu_read_lock)");
    env_.fault.clear();
    h::kf_preempt_enable(env_, 0, 0, 0, 0, 0);
    EXPECT_EQ(env_.fault, "unmatched attempt to enable preemption (kernel function bpf_preempt_enable)");
}

TEST_F(Dynptrs, ProbeReadOnlyOwnRegions) {
    std::memcpy(stack_.data() + 100, "hello", 6);
    EXPECT_EQ(h::probe_read_kernel(env_, at(0), 4, at(100), 0, 0), 0U);
    EXPECT_EQ(std::memcmp(stack_.data(), "hell", 4), 0);
    std::memset(stack_.data(), 0xee, 8);
    EXPECT_EQ(s64(h::probe_read_user(env_, at(0), 8, 0xffff0000, 0, 0)), -14);
    EXPECT_EQ(stack_[0], 0);
    EXPECT_EQ(stack_[7], 0);
    EXPECT_EQ(h::probe_read_kernel_str(env_, at(0), 16, at(100), 0, 0), 6U);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(stack_.data())), "hello");
    EXPECT_EQ(h::probe_read_user_str(env_, at(0), 3, at(100), 0, 0), 3U);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(stack_.data())), "he");
    // A string running off the end of the region.
    std::memset(stack_.data() + 250, 'x', 6);
    EXPECT_EQ(s64(h::probe_read_kernel_str(env_, at(0), 16, at(250), 0, 0)), -14);
    EXPECT_EQ(stack_[0], 0);
    EXPECT_EQ(h::probe_read_kernel(env_, at(0), 0, 0, 0, 0), 0U);
}

TEST_F(Dynptrs, KptrXchgAndCgroupStorageTakeOnlyNull) {
    store_le<std::uint64_t>(stack_.data(), 0x1234);
    EXPECT_EQ(h::kptr_xchg(env_, at(0), 0, 0, 0, 0), 0x1234U);
    EXPECT_EQ(h::kptr_xchg(env_, at(0), 0, 0, 0, 0), 0U);
    h::kptr_xchg(env_, at(0), 0x5000, 0, 0, 0);
    EXPECT_NE(env_.fault.find("no referenced kernel object exists"), std::string::npos) << env_.fault;
    env_.fault.clear();
    program::MapSpec cgs = map_spec("cg", MapType::CgrpStorage, 4, 8, 0, program::kMapNoPrealloc);
    cgs.btf_key_type_id = 1;
    cgs.btf_value_type_id = 2;
    auto inst = make_instance({cgs});
    ASSERT_NE(inst, nullptr);
    CallEnv env = make_env(inst.get(), &mem_);
    const std::uint64_t cg = inst->map_handle(0);
    EXPECT_EQ(h::cgrp_storage_get(env, cg, 0, 0, 1, 0), 0U);
    EXPECT_EQ(s64(h::cgrp_storage_delete(env, cg, 0, 0, 0, 0)), -22);
    EXPECT_TRUE(env.fault.empty()) << env.fault;
    h::cgrp_storage_get(env, cg, 0x8000, 0, 1, 0);
    EXPECT_NE(env.fault.find("is not a struct cgroup pointer"), std::string::npos) << env.fault;
}

TEST_F(Dynptrs, LoadResolvesKfuncsByName) {
    auto probe = [](std::int32_t index) {
        std::vector<isa::Insn> s = {{0x85, 0, 2, 0, index}, {0xb7, 0, 0, 0, 0}, {0x95, 0, 0, 0, 0}};
        auto p = program::Program::from_slots("k", std::move(s));
        EXPECT_TRUE(p.has_value());
        return std::move(*p);
    };
    const std::vector<program::KfuncRef> names = {{"bpf_rcu_read_lock"}, {"bpf_arena_alloc_pages"},
                                                  {"bpf_dynptr_slice_rdwr"}, {"bpf_obj_new_impl"},
                                                  {"bpf_iter_task_new"}};
    Environment env = socket_filter_env();
    env.kfuncs = names;
    auto message = [&](std::int32_t i, Environment e) {
        const program::Program p = probe(i);
        auto r = load(p, e);
        return r ? std::string("ok") : r.error().message;
    };
    EXPECT_EQ(message(0, env), "ok");
    EXPECT_EQ(message(1, env), "program must be sleepable to call sleepable kfunc bpf_arena_alloc_pages");
    EXPECT_EQ(message(2, env), "the prog does not allow writes to packet data");
    EXPECT_EQ(message(3, env), "calling kernel function bpf_obj_new_impl is not allowed");
    EXPECT_EQ(message(4, env), "bpf_iter_task_new: userspace has no task objects to iterate");
    EXPECT_EQ(message(5, env), "kfunc call to #5: the object names no such kernel function");
    Environment unpriv = env;
    unpriv.helpers = &socket_filter_helpers(Privilege::None);
    EXPECT_EQ(message(0, unpriv), "loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN");
}

}  // namespace
}  // namespace sockfilter::runtime
