// SPDX-License-Identifier: MIT
// Map, tail-call and output helpers on an Instance with real maps: results, error codes, and the
// faults for arguments the verifier would have rejected.
#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "runtime/helpers/impl.h"
#include "runtime/helpers/test_util.h"
#include "runtime/maps/fd_maps.h"
#include "runtime/maps/ringbuf.h"

namespace sockfilter::runtime {
namespace {

using namespace testing;
using program::MapType;
namespace h = helpers;

class MapHelpers : public ::testing::Test {
protected:
    void SetUp() override {
        program::MapSpec inner = map_spec("inner", MapType::Array, 4, 4, 2);
        program::MapSpec outer = map_spec("outer", MapType::ArrayOfMaps, 4, 4, 2);
        outer.inner = std::make_shared<program::MapSpec>(inner);
        outer.initial_slots = {{1, "inner"}};
        inst_ = make_instance({map_spec("arr", MapType::Array, 4, 8, 4), map_spec("hash", MapType::Hash, 4, 8, 2),
                               map_spec("queue", MapType::Queue, 0, 4, 2),
                               map_spec("pcpu", MapType::PercpuArray, 4, 4, 2), inner, outer,
                               map_spec("progs", MapType::ProgArray, 4, 4, 4),
                               map_spec("rb", MapType::Ringbuf, 0, 0, 4096),
                               map_spec("perf", MapType::PerfEventArray, 4, 4, 2)},
                              {"main", "next"}, InstanceOptions{2, 0, 1, 0});
        ASSERT_NE(inst_, nullptr);
        mem_.allow(*inst_);
        mem_.allow(stack_.data(), stack_.size());
        env_ = make_env(inst_.get(), &mem_, &skb_);
        skb_.bytes = {1, 2, 3, 4, 5, 6};
    }
    std::uint64_t handle(std::string_view name) {
        return inst_->map_handle(static_cast<std::size_t>(inst_->find_map(name)));
    }
    std::uint64_t key(std::uint32_t k) {
        std::memcpy(stack_.data(), &k, 4);
        return addr(stack_.data());
    }
    std::uint64_t value(std::uint64_t v) {
        std::memcpy(stack_.data() + 8, &v, 8);
        return addr(stack_.data() + 8);
    }

    std::unique_ptr<Instance> inst_;
    FakeMemory mem_;
    std::array<std::uint8_t, 64> stack_{};
    Skb skb_;
    CallEnv env_;
};

TEST_F(MapHelpers, ArrayLookupUpdateDelete) {
    const std::uint64_t arr = handle("arr");
    EXPECT_EQ(s64(h::map_update_elem(env_, arr, key(1), value(0x1122), 0, 0)), 0);
    const std::uint64_t p = h::map_lookup_elem(env_, arr, key(1), 0, 0, 0);
    ASSERT_NE(p, 0U);
    EXPECT_TRUE(mem_.writable(p, 8));
    std::uint64_t v = 0;
    std::memcpy(&v, reinterpret_cast<void*>(p), 8);
    EXPECT_EQ(v, 0x1122U);
    EXPECT_EQ(h::map_lookup_elem(env_, arr, key(4), 0, 0, 0), 0U);
    EXPECT_EQ(s64(h::map_update_elem(env_, arr, key(4), value(1), 0, 0)), -7);
    EXPECT_EQ(s64(h::map_update_elem(env_, arr, key(1), value(1), kBpfNoExist, 0)), -17);
    EXPECT_EQ(s64(h::map_update_elem(env_, arr, key(1), value(1), 8, 0)), -22);
    EXPECT_EQ(s64(h::map_delete_elem(env_, arr, key(1), 0, 0, 0)), -22);
    EXPECT_TRUE(env_.fault.empty());
}

TEST_F(MapHelpers, HashErrors) {
    const std::uint64_t hash = handle("hash");
    EXPECT_EQ(h::map_lookup_elem(env_, hash, key(7), 0, 0, 0), 0U);
    EXPECT_EQ(s64(h::map_update_elem(env_, hash, key(7), value(1), kBpfExist, 0)), -2);
    EXPECT_EQ(s64(h::map_update_elem(env_, hash, key(7), value(1), kBpfNoExist, 0)), 0);
    EXPECT_EQ(s64(h::map_update_elem(env_, hash, key(7), value(1), kBpfNoExist, 0)), -17);
    EXPECT_EQ(s64(h::map_update_elem(env_, hash, key(8), value(1), 0, 0)), 0);
    EXPECT_EQ(s64(h::map_update_elem(env_, hash, key(9), value(1), 0, 0)), -7);
    EXPECT_EQ(s64(h::map_delete_elem(env_, hash, key(7), 0, 0, 0)), 0);
    EXPECT_EQ(s64(h::map_delete_elem(env_, hash, key(7), 0, 0, 0)), -2);
}

TEST_F(MapHelpers, QueuePushPopPeek) {
    const std::uint64_t q = handle("queue");
    const std::uint64_t buf = addr(stack_.data() + 32);
    EXPECT_EQ(s64(h::map_peek_elem(env_, q, buf, 0, 0, 0)), -2);
    EXPECT_EQ(s64(h::map_pop_elem(env_, q, buf, 0, 0, 0)), -2);
    EXPECT_EQ(s64(h::map_push_elem(env_, q, value(10), 0, 0, 0)), 0);
    EXPECT_EQ(s64(h::map_push_elem(env_, q, value(11), 0, 0, 0)), 0);
    EXPECT_EQ(s64(h::map_push_elem(env_, q, value(12), 0, 0, 0)), -7);
    EXPECT_EQ(s64(h::map_push_elem(env_, q, value(12), 3, 0, 0)), -22);
    EXPECT_EQ(s64(h::map_push_elem(env_, q, value(12), kBpfExist, 0, 0)), 0);
    EXPECT_EQ(s64(h::map_peek_elem(env_, q, buf, 0, 0, 0)), 0);
    EXPECT_EQ(stack_[32], 11);
    EXPECT_EQ(s64(h::map_pop_elem(env_, q, buf, 0, 0, 0)), 0);
    EXPECT_EQ(stack_[32], 11);
    EXPECT_EQ(s64(h::map_pop_elem(env_, q, buf, 0, 0, 0)), 0);
    EXPECT_EQ(stack_[32], 12);
}

TEST_F(MapHelpers, PercpuLookup) {
    const std::uint64_t pcpu = handle("pcpu");
    const std::uint64_t cpu0 = h::map_lookup_percpu_elem(env_, pcpu, key(1), 0, 0, 0);
    const std::uint64_t cpu1 = h::map_lookup_percpu_elem(env_, pcpu, key(1), 1, 0, 0);
    EXPECT_NE(cpu0, 0U);
    EXPECT_NE(cpu1, 0U);
    EXPECT_NE(cpu0, cpu1);
    EXPECT_EQ(h::map_lookup_percpu_elem(env_, pcpu, key(1), 2, 0, 0), 0U);
    EXPECT_EQ(h::map_lookup_percpu_elem(env_, pcpu, key(2), 0, 0, 0), 0U);
    // The ordinary lookup gives the current CPU's copy.
    EXPECT_EQ(h::map_lookup_elem(env_, pcpu, key(1), 0, 0, 0), cpu0);
}

TEST_F(MapHelpers, MapInMapReturnsTheInnerHandle) {
    EXPECT_EQ(h::map_lookup_elem(env_, handle("outer"), key(1), 0, 0, 0), handle("inner"));
    EXPECT_EQ(h::map_lookup_elem(env_, handle("outer"), key(0), 0, 0, 0), 0U);
}

TEST_F(MapHelpers, Faults) {
    EXPECT_EQ(h::map_lookup_elem(env_, 0x1234, key(1), 0, 0, 0), 0U);
    EXPECT_EQ(env_.fault, "bpf_map_lookup_elem: R1 (0x1234) is not a map");
    env_.fault.clear();
    h::map_lookup_elem(env_, handle("arr"), 0x10, 0, 0, 0);
    EXPECT_EQ(env_.fault, "bpf_map_lookup_elem: R2 (key, 4 bytes at 0x10) is not readable program memory");
    env_.fault.clear();
    // A key that runs past the end of the buffer.
    h::map_update_elem(env_, handle("arr"), key(0), addr(stack_.data() + 60), 0, 0);
    EXPECT_NE(env_.fault.find("R3 (value, 8 bytes at"), std::string::npos);
    env_.fault.clear();
    CallEnv bare = make_env(nullptr, nullptr);
    h::map_delete_elem(bare, 1, 2, 0, 0, 0);
    EXPECT_EQ(bare.fault, "bpf_map_delete_elem: R1 (0x1) is not a map");
    CallEnv no_memory = make_env(inst_.get(), nullptr);
    h::map_pop_elem(no_memory, handle("queue"), key(0), 0, 0, 0);
    EXPECT_NE(no_memory.fault.find("no memory check"), std::string::npos);
}

TEST_F(MapHelpers, TailCall) {
    const std::uint64_t progs = handle("progs");
    // Slot 2 -> program 1 ("next").
    std::array<std::uint8_t, 4> k{2, 0, 0, 0};
    std::array<std::uint8_t, 4> v{1, 0, 0, 0};
    ASSERT_EQ(inst_->map(static_cast<std::size_t>(inst_->find_map("progs"))).update_user(k.data(), v.data(), 0), 0);
    EXPECT_EQ(s64(h::tail_call(env_, kCtx, progs, 4, 0, 0)), -7);
    EXPECT_EQ(env_.tail_calls, 0U);
    EXPECT_EQ(s64(h::tail_call(env_, kCtx, progs, 1, 0, 0)), -2);
    EXPECT_EQ(env_.tail_calls, 1U);  // counted before the slot is looked at
    EXPECT_FALSE(env_.stop);
    EXPECT_EQ(h::tail_call(env_, kCtx, progs, 0x100000002ULL, 0, 0), 0U);  // index is a u32
    EXPECT_TRUE(env_.stop);
    EXPECT_EQ(env_.tail_call_target, 1);
    EXPECT_EQ(env_.tail_calls, 2U);
    env_.stop = false;
    env_.tail_calls = kMaxTailCalls;
    EXPECT_EQ(s64(h::tail_call(env_, kCtx, progs, 2, 0, 0)), -16);
    EXPECT_FALSE(env_.stop);
    h::tail_call(env_, kCtx + 8, progs, 2, 0, 0);
    EXPECT_EQ(env_.fault, "bpf_tail_call: R1 (0x1008) is not the context pointer");
    env_.fault.clear();
    h::tail_call(env_, kCtx, handle("arr"), 2, 0, 0);
    EXPECT_EQ(env_.fault, "bpf_tail_call: R2 is not a prog_array map");
}

TEST_F(MapHelpers, Ringbuf) {
    const std::uint64_t rb = handle("rb");
    EXPECT_EQ(h::ringbuf_query(env_, rb, kRbRingSize, 0, 0, 0), 4096U);
    EXPECT_EQ(h::ringbuf_reserve(env_, rb, 8, 1, 0, 0), 0U);  // flags
    const std::uint64_t rec = h::ringbuf_reserve(env_, rb, 5, 0, 0, 0);
    ASSERT_NE(rec, 0U);
    EXPECT_TRUE(mem_.writable(rec, 5));
    std::memcpy(reinterpret_cast<void*>(rec), "hello", 5);
    EXPECT_EQ(h::ringbuf_query(env_, rb, kRbProdPos, 0, 0, 0), 16U);
    EXPECT_EQ(h::ringbuf_submit(env_, rec, 0, 0, 0, 0), 0U);
    EXPECT_TRUE(env_.fault.empty());
    const std::uint64_t rec2 = h::ringbuf_reserve(env_, rb, 3, 0, 0, 0);
    EXPECT_EQ(h::ringbuf_discard(env_, rec2, 0, 0, 0, 0), 0U);
    EXPECT_EQ(s64(h::ringbuf_output(env_, rb, value(0x4443424140ULL), 5, 4, 0)), -22);
    EXPECT_EQ(s64(h::ringbuf_output(env_, rb, value(0x4443424140ULL), 5, kRbNoWakeup, 0)), 0);
    std::vector<std::uint8_t> big(4080);
    mem_.allow(big.data(), big.size());
    EXPECT_EQ(s64(h::ringbuf_output(env_, rb, addr(big.data()), big.size(), 0, 0)), -11);  // no room
    EXPECT_TRUE(env_.fault.empty());
    const auto outputs = inst_->take_outputs();
    ASSERT_EQ(outputs.size(), 2U);
    EXPECT_EQ(outputs[0].kind, Output::Kind::Ringbuf);
    EXPECT_EQ(std::string(outputs[0].bytes.begin(), outputs[0].bytes.end()), "hello");
    EXPECT_EQ(outputs[0].map, static_cast<std::size_t>(inst_->find_map("rb")));
    EXPECT_EQ(outputs[1].bytes, (std::vector<std::uint8_t>{0x40, 0x41, 0x42, 0x43, 0x44}));
    // Committing twice, or something reserve did not return.
    h::ringbuf_submit(env_, rec, 0, 0, 0, 0);
    EXPECT_NE(env_.fault.find("is not a record bpf_ringbuf_reserve returned"), std::string::npos);
    env_.fault.clear();
    h::ringbuf_query(env_, handle("arr"), 0, 0, 0, 0);
    EXPECT_EQ(env_.fault, "bpf_ringbuf_query: R1 is not a ringbuf map");
}

TEST_F(MapHelpers, PerfEventOutput) {
    const std::uint64_t perf = handle("perf");
    std::array<std::uint8_t, 4> k{0, 0, 0, 0};
    std::array<std::uint8_t, 4> cpu{0, 0, 0, 0};
    Map& m = inst_->map(static_cast<std::size_t>(inst_->find_map("perf")));
    ASSERT_EQ(m.update_user(k.data(), cpu.data(), 0), 0);
    const std::uint64_t data = value(0xaabb);
    EXPECT_EQ(s64(h::perf_event_output(env_, kCtx, perf, 1, data, 2)), -2);             // empty slot
    EXPECT_EQ(s64(h::perf_event_output(env_, kCtx, perf, 2, data, 2)), -7);             // index
    EXPECT_EQ(s64(h::perf_event_output(env_, kCtx, perf, 1ULL << 60, data, 2)), -22);  // flags
    EXPECT_EQ(s64(h::perf_event_output(env_, kCtx, perf, 7ULL << 32, data, 2)), -14); // ctxlen > len
    EXPECT_EQ(s64(h::perf_event_output(env_, kCtx, perf, (3ULL << 32) | kPerfCurrentCpu, data, 2)), 0);
    const auto outputs = inst_->take_outputs();
    ASSERT_EQ(outputs.size(), 1U);
    EXPECT_EQ(outputs[0].kind, Output::Kind::PerfEvent);
    EXPECT_EQ(outputs[0].bytes, (std::vector<std::uint8_t>{0xbb, 0xaa, 1, 2, 3}));
}

}  // namespace
}  // namespace sockfilter::runtime
