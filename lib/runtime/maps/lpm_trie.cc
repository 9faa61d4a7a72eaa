// SPDX-License-Identifier: MIT
// The LPM trie: update, delete, lookup and get_next_key with the kernel's node structure.
#include "runtime/maps/lpm_trie.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "support/assert.h"
#include "support/bytes.h"

namespace sockfilter::runtime {

namespace {

constexpr std::uint32_t kLpmFlags = program::kMapNoPrealloc | kMapNumaNode | kMapAccessMask;
constexpr std::uint32_t kDataSizeMax = 256;
constexpr std::uint32_t kKeyHeader = 4;  // u32 prefixlen
/// LPM_VAL_SIZE_MAX: KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - sizeof(struct lpm_trie_node) (32).
constexpr std::uint64_t kValueSizeMax = detail::kKmallocMax - kDataSizeMax - 32;

bool extract_bit(const std::uint8_t* data, std::uint32_t index) {
    return ((data[index / 8] >> (7 - index % 8)) & 1U) != 0;
}

}  // namespace

detail::CreateCheck LpmTrieMap::check(const program::MapSpec& spec) {
    if (spec.max_entries == 0) {
        return detail::Refusal{EINVAL, "max_entries must not be 0"};
    }
    if ((spec.map_flags & program::kMapNoPrealloc) == 0) {
        return detail::Refusal{EINVAL, "BPF_F_NO_PREALLOC is required"};
    }
    if (auto r = detail::check_flag_mask(spec.map_flags, kLpmFlags)) {
        return r;
    }
    if (auto r = detail::check_access_flags(spec.map_flags)) {
        return r;
    }
    if (spec.key_size < kKeyHeader + 1 || spec.key_size > kKeyHeader + kDataSizeMax) {
        return detail::Refusal{EINVAL, fmt::format("key_size must be {}..{} (got {})", kKeyHeader + 1,
                                                   kKeyHeader + kDataSizeMax, spec.key_size)};
    }
    if (spec.value_size < 1 || spec.value_size > kValueSizeMax) {
        return detail::Refusal{EINVAL, fmt::format("value_size must be 1..{} (got {})", kValueSizeMax, spec.value_size)};
    }
    return std::nullopt;
}

LpmTrieMap::LpmTrieMap(const program::MapSpec& spec, const MapOptions& options)
    : Map(spec, options, std::size_t{spec.max_entries} * detail::round8(spec.value_size)),
      data_size_(spec.key_size - kKeyHeader),
      max_prefixlen_((spec.key_size - kKeyHeader) * 8),
      nodes_(std::size_t{spec.max_entries} * 2),
      data_(std::size_t{spec.max_entries} * 2 * (spec.key_size - kKeyHeader)) {
    for (std::size_t n = nodes_.size(); n-- > 0;) {
        free_nodes_.push_back(static_cast<std::uint32_t>(n));
    }
    for (std::uint32_t v = spec.max_entries; v-- > 0;) {
        free_values_.push_back(v);
    }
}

std::uint32_t LpmTrieMap::match_len(std::uint32_t node, const std::uint8_t* key) {
    const std::uint32_t limit = std::min(nodes_[node].prefixlen, load_le<std::uint32_t>(key));
    const std::uint8_t* a = data(node);
    const std::uint8_t* b = key + kKeyHeader;
    std::uint32_t matched = 0;
    for (std::uint32_t i = 0; i < data_size_ && matched < limit; ++i) {
        const auto diff = static_cast<std::uint8_t>(a[i] ^ b[i]);
        if (diff != 0) {
            matched += static_cast<std::uint32_t>(std::countl_zero(diff));
            break;
        }
        matched += 8;
    }
    return std::min(matched, limit);
}

std::uint32_t LpmTrieMap::new_node() {
    SF_ASSERT(!free_nodes_.empty());
    const std::uint32_t n = free_nodes_.back();
    free_nodes_.pop_back();
    nodes_[n] = Node{};
    return n;
}

void LpmTrieMap::free_node(std::uint32_t node) {
    if (nodes_[node].value != kNone) {
        free_values_.push_back(nodes_[node].value);
    }
    nodes_[node] = Node{};
    free_nodes_.push_back(node);
}

std::int64_t LpmTrieMap::add_entry(std::uint64_t flags) {
    if (flags == kBpfExist) {
        return -ENOENT;
    }
    if (entries_ == max_entries()) {
        return -ENOSPC;
    }
    ++entries_;
    return 0;
}

void LpmTrieMap::make_real(std::uint32_t node, const std::uint8_t* key, const std::uint8_t* value) {
    Node& n = nodes_[node];
    n.prefixlen = load_le<std::uint32_t>(key);
    n.intermediate = false;
    if (n.value == kNone) {
        SF_ASSERT(!free_values_.empty());
        n.value = free_values_.back();
        free_values_.pop_back();
    }
    // The kernel keeps the whole key, bits past prefixlen included; get_next_key returns them.
    std::memcpy(data(node), key + kKeyHeader, data_size_);
    std::memcpy(value_at(n.value), value, value_size());
}

std::uint8_t* LpmTrieMap::lookup(const std::uint8_t* key) {
    if (load_le<std::uint32_t>(key) > max_prefixlen_) {
        return nullptr;  // measured on 6.18: a prefixlen past the data matches nothing
    }
    std::uint32_t found = kNone;
    for (std::uint32_t n = root_; n != kNone;) {
        const std::uint32_t matchlen = match_len(n, key);
        if (matchlen == max_prefixlen_) {
            found = n;
            break;
        }
        if (matchlen < nodes_[n].prefixlen) {
            break;
        }
        if (!nodes_[n].intermediate) {
            found = n;
        }
        n = nodes_[n].child[extract_bit(key + kKeyHeader, nodes_[n].prefixlen) ? 1 : 0];
    }
    return found == kNone ? nullptr : value_at(nodes_[found].value);
}

std::int64_t LpmTrieMap::update(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags) {
    if (flags > kBpfExist) {
        return -EINVAL;
    }
    const std::uint32_t prefixlen = load_le<std::uint32_t>(key);
    if (prefixlen > max_prefixlen_) {
        return -EINVAL;
    }
    std::uint32_t* slot = &root_;
    std::uint32_t node = kNone;
    std::uint32_t matchlen = 0;
    while ((node = *slot) != kNone) {
        matchlen = match_len(node, key);
        if (nodes_[node].prefixlen != matchlen || nodes_[node].prefixlen == prefixlen) {
            break;
        }
        slot = &nodes_[node].child[extract_bit(key + kKeyHeader, nodes_[node].prefixlen) ? 1 : 0];
    }
    if (node == kNone) {
        if (const auto rc = add_entry(flags); rc != 0) {
            return rc;
        }
        const std::uint32_t fresh = new_node();
        make_real(fresh, key, value);
        *slot = fresh;
        return 0;
    }
    if (nodes_[node].prefixlen == matchlen) {
        // The same prefix: replace the element, or fill the intermediate node.
        if (!nodes_[node].intermediate) {
            if (flags == kBpfNoExist) {
                return -EEXIST;
            }
        } else if (const auto rc = add_entry(flags); rc != 0) {
            return rc;
        }
        make_real(node, key, value);
        return 0;
    }
    if (const auto rc = add_entry(flags); rc != 0) {
        return rc;
    }
    const std::uint32_t fresh = new_node();
    make_real(fresh, key, value);
    if (matchlen == prefixlen) {
        // The new prefix covers the node: it becomes the node's parent.
        nodes_[fresh].child[extract_bit(data(node), matchlen) ? 1 : 0] = node;
        *slot = fresh;
        return 0;
    }
    const std::uint32_t im = new_node();
    nodes_[im].prefixlen = matchlen;
    nodes_[im].intermediate = true;
    std::memcpy(data(im), data(node), data_size_);
    if (extract_bit(key + kKeyHeader, matchlen)) {
        nodes_[im].child[0] = node;
        nodes_[im].child[1] = fresh;
    } else {
        nodes_[im].child[0] = fresh;
        nodes_[im].child[1] = node;
    }
    *slot = im;
    return 0;
}

std::int64_t LpmTrieMap::remove(const std::uint8_t* key) {
    const std::uint32_t prefixlen = load_le<std::uint32_t>(key);
    if (prefixlen > max_prefixlen_) {
        return -EINVAL;
    }
    std::uint32_t* trim = &root_;
    std::uint32_t* trim2 = trim;
    std::uint32_t parent = kNone;
    std::uint32_t node = kNone;
    std::uint32_t matchlen = 0;
    while ((node = *trim) != kNone) {
        matchlen = match_len(node, key);
        if (nodes_[node].prefixlen != matchlen || nodes_[node].prefixlen == prefixlen) {
            break;
        }
        parent = node;
        trim2 = trim;
        trim = &nodes_[node].child[extract_bit(key + kKeyHeader, nodes_[node].prefixlen) ? 1 : 0];
    }
    if (node == kNone || nodes_[node].prefixlen != prefixlen || nodes_[node].prefixlen != matchlen ||
        nodes_[node].intermediate) {
        return -ENOENT;
    }
    --entries_;
    Node& n = nodes_[node];
    if (n.child[0] != kNone && n.child[1] != kNone) {
        n.intermediate = true;
        free_values_.push_back(n.value);
        n.value = kNone;
        return 0;
    }
    if (parent != kNone && nodes_[parent].intermediate && n.child[0] == kNone && n.child[1] == kNone) {
        // Drop the intermediate parent too and promote the sibling.
        const Node& p = nodes_[parent];
        *trim2 = p.child[0] == node ? p.child[1] : p.child[0];
        free_node(parent);
        free_node(node);
        return 0;
    }
    *trim = n.child[0] != kNone ? n.child[0] : n.child[1];
    free_node(node);
    return 0;
}

std::int64_t LpmTrieMap::get_next_key(const std::uint8_t* key, std::uint8_t* next_key) {
    if (root_ == kNone) {
        return -ENOENT;
    }
    std::uint32_t search_root = root_;
    std::uint32_t next = kNone;
    bool leftmost = key == nullptr || load_le<std::uint32_t>(key) > max_prefixlen_;
    if (!leftmost) {
        const std::uint32_t prefixlen = load_le<std::uint32_t>(key);
        std::vector<std::uint32_t> stack;
        std::uint32_t node = root_;
        std::uint32_t matchlen = 0;
        while (node != kNone) {
            stack.push_back(node);
            matchlen = match_len(node, key);
            if (nodes_[node].prefixlen != matchlen || nodes_[node].prefixlen == prefixlen) {
                break;
            }
            node = nodes_[node].child[extract_bit(key + kKeyHeader, nodes_[node].prefixlen) ? 1 : 0];
        }
        if (node == kNone || nodes_[node].prefixlen != matchlen || nodes_[node].intermediate) {
            leftmost = true;
        } else {
            // The next node in post-order after the matched one.
            node = stack.back();
            for (std::size_t depth = stack.size() - 1; depth > 0 && next == kNone && !leftmost; --depth) {
                const std::uint32_t parent = stack[depth - 1];
                if (nodes_[parent].child[0] == node && nodes_[parent].child[1] != kNone) {
                    search_root = nodes_[parent].child[1];
                    leftmost = true;
                } else if (!nodes_[parent].intermediate) {
                    next = parent;
                } else {
                    node = parent;
                }
            }
            if (next == kNone && !leftmost) {
                return -ENOENT;
            }
        }
    }
    if (leftmost) {
        // The leftmost real node: intermediate nodes always have two children.
        for (std::uint32_t n = search_root; n != kNone;) {
            if (nodes_[n].intermediate) {
                n = nodes_[n].child[0];
            } else {
                next = n;
                n = nodes_[n].child[0] != kNone ? nodes_[n].child[0] : nodes_[n].child[1];
            }
        }
    }
    SF_ASSERT(next != kNone);
    store_le<std::uint32_t>(next_key, nodes_[next].prefixlen);
    std::memcpy(next_key + kKeyHeader, data(next), data_size_);
    return 0;
}

}  // namespace sockfilter::runtime
