// SPDX-License-Identifier: MIT
// Maps against the running kernel: the same seeded random sequence of syscall-side operations
// (update with every flag, lookup, delete, get_next_key, lookup-and-delete, push/pop/peek) on a
// kernel map and on ours, comparing every return code, every value read and the final contents;
// and BPF_MAP_CREATE's verdict (errno) on good and bad definitions.
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernel_env.h"
#include "runtime/maps/map.h"

namespace sockfilter::testing {
namespace {

using program::MapSpec;
using program::MapType;
using Bytes = std::vector<std::uint8_t>;

constexpr std::uint32_t kZeroSeed = 1U << 6;

/// A kernel map fd, closed on destruction.
struct KernelMap {
    int fd = -1;
    KernelMap() = default;
    KernelMap(const KernelMap&) = delete;
    KernelMap& operator=(const KernelMap&) = delete;
    ~KernelMap() {
        if (fd >= 0) {
            close(fd);
        }
    }
};

/// BPF_MAP_CREATE for `spec`: the fd, or -errno.
int kernel_create(const MapSpec& spec) {
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = spec.map_flags, .map_extra = spec.map_extra);
    return bpf_map_create(static_cast<bpf_map_type>(spec.type), "sf_diff", spec.key_size, spec.value_size,
                          spec.max_entries, &opts);
}

std::string hex(const Bytes& b) {
    std::string s;
    for (auto c : b) {
        s += fmt::format("{:02x}", c);
    }
    return s;
}

/// Runs the pair through one scenario and compares.
class MapsDiff : public KernelTest {
protected:
    void SetUp() override {
        KernelTest::SetUp();
        if (IsSkipped() || HasFailure()) {
            return;
        }
        // One CPU for the whole test: the kernel's LRU free lists are per CPU.
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(0, &set);
        ASSERT_EQ(sched_setaffinity(0, sizeof set, &set), 0);
        cpus_ = static_cast<std::uint32_t>(libbpf_num_possible_cpus());
    }

    void TearDown() override {
        if (kernel_.fd >= 0) {
            close(kernel_.fd);
            kernel_.fd = -1;
        }
        KernelTest::TearDown();
    }

    /// Creates both maps; false (with a failure) if either refuses.
    bool create(const MapSpec& spec) {
        spec_ = spec;
        const int fd = kernel_create(spec);
        if (fd < 0) {
            ADD_FAILURE() << "kernel refused " << program::map_type_name(spec.type) << ": " << strerror(-fd);
            return false;
        }
        kernel_.fd = fd;
        runtime::MapOptions options;
        options.cpus = cpus_;
        auto m = runtime::create_map(spec, options);
        if (!m) {
            ADD_FAILURE() << m.error().render();
            return false;
        }
        ours_ = std::move(*m);
        return true;
    }

    Bytes random_bytes(std::size_t n) {
        Bytes b(n);
        for (auto& c : b) {
            c = static_cast<std::uint8_t>(rng_());
        }
        return b;
    }

    std::uint64_t random_flags() {
        // Mostly valid flags, sometimes BPF_F_LOCK or an unknown bit.
        const std::uint32_t r = rng_() % 20;
        if (r < 17) {
            return r % 3;
        }
        return r == 17 ? 4 : (r == 18 ? 3 : 8);
    }

    /// One keyed operation on both maps, compared. `key` may be empty (null key).
    void keyed_op(const Bytes& key_in, const std::string& where) {
        const std::size_t vsize = ours_->user_value_size();
        const std::uint8_t* key = key_in.empty() ? nullptr : key_in.data();
        const std::uint32_t op = rng_() % 10;
        if (op < 4) {
            const Bytes value = random_bytes(vsize);
            const std::uint64_t flags = random_flags();
            const int k = bpf_map_update_elem(kernel_.fd, key, value.data(), flags);
            const auto o = ours_->update_user(key, value.data(), flags);
            ASSERT_EQ(o, k) << where << ": update flags " << flags << " key " << hex(key_in);
            ++outcomes_[k];
        } else if (op < 6) {
            Bytes kv(vsize, 0xee);
            Bytes ov(vsize, 0xee);
            const int k = bpf_map_lookup_elem(kernel_.fd, key, kv.data());
            const auto o = ours_->lookup_user(key, ov.data());
            ASSERT_EQ(o, k) << where << ": lookup key " << hex(key_in);
            lookups_found_ += k == 0;
            if (k == 0) {
                ASSERT_EQ(hex(ov), hex(kv)) << where << ": lookup value, key " << hex(key_in);
            }
        } else if (op < 8) {
            const int k = bpf_map_delete_elem(kernel_.fd, key);
            const auto o = ours_->remove_user(key);
            ASSERT_EQ(o, k) << where << ": delete key " << hex(key_in);
        } else if (op < 9) {
            if (!ordered_) {
                return;  // with a random seed only the final set of keys is comparable
            }
            const bool null_key = rng_() % 4 == 0;
            Bytes kn(spec_.key_size, 0);
            Bytes on(spec_.key_size, 0);
            const int k = bpf_map_get_next_key(kernel_.fd, null_key ? nullptr : key, kn.data());
            const auto o = ours_->get_next_key(null_key ? nullptr : key, on.data());
            ASSERT_EQ(o, k) << where << ": get_next_key from " << (null_key ? "null" : hex(key_in));
            if (k == 0) {
                ASSERT_EQ(hex(on), hex(kn)) << where << ": next key";
            }
        } else {
            Bytes kv(vsize, 0xee);
            Bytes ov(vsize, 0xee);
            const int k = bpf_map_lookup_and_delete_elem(kernel_.fd, key, kv.data());
            const auto o = ours_->lookup_and_delete_user(key, ov.data(), 0);
            ASSERT_EQ(o, k) << where << ": lookup_and_delete key " << hex(key_in);
            if (k == 0) {
                ASSERT_EQ(hex(ov), hex(kv)) << where << ": lookup_and_delete value";
            }
        }
    }

    /// Walks get_next_key from null on both maps: the keys in order.
    std::pair<std::vector<Bytes>, std::vector<Bytes>> walk() {
        std::vector<Bytes> k_keys;
        std::vector<Bytes> o_keys;
        Bytes next(spec_.key_size);
        const std::uint8_t* prev = nullptr;
        Bytes cur;
        while (k_keys.size() < 100000 && bpf_map_get_next_key(kernel_.fd, prev, next.data()) == 0) {
            k_keys.push_back(next);
            cur = next;
            prev = cur.data();
        }
        prev = nullptr;
        while (o_keys.size() < 100000 && ours_->get_next_key(prev, next.data()) == 0) {
            o_keys.push_back(next);
            cur = next;
            prev = cur.data();
        }
        return {k_keys, o_keys};
    }

    /// Final contents: same keys (in the same order when `ordered`), same values.
    void compare_contents(bool ordered) {
        auto [k_keys, o_keys] = walk();
        if (!ordered) {
            std::sort(k_keys.begin(), k_keys.end());
            std::sort(o_keys.begin(), o_keys.end());
        }
        ASSERT_EQ(o_keys.size(), k_keys.size());
        for (std::size_t i = 0; i < k_keys.size(); ++i) {
            ASSERT_EQ(hex(o_keys[i]), hex(k_keys[i])) << "key #" << i;
            Bytes kv(ours_->user_value_size());
            Bytes ov(ours_->user_value_size());
            ASSERT_EQ(bpf_map_lookup_elem(kernel_.fd, k_keys[i].data(), kv.data()), 0);
            ASSERT_EQ(ours_->lookup_user(o_keys[i].data(), ov.data()), 0);
            ASSERT_EQ(hex(ov), hex(kv)) << "value of key " << hex(k_keys[i]);
        }
    }

    /// `ops` random keyed operations with keys from `key_gen`.
    template <class KeyGen>
    void run_keyed(const MapSpec& spec, int ops, KeyGen key_gen, bool ordered) {
        if (!create(spec)) {
            return;
        }
        ordered_ = ordered;
        for (int i = 0; i < ops; ++i) {
            keyed_op(key_gen(), fmt::format("{} op {}", program::map_type_name(spec.type), i));
            if (HasFatalFailure()) {
                return;
            }
        }
        compare_contents(ordered);
        // The sequence must have exercised both success and the errors, not only one outcome.
        EXPECT_GT(outcomes_[0], ops / 40) << "too few successful updates";
        EXPECT_GE(outcomes_.size(), 3U) << "too few distinct update outcomes";
        EXPECT_GT(lookups_found_, ops / 40) << "too few successful lookups";
    }

    Bytes u32_key(std::uint32_t domain) {
        Bytes k(4);
        const std::uint32_t v = rng_() % domain;
        std::memcpy(k.data(), &v, 4);
        return k;
    }

    std::uint32_t cpus_ = 1;
    bool ordered_ = true;
    std::map<int, int> outcomes_;  // update return code -> count
    int lookups_found_ = 0;
    /// 32-bit draws (std::mt19937's result_type is wider on LP64).
    struct Rng {
        std::mt19937 engine{20240611};
        std::uint32_t operator()() { return static_cast<std::uint32_t>(engine()); }
    } rng_;
    MapSpec spec_;
    KernelMap kernel_;
    std::unique_ptr<runtime::Map> ours_;
};

MapSpec make(MapType type, std::uint32_t key, std::uint32_t value, std::uint32_t max, std::uint32_t flags = 0,
             std::uint32_t extra = 0) {
    MapSpec s;
    s.name = "sf_diff";
    s.type = type;
    s.key_size = key;
    s.value_size = value;
    s.max_entries = max;
    s.map_flags = flags;
    s.map_extra = extra;
    return s;
}

TEST_F(MapsDiff, Array) {
    run_keyed(make(MapType::Array, 4, 13, 40), 3000, [&] { return u32_key(48); }, true);
}

TEST_F(MapsDiff, PercpuArray) {
    run_keyed(make(MapType::PercpuArray, 4, 12, 40), 3000, [&] { return u32_key(48); }, true);
}

TEST_F(MapsDiff, HashWordKeys) {
    run_keyed(make(MapType::Hash, 4, 12, 64, kZeroSeed), 4000, [&] { return u32_key(100); }, true);
}

TEST_F(MapsDiff, HashOddKeys) {
    run_keyed(make(MapType::Hash, 6, 5, 50, kZeroSeed), 4000, [&] {
        Bytes k = random_bytes(6);
        k[0] = static_cast<std::uint8_t>(k[0] % 80);
        std::fill(k.begin() + 1, k.end(), 0x5a);
        return k;
    }, true);
}

TEST_F(MapsDiff, HashLongKeys) {
    run_keyed(make(MapType::Hash, 20, 8, 30, kZeroSeed), 3000, [&] {
        Bytes k(20, 0x11);
        k[17] = static_cast<std::uint8_t>(rng_() % 40);
        return k;
    }, true);
}

TEST_F(MapsDiff, HashRandomSeedAsSets) {
    run_keyed(make(MapType::Hash, 8, 16, 64), 3000, [&] {
        Bytes k(8, 0);
        k[3] = static_cast<std::uint8_t>(rng_() % 90);
        return k;
    }, false);
}

TEST_F(MapsDiff, PercpuHash) {
    run_keyed(make(MapType::PercpuHash, 8, 12, 64, kZeroSeed), 4000, [&] {
        Bytes k(8, 0);
        k[0] = static_cast<std::uint8_t>(rng_() % 90);
        return k;
    }, true);
}

TEST_F(MapsDiff, LruHashBelowCapacity) {
    run_keyed(make(MapType::LruHash, 4, 8, 1024, kZeroSeed), 4000, [&] { return u32_key(200); }, true);
}

TEST_F(MapsDiff, LruPercpuHashBelowCapacity) {
    run_keyed(make(MapType::LruPercpuHash, 4, 8, 1024, kZeroSeed), 3000, [&] { return u32_key(200); }, true);
}

TEST_F(MapsDiff, LpmTrie) {
    // Data bytes from a small alphabet so that prefixes nest and share paths.
    static constexpr std::uint8_t kAlphabet[] = {0x00, 0x80, 0xc0, 0xff, 0x0a};
    run_keyed(make(MapType::LpmTrie, 8, 8, 48, 1U << 0), 5000, [&] {
        Bytes k(8);
        const std::uint32_t plen = rng_() % 35;  // 33, 34: past max_prefixlen
        std::memcpy(k.data(), &plen, 4);
        for (int i = 4; i < 8; ++i) {
            k[static_cast<std::size_t>(i)] = kAlphabet[rng_() % 5];
        }
        return k;
    }, true);
}

/// Queue/stack: push (update with a null key), pop (lookup-and-delete), peek (lookup), and the
/// keyed operations they refuse.
class QueueDiff : public MapsDiff {
public:
    void run(MapType type) {
        if (!create(make(type, 0, 6, 16))) {
            return;
        }
        for (int i = 0; i < 4000; ++i) {
            const std::string where = fmt::format("{} op {}", program::map_type_name(type), i);
            const std::uint32_t op = rng_() % 7;
            if (op < 3) {
                const Bytes v = random_bytes(6);
                const std::uint64_t flags = rng_() % 5;
                ASSERT_EQ(ours_->update_user(nullptr, v.data(), flags), bpf_map_update_elem(kernel_.fd, nullptr, v.data(), flags))
                    << where << ": push flags " << flags;
            } else if (op < 5) {
                Bytes kv(6, 0xee);
                Bytes ov(6, 0xee);
                const bool pop = op == 3;
                const int k = pop ? bpf_map_lookup_and_delete_elem(kernel_.fd, nullptr, kv.data())
                                  : bpf_map_lookup_elem(kernel_.fd, nullptr, kv.data());
                const auto o = pop ? ours_->lookup_and_delete_user(nullptr, ov.data(), 0) : ours_->lookup_user(nullptr, ov.data());
                ASSERT_EQ(o, k) << where << (pop ? ": pop" : ": peek");
                if (k == 0) {
                    ASSERT_EQ(hex(ov), hex(kv)) << where;
                }
            } else if (op == 5) {
                ASSERT_EQ(ours_->remove_user(nullptr), bpf_map_delete_elem(kernel_.fd, nullptr)) << where << ": delete";
            } else {
                std::uint8_t dummy[4];
                ASSERT_EQ(ours_->get_next_key(nullptr, dummy), bpf_map_get_next_key(kernel_.fd, nullptr, dummy))
                    << where << ": get_next_key";
            }
        }
    }
};

TEST_F(QueueDiff, Queue) { run(MapType::Queue); }

TEST_F(QueueDiff, Stack) { run(MapType::Stack); }

class BloomDiff : public MapsDiff {
public:
    void run(std::uint32_t value_size, std::uint32_t extra, std::uint32_t max) {
        if (!create(make(MapType::BloomFilter, 0, value_size, max, kZeroSeed, extra))) {
            return;
        }
        auto value = [&] {
            Bytes v(value_size, 0x42);
            const std::uint32_t r = rng_() % 4000;
            std::memcpy(v.data(), &r, std::min<std::size_t>(4, value_size));
            return v;
        };
        int positives = 0;
        for (int i = 0; i < 3000; ++i) {
            const std::string where = fmt::format("bloom op {}", i);
            Bytes v = value();
            if (rng_() % 3 == 0) {
                const std::uint64_t flags = rng_() % 8 == 0 ? 1 : 0;
                ASSERT_EQ(ours_->update_user(nullptr, v.data(), flags), bpf_map_update_elem(kernel_.fd, nullptr, v.data(), flags))
                    << where << ": push";
            } else {
                Bytes kv = v;
                const int k = bpf_map_lookup_elem(kernel_.fd, nullptr, kv.data());
                ASSERT_EQ(ours_->lookup_user(nullptr, v.data()), k) << where << ": peek " << hex(v);
                positives += k == 0;
            }
        }
        std::uint8_t dummy[4];
        EXPECT_EQ(ours_->get_next_key(nullptr, dummy), bpf_map_get_next_key(kernel_.fd, nullptr, dummy));
        EXPECT_EQ(ours_->remove_user(nullptr), bpf_map_delete_elem(kernel_.fd, nullptr));
        EXPECT_GT(positives, 0);
    }
};

TEST_F(BloomDiff, WordValues) { run(8, 0, 300); }

TEST_F(BloomDiff, OddValuesThreeHashes) { run(7, 3, 200); }

TEST_F(BloomDiff, SmallFilter) { run(4, 1, 10); }

/// BPF_MAP_CREATE's verdicts: errno 0 (created) or the kernel's errno, ours and the kernel's.
class CreateDiff : public KernelTest {};

TEST_F(CreateDiff, ErrnoMatchesKernel) {
    constexpr std::uint32_t kNoPrealloc = 1U << 0;
    constexpr std::uint32_t kNoCommonLru = 1U << 1;
    constexpr std::uint32_t kRdonlyProg = 1U << 7;
    constexpr std::uint32_t kWronlyProg = 1U << 8;
    constexpr std::uint32_t kMmapable = 1U << 10;
    constexpr std::uint32_t kInnerMap = 1U << 12;
    const std::vector<MapSpec> cases = {
        make(MapType::Array, 4, 8, 1),
        make(MapType::Array, 8, 8, 1),
        make(MapType::Array, 4, 0, 1),
        make(MapType::Array, 4, 8, 0),
        make(MapType::Array, 4, 8, 4, kNoPrealloc),
        make(MapType::Array, 4, 8, 4, kMmapable),
        make(MapType::Array, 4, 8, 4, kInnerMap),
        make(MapType::Array, 4, 8, 4, kRdonlyProg | kWronlyProg),
        make(MapType::Array, 4, 8, 4, 0, 1),
        make(MapType::Array, 4, 8, 4, 1U << 20),
        make(MapType::PercpuArray, 4, 32768, 1),
        make(MapType::PercpuArray, 4, 32769, 1),
        make(MapType::PercpuArray, 4, 8, 1, kMmapable),
        make(MapType::Hash, 4, 8, 1),
        make(MapType::Hash, 0, 8, 1),
        make(MapType::Hash, 4, 0, 1),
        make(MapType::Hash, 4, 8, 0),
        make(MapType::Hash, 4, 8, 1, kNoCommonLru),
        make(MapType::Hash, 4, 8, 1, kNoPrealloc),
        make(MapType::Hash, 4, 8, 1, kMmapable),
        make(MapType::Hash, 8, 4194304 - 48 - 8, 1),
        make(MapType::Hash, 8, 4194304 - 48 - 9, 1),
        make(MapType::PercpuHash, 4, 32769, 1),
        make(MapType::LruHash, 4, 8, 1, kNoPrealloc),
        make(MapType::LruHash, 4, 8, 16, kNoCommonLru),
        make(MapType::Queue, 0, 8, 4),
        make(MapType::Queue, 4, 8, 4),
        make(MapType::Queue, 0, 0, 4),
        make(MapType::Queue, 0, 8, 0),
        make(MapType::Stack, 0, 8, 4, kNoPrealloc),
        make(MapType::LpmTrie, 8, 8, 4, kNoPrealloc),
        make(MapType::LpmTrie, 8, 8, 4),
        make(MapType::LpmTrie, 4, 8, 4, kNoPrealloc),
        make(MapType::LpmTrie, 5, 8, 4, kNoPrealloc),
        make(MapType::LpmTrie, 260, 8, 4, kNoPrealloc),
        make(MapType::LpmTrie, 261, 8, 4, kNoPrealloc),
        make(MapType::LpmTrie, 8, 0, 4, kNoPrealloc),
        make(MapType::LpmTrie, 8, 8, 0, kNoPrealloc),
        make(MapType::BloomFilter, 0, 8, 100),
        make(MapType::BloomFilter, 4, 8, 100),
        make(MapType::BloomFilter, 0, 0, 100),
        make(MapType::BloomFilter, 0, 8, 0),
        make(MapType::BloomFilter, 0, 8, 100, 0, 15),
        make(MapType::BloomFilter, 0, 8, 100, 0, 16),
        make(MapType::BloomFilter, 0, 8, 100, kNoPrealloc),
        make(MapType::Ringbuf, 0, 0, 4096),
        make(MapType::Ringbuf, 0, 0, 8192 + 4096),
        make(MapType::Ringbuf, 0, 0, 2048),
        make(MapType::Ringbuf, 4, 0, 4096),
        make(MapType::Ringbuf, 0, 0, 4096, kNoPrealloc),
        make(MapType::UserRingbuf, 0, 0, 4096),
        make(MapType::UserRingbuf, 0, 8, 4096),
        make(MapType::ProgArray, 4, 4, 4),
        make(MapType::ProgArray, 4, 8, 4),
        make(MapType::ProgArray, 4, 4, 4, kRdonlyProg),
        make(MapType::PerfEventArray, 4, 4, 4),
        make(MapType::PerfEventArray, 4, 4, 4, 1U << 11),
        make(MapType::Array, 4, 4, 4, 1U << 11),
        make(MapType::Unspec, 4, 4, 4),
    };
    runtime::MapOptions options;
    options.cpus = static_cast<std::uint32_t>(libbpf_num_possible_cpus());
    for (const MapSpec& spec : cases) {
        const int fd = kernel_create(spec);
        if (fd >= 0) {
            close(fd);
        }
        const int kernel_errno = fd >= 0 ? 0 : -fd;
        auto ours = runtime::create_map(spec, options);
        const int our_errno = ours ? 0 : ours.error().sys_errno;
        EXPECT_EQ(our_errno, kernel_errno)
            << program::map_type_name(spec.type) << " key " << spec.key_size << " value " << spec.value_size << " max "
            << spec.max_entries << " flags " << fmt::format("{:#x}", spec.map_flags) << " extra " << spec.map_extra
            << (ours ? std::string() : ": " + ours.error().render());
    }
}

}  // namespace
}  // namespace sockfilter::testing
