// SPDX-License-Identifier: MIT
// BPF_MAP_TYPE_QUEUE and STACK (kernel/bpf/queue_stack_maps.c) and BPF_MAP_TYPE_BLOOM_FILTER
// (kernel/bpf/bloom_filter.c): the keyless maps used through push, pop and peek.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/maps/map.h"
#include "runtime/maps/map_internal.h"

namespace sockfilter::runtime {

/// Queue (FIFO) and stack (LIFO) of max_entries values, in a ring of max_entries + 1 slots in
/// the arena as the kernel keeps it.
class QueueStackMap final : public Map {
public:
    /// Whether this class implements `type`.
    [[nodiscard]] static bool implements(program::MapType type) {
        return type == program::MapType::Queue || type == program::MapType::Stack;
    }
    /// queue_stack_map_alloc_check.
    [[nodiscard]] static detail::CreateCheck check(const program::MapSpec& spec);

    /// Builds the empty queue or stack.
    QueueStackMap(const program::MapSpec& spec, const MapOptions& options);

    /// Flags other than BPF_ANY/BPF_EXIST: -EINVAL; full: -E2BIG, or with BPF_EXIST the oldest
    /// value is overwritten.
    [[nodiscard]] std::int64_t push(const std::uint8_t* value, std::uint64_t flags) override;
    /// Queue: the oldest value; stack: the newest. Empty: `value` zero-filled, -ENOENT.
    [[nodiscard]] std::int64_t pop(std::uint8_t* value) override;
    /// As pop without removing.
    [[nodiscard]] std::int64_t peek(std::uint8_t* value) override;
    /// -EINVAL (queue_stack_map_delete_elem).
    [[nodiscard]] std::int64_t remove(const std::uint8_t* key) override;
    /// -EINVAL (queue_stack_map_get_next_key).
    [[nodiscard]] std::int64_t get_next_key(const std::uint8_t* key, std::uint8_t* next_key) override;
    /// -EINVAL (queue_stack_map_update_elem; the syscall's update pushes instead, see update_user).
    [[nodiscard]] std::int64_t update(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags) override;

    /// Number of values held.
    [[nodiscard]] std::uint32_t size() const { return head_ >= tail_ ? head_ - tail_ : head_ + slots_ - tail_; }

protected:
    /// The syscall's lookup is a peek.
    [[nodiscard]] std::int64_t do_lookup_user(const std::uint8_t* key, std::uint8_t* value) override;
    /// The syscall's update is a push with the same flags.
    [[nodiscard]] std::int64_t do_update_user(const std::uint8_t* key, const std::uint8_t* value,
                                              std::uint64_t flags) override;
    /// The syscall's lookup-and-delete is a pop.
    [[nodiscard]] std::int64_t do_lookup_and_delete_user(const std::uint8_t* key, std::uint8_t* value,
                                                         std::uint64_t flags) override;

private:
    [[nodiscard]] std::uint8_t* slot(std::uint32_t i) { return arena().data() + std::size_t{i} * stride(); }
    [[nodiscard]] std::int64_t take(std::uint8_t* value, bool remove_it);

    std::uint32_t slots_ = 0;  // max_entries + 1
    std::uint32_t head_ = 0;   // next slot to write
    std::uint32_t tail_ = 0;   // oldest value
};

/// Bloom filter: a bitset of the kernel's size, nr_hash_funcs = map_extra (5 when 0) jhash
/// probes seeded with seed + i. push adds, peek tests; with BPF_F_ZERO_SEED the bits (and so
/// the false positives) are the kernel's.
class BloomFilterMap final : public Map {
public:
    /// Whether this class implements `type`.
    [[nodiscard]] static bool implements(program::MapType type) { return type == program::MapType::BloomFilter; }
    /// bloom_map_alloc's checks.
    [[nodiscard]] static detail::CreateCheck check(const program::MapSpec& spec);
    /// Bytes of the bitset the kernel allocates for `spec`.
    [[nodiscard]] static std::uint64_t bitset_bytes(const program::MapSpec& spec);

    /// Builds the empty filter.
    BloomFilterMap(const program::MapSpec& spec, const MapOptions& options);

    /// Flags other than BPF_ANY: -EINVAL; else sets the value's bits, 0.
    [[nodiscard]] std::int64_t push(const std::uint8_t* value, std::uint64_t flags) override;
    /// -EOPNOTSUPP.
    [[nodiscard]] std::int64_t pop(std::uint8_t* value) override;
    /// 0 if `value` may be present, -ENOENT if it is not.
    [[nodiscard]] std::int64_t peek(std::uint8_t* value) override;
    /// -EOPNOTSUPP.
    [[nodiscard]] std::int64_t remove(const std::uint8_t* key) override;
    /// -EOPNOTSUPP.
    [[nodiscard]] std::int64_t get_next_key(const std::uint8_t* key, std::uint8_t* next_key) override;
    /// -EINVAL.
    [[nodiscard]] std::int64_t update(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags) override;

    /// Number of hash functions in use.
    [[nodiscard]] std::uint32_t hash_funcs() const { return nr_hash_funcs_; }

protected:
    /// The syscall's lookup is a peek of the value buffer's contents.
    [[nodiscard]] std::int64_t do_lookup_user(const std::uint8_t* key, std::uint8_t* value) override;
    /// The syscall's update is a push.
    [[nodiscard]] std::int64_t do_update_user(const std::uint8_t* key, const std::uint8_t* value,
                                              std::uint64_t flags) override;

private:
    [[nodiscard]] std::uint32_t bit(const std::uint8_t* value, std::uint32_t i) const;

    std::uint32_t nr_hash_funcs_ = 5;
    std::uint32_t seed_ = 0;
    std::uint32_t mask_ = 0;
    std::vector<std::uint64_t> bits_;
};

}  // namespace sockfilter::runtime
