// SPDX-License-Identifier: MIT
// BPF_MAP_TYPE_LPM_TRIE (kernel/bpf/lpm_trie.c): longest-prefix match over keys
// `struct bpf_lpm_trie_key { u32 prefixlen; u8 data[]; }`, as the kernel's path-compressed
// binary trie with intermediate nodes, so that get_next_key visits keys in the kernel's order.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/maps/map.h"
#include "runtime/maps/map_internal.h"

namespace sockfilter::runtime {

/// LPM trie. Values live in the arena (max_entries slots); trie nodes (at most max_entries real
/// and max_entries - 1 intermediate) in a fixed pool. Bits are numbered from the most
/// significant bit of data[0], as the kernel's extract_bit does.
class LpmTrieMap final : public Map {
public:
    /// Whether this class implements `type`.
    [[nodiscard]] static bool implements(program::MapType type) { return type == program::MapType::LpmTrie; }
    /// trie_alloc's checks (BPF_F_NO_PREALLOC required, key 5..260 bytes).
    [[nodiscard]] static detail::CreateCheck check(const program::MapSpec& spec);

    /// Builds the empty trie.
    LpmTrieMap(const program::MapSpec& spec, const MapOptions& options);

    /// The value of the longest stored prefix matching the key's first prefixlen bits, or null.
    [[nodiscard]] std::uint8_t* lookup(const std::uint8_t* key) override;
    /// -EINVAL (flags, prefixlen too long), -EEXIST, -ENOENT (BPF_EXIST on a prefix not
    /// stored), -ENOSPC (max_entries prefixes stored).
    [[nodiscard]] std::int64_t update(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags) override;
    /// Deletes the exact prefix: 0, -ENOENT, or -EINVAL for a prefixlen too long.
    [[nodiscard]] std::int64_t remove(const std::uint8_t* key) override;
    /// Post-order (more specific prefixes first); an absent key restarts from the leftmost.
    [[nodiscard]] std::int64_t get_next_key(const std::uint8_t* key, std::uint8_t* next_key) override;

    /// Number of prefixes stored.
    [[nodiscard]] std::uint32_t size() const { return entries_; }

private:
    static constexpr std::uint32_t kNone = UINT32_MAX;

    struct Node {
        std::uint32_t prefixlen = 0;
        bool intermediate = false;
        std::uint32_t child[2] = {kNone, kNone};
        std::uint32_t value = kNone;  // arena slot of a real node
    };

    [[nodiscard]] std::uint8_t* data(std::uint32_t node) { return data_.data() + std::size_t{node} * data_size_; }
    [[nodiscard]] std::uint8_t* value_at(std::uint32_t slot) { return arena().data() + std::size_t{slot} * stride(); }
    [[nodiscard]] std::uint32_t match_len(std::uint32_t node, const std::uint8_t* key);
    [[nodiscard]] std::uint32_t new_node();
    void free_node(std::uint32_t node);
    [[nodiscard]] std::int64_t add_entry(std::uint64_t flags);
    void make_real(std::uint32_t node, const std::uint8_t* key, const std::uint8_t* value);

    std::uint32_t data_size_ = 0;
    std::uint32_t max_prefixlen_ = 0;
    std::uint32_t entries_ = 0;
    std::uint32_t root_ = kNone;
    std::vector<Node> nodes_;
    std::vector<std::uint8_t> data_;
    std::vector<std::uint32_t> free_nodes_;
    std::vector<std::uint32_t> free_values_;
};

}  // namespace sockfilter::runtime
