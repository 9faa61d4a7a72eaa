// SPDX-License-Identifier: MIT
// BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH (kernel/bpf/hashtab.c): a fixed
// pool of max_entries element slots, chained buckets over slot indices in the kernel's order, and
// for the LRU types exact least-recently-used eviction when the pool is empty.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/maps/map.h"
#include "runtime/maps/map_internal.h"

namespace sockfilter::runtime {

/// The four hash types. Buckets: roundup_pow_of_two(max_entries) of them, selected by
/// jhash2/jhash of the key with the map's seed (0 under BPF_F_ZERO_SEED, as in the kernel), new
/// and replaced elements go to the head of their bucket, get_next_key walks bucket 0 upwards:
/// with the same seed the iteration order is the kernel's. Values live in the arena, slot-major:
/// slot s of CPU c at (s * copies + c) * stride.
class HashMap final : public Map {
public:
    /// Whether this class implements `type`.
    [[nodiscard]] static bool implements(program::MapType type) {
        return type == program::MapType::Hash || type == program::MapType::PercpuHash ||
               type == program::MapType::LruHash || type == program::MapType::LruPercpuHash;
    }
    /// htab_map_alloc_check.
    [[nodiscard]] static detail::CreateCheck check(const program::MapSpec& spec);

    /// Builds the empty table with all max_entries slots free.
    HashMap(const program::MapSpec& spec, const MapOptions& options);

    /// The element's value (LRU types: also marks it most recently used), or null.
    [[nodiscard]] std::uint8_t* lookup(const std::uint8_t* key) override;
    /// Per-CPU types only.
    [[nodiscard]] std::uint8_t* lookup_percpu(const std::uint8_t* key, std::uint32_t cpu) override;
    /// -EINVAL (flags), -EEXIST (BPF_NOEXIST, present), -ENOENT (BPF_EXIST, absent), -E2BIG (no
    /// free slot; the LRU types evict the least recently used element instead).
    [[nodiscard]] std::int64_t update(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags) override;
    /// 0 or -ENOENT.
    [[nodiscard]] std::int64_t remove(const std::uint8_t* key) override;
    /// The kernel's bucket order; an absent key restarts from the first element; -ENOENT at the end.
    [[nodiscard]] std::int64_t get_next_key(const std::uint8_t* key, std::uint8_t* next_key) override;

    /// Number of elements present.
    [[nodiscard]] std::uint32_t size() const { return count_; }

protected:
    [[nodiscard]] std::int64_t do_lookup_user(const std::uint8_t* key, std::uint8_t* value) override;
    [[nodiscard]] std::int64_t do_update_user(const std::uint8_t* key, const std::uint8_t* value,
                                              std::uint64_t flags) override;
    [[nodiscard]] std::int64_t do_lookup_and_delete_user(const std::uint8_t* key, std::uint8_t* value,
                                                         std::uint64_t flags) override;

private:
    static constexpr std::uint32_t kNone = UINT32_MAX;

    [[nodiscard]] std::uint32_t hash_key(const std::uint8_t* key) const;
    [[nodiscard]] std::uint32_t find(const std::uint8_t* key, std::uint32_t hash) const;
    [[nodiscard]] std::uint8_t* key_at(std::uint32_t slot) { return keys_.data() + std::size_t{slot} * key_size(); }
    [[nodiscard]] const std::uint8_t* key_at(std::uint32_t slot) const {
        return keys_.data() + std::size_t{slot} * key_size();
    }
    [[nodiscard]] std::uint8_t* value_at(std::uint32_t slot, std::uint32_t cpu);
    void link_head(std::uint32_t slot);
    void unlink(std::uint32_t slot);
    [[nodiscard]] std::uint32_t take_slot();
    void release_slot(std::uint32_t slot);
    void lru_unlink(std::uint32_t slot);
    void lru_push_front(std::uint32_t slot);
    void write_value(std::uint32_t slot, const std::uint8_t* value, bool all_cpus, bool fresh);
    [[nodiscard]] std::int64_t update_impl(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags,
                                           bool all_cpus);
    void copy_out(std::uint32_t slot, std::uint8_t* value);

    bool lru_ = false;
    std::uint32_t seed_ = 0;
    std::uint32_t count_ = 0;
    std::vector<std::uint8_t> keys_;
    std::vector<std::uint32_t> hashes_;
    std::vector<std::uint32_t> buckets_;   // first slot of each bucket
    std::vector<std::uint32_t> chain_;     // next slot in the same bucket
    std::vector<std::uint32_t> free_;      // free slots, next one last
    std::vector<std::uint32_t> lru_prev_;  // towards the most recently used
    std::vector<std::uint32_t> lru_next_;  // towards the least recently used
    std::uint32_t lru_head_ = kNone;       // most recently used
    std::uint32_t lru_tail_ = kNone;       // least recently used: evicted first
};

}  // namespace sockfilter::runtime
