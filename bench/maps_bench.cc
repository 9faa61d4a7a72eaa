// SPDX-License-Identifier: MIT
// Cost per call of the map helpers and ring-buffer output, as a program calls them (through the
// helper registry, with pointer checks), beside native C++ doing the same work with a plain hash
// table, a vector and a byte ring. Results: docs/PERFORMANCE.md, "Maps and helpers".
#include <array>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <vector>

#include <benchmark/benchmark.h>

#include "runtime/helpers.h"
#include "runtime/instance.h"
#include "runtime/maps/ringbuf.h"
#include "support/bytes.h"

namespace sockfilter::bench {

namespace {

constexpr std::uint32_t kEntries = 1024;
constexpr std::uint32_t kRecord = 16;

/// Accepts pointers into one buffer, as the interpreter accepts pointers into the stack.
class BufferCheck final : public runtime::MemoryCheck {
public:
    explicit BufferCheck(std::span<const std::uint8_t> buf) : lo_(reinterpret_cast<std::uintptr_t>(buf.data())), len_(buf.size()) {}
    [[nodiscard]] bool readable(std::uint64_t addr, std::uint64_t len) const override {
        return addr - lo_ <= len_ && len_ - (addr - lo_) >= len;
    }
    [[nodiscard]] bool writable(std::uint64_t addr, std::uint64_t len) const override { return readable(addr, len); }

private:
    std::uint64_t lo_;
    std::uint64_t len_;
};

program::MapSpec spec(program::MapType type, std::uint32_t key, std::uint32_t value, std::uint32_t entries) {
    program::MapSpec s;
    s.name = "m";
    s.type = type;
    s.key_size = key;
    s.value_size = value;
    s.max_entries = entries;
    return s;
}

/// An instance with one map, a 512-byte "stack" for keys and values, and a CallEnv over both.
struct Fixture {
    std::unique_ptr<runtime::Instance> inst;
    std::array<std::uint8_t, 512> stack{};
    BufferCheck check{stack};
    runtime::CallEnv env;
    std::uint64_t handle = 0;

    explicit Fixture(const program::MapSpec& s) {
        const std::vector<program::MapSpec> maps{s};
        inst = std::move(*runtime::Instance::create(maps, {}));
        env.instance = inst.get();
        env.memory = &check;
        handle = inst->map_handle(0);
    }
    std::uint64_t addr(std::size_t off) { return reinterpret_cast<std::uintptr_t>(stack.data() + off); }
};

runtime::HelperFn helper(std::int32_t id) { return runtime::socket_filter_helpers().find(id)->fn; }

void fill_hash(Fixture& f) {
    for (std::uint32_t k = 0; k < kEntries; ++k) {
        std::array<std::uint8_t, 4> key{};
        std::array<std::uint8_t, 8> value{};
        store_le(key.data(), k);
        (void)f.inst->map(0).update_user(key.data(), value.data(), runtime::kBpfAny);
    }
}

void BM_HashLookup_Helper(benchmark::State& state) {
    Fixture f(spec(program::MapType::Hash, 4, 8, kEntries));
    fill_hash(f);
    const runtime::HelperFn lookup = helper(1);
    std::uint32_t k = 0;
    for (auto _ : state) {
        store_le(f.stack.data(), k++ % kEntries);
        benchmark::DoNotOptimize(lookup(f.env, f.handle, f.addr(0), 0, 0, 0));
    }
}

void BM_HashLookup_Native(benchmark::State& state) {
    std::unordered_map<std::uint32_t, std::uint64_t> m;
    for (std::uint32_t k = 0; k < kEntries; ++k) {
        m.emplace(k, 0);
    }
    std::uint32_t k = 0;
    for (auto _ : state) {
        auto it = m.find(k++ % kEntries);
        benchmark::DoNotOptimize(it);
    }
}

void BM_HashUpdate_Helper(benchmark::State& state) {
    Fixture f(spec(program::MapType::Hash, 4, 8, kEntries));
    fill_hash(f);
    const runtime::HelperFn update = helper(2);
    std::uint32_t k = 0;
    for (auto _ : state) {
        store_le(f.stack.data(), k % kEntries);
        store_le<std::uint64_t>(f.stack.data() + 8, k++);
        benchmark::DoNotOptimize(update(f.env, f.handle, f.addr(0), f.addr(8), runtime::kBpfAny, 0));
    }
}

void BM_HashUpdate_Native(benchmark::State& state) {
    std::unordered_map<std::uint32_t, std::uint64_t> m;
    for (std::uint32_t k = 0; k < kEntries; ++k) {
        m.emplace(k, 0);
    }
    std::uint32_t k = 0;
    for (auto _ : state) {
        m.insert_or_assign(k % kEntries, k);
        ++k;
        benchmark::ClobberMemory();
    }
}

void BM_ArrayLookup_Helper(benchmark::State& state) {
    Fixture f(spec(program::MapType::Array, 4, 8, kEntries));
    const runtime::HelperFn lookup = helper(1);
    std::uint32_t k = 0;
    for (auto _ : state) {
        store_le(f.stack.data(), k++ % kEntries);
        benchmark::DoNotOptimize(lookup(f.env, f.handle, f.addr(0), 0, 0, 0));
    }
}

void BM_ArrayLookup_Native(benchmark::State& state) {
    std::vector<std::uint64_t> v(kEntries);
    std::uint32_t k = 0;
    for (auto _ : state) {
        const std::uint32_t i = k++ % kEntries;
        benchmark::DoNotOptimize(i < v.size() ? &v[i] : nullptr);
    }
}

void BM_RingbufOutput_Helper(benchmark::State& state) {
    Fixture f(spec(program::MapType::Ringbuf, 0, 0, 1U << 16));
    const runtime::HelperFn output = helper(130);
    auto* rb = runtime::map_as<runtime::RingbufMap>(f.inst->map(0));
    std::uint32_t n = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(output(f.env, f.handle, f.addr(0), kRecord, 0, 0));
        if (++n % 1024 == 0) {  // a reader drains the ring (and the tool its printed records)
            while (rb->consume()) {
            }
            (void)f.inst->take_outputs();
        }
    }
}

void BM_RingbufOutput_Native(benchmark::State& state) {
    std::vector<std::uint8_t> ring(1U << 16);
    std::array<std::uint8_t, kRecord> record{};
    std::size_t pos = 0;
    for (auto _ : state) {
        store_le<std::uint32_t>(ring.data() + pos, kRecord);
        std::memcpy(ring.data() + pos + 8, record.data(), kRecord);
        pos = (pos + 8 + kRecord) % (ring.size() - 64);
        benchmark::ClobberMemory();
    }
}

}  // namespace

BENCHMARK(BM_HashLookup_Helper)->Name("Maps/hash_lookup/helper");
BENCHMARK(BM_HashLookup_Native)->Name("Maps/hash_lookup/native");
BENCHMARK(BM_HashUpdate_Helper)->Name("Maps/hash_update/helper");
BENCHMARK(BM_HashUpdate_Native)->Name("Maps/hash_update/native");
BENCHMARK(BM_ArrayLookup_Helper)->Name("Maps/array_lookup/helper");
BENCHMARK(BM_ArrayLookup_Native)->Name("Maps/array_lookup/native");
BENCHMARK(BM_RingbufOutput_Helper)->Name("Maps/ringbuf_output/helper");
BENCHMARK(BM_RingbufOutput_Native)->Name("Maps/ringbuf_output/native");

}  // namespace sockfilter::bench
