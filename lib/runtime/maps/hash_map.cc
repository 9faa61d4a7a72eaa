// SPDX-License-Identifier: MIT
// Hash, per-CPU hash and their LRU variants.
#include "runtime/maps/hash_map.h"

#include <bit>
#include <cerrno>
#include <cstring>

#include "runtime/maps/jhash.h"
#include "support/assert.h"

namespace sockfilter::runtime {

namespace {

using program::MapType;

constexpr std::uint32_t kHashFlags = program::kMapNoPrealloc | program::kMapNoCommonLru | kMapNumaNode |
                                     kMapAccessMask | kMapZeroSeed;
/// sizeof(struct htab_elem) on x86-64: the key+value bound leaves room for it.
constexpr std::uint64_t kHtabElemSize = 48;

bool is_lru(MapType t) { return t == MapType::LruHash || t == MapType::LruPercpuHash; }

}  // namespace

detail::CreateCheck HashMap::check(const program::MapSpec& spec) {
    const bool percpu = spec.type == MapType::PercpuHash || spec.type == MapType::LruPercpuHash;
    const bool lru = is_lru(spec.type);
    const std::uint32_t f = spec.map_flags;
    if (auto r = detail::check_flag_mask(f, kHashFlags)) {
        return r;
    }
    if (auto r = detail::check_access_flags(f)) {
        return r;
    }
    if (!lru && (f & program::kMapNoCommonLru) != 0) {
        return detail::Refusal{EINVAL, "BPF_F_NO_COMMON_LRU is only for LRU hashes"};
    }
    if (lru && (f & program::kMapNoPrealloc) != 0) {
        return detail::Refusal{kEnotsupp, "LRU hashes must be preallocated (no BPF_F_NO_PREALLOC)"};
    }
    if ((f & kMapNumaNode) != 0 && (percpu || (f & program::kMapNoCommonLru) != 0)) {
        return detail::Refusal{EINVAL, "per-CPU maps cannot have BPF_F_NUMA_NODE"};
    }
    if (spec.max_entries == 0 || spec.key_size == 0 || spec.value_size == 0) {
        return detail::Refusal{EINVAL, fmt::format("max_entries, key_size and value_size must not be 0 (got {}, {}, {})",
                                                   spec.max_entries, spec.key_size, spec.value_size)};
    }
    if (std::uint64_t{spec.key_size} + spec.value_size >= detail::kKmallocMax - kHtabElemSize) {
        return detail::Refusal{E2BIG, fmt::format("key_size + value_size must be below {}",
                                                  detail::kKmallocMax - kHtabElemSize)};
    }
    if (percpu && detail::round8(spec.value_size) > detail::kPcpuMinUnitSize) {
        return detail::Refusal{E2BIG, fmt::format("per-CPU value_size {} exceeds {} bytes", spec.value_size,
                                                  detail::kPcpuMinUnitSize)};
    }
    if (spec.max_entries > (1U << 31)) {
        return detail::Refusal{E2BIG, fmt::format("max_entries {} exceeds 2^31", spec.max_entries)};
    }
    return std::nullopt;
}

HashMap::HashMap(const program::MapSpec& spec, const MapOptions& options)
    : Map(spec, options,
          std::size_t{spec.max_entries} *
              (spec.type == MapType::PercpuHash || spec.type == MapType::LruPercpuHash ? options.cpus : 1U) *
              detail::round8(spec.value_size)),
      lru_(is_lru(spec.type)),
      seed_(detail::hash_seed(spec, options)),
      keys_(std::size_t{spec.max_entries} * spec.key_size),
      hashes_(spec.max_entries),
      buckets_(std::bit_ceil(spec.max_entries), kNone),
      chain_(spec.max_entries, kNone) {
    free_.reserve(spec.max_entries);
    for (std::uint32_t s = spec.max_entries; s-- > 0;) {
        free_.push_back(s);
    }
    if (lru_) {
        lru_prev_.assign(spec.max_entries, kNone);
        lru_next_.assign(spec.max_entries, kNone);
    }
}

std::uint32_t HashMap::hash_key(const std::uint8_t* key) const { return map_hash(key, key_size(), seed_); }

std::uint32_t HashMap::find(const std::uint8_t* key, std::uint32_t hash) const {
    for (std::uint32_t s = buckets_[hash & (buckets_.size() - 1)]; s != kNone; s = chain_[s]) {
        if (hashes_[s] == hash && std::memcmp(key_at(s), key, key_size()) == 0) {
            return s;
        }
    }
    return kNone;
}

std::uint8_t* HashMap::value_at(std::uint32_t slot, std::uint32_t cpu) {
    SF_ASSERT(slot < max_entries() && cpu < cpus());
    return arena().data() + (std::size_t{slot} * cpus() + cpu) * stride();
}

void HashMap::link_head(std::uint32_t slot) {
    std::uint32_t& head = buckets_[hashes_[slot] & (buckets_.size() - 1)];
    chain_[slot] = head;
    head = slot;
}

void HashMap::unlink(std::uint32_t slot) {
    std::uint32_t* link = &buckets_[hashes_[slot] & (buckets_.size() - 1)];
    while (*link != slot) {
        SF_ASSERT(*link != kNone);
        link = &chain_[*link];
    }
    *link = chain_[slot];
    chain_[slot] = kNone;
}

void HashMap::lru_unlink(std::uint32_t slot) {
    const std::uint32_t p = lru_prev_[slot];
    const std::uint32_t n = lru_next_[slot];
    (p == kNone ? lru_head_ : lru_next_[p]) = n;
    (n == kNone ? lru_tail_ : lru_prev_[n]) = p;
    lru_prev_[slot] = kNone;
    lru_next_[slot] = kNone;
}

void HashMap::lru_push_front(std::uint32_t slot) {
    lru_prev_[slot] = kNone;
    lru_next_[slot] = lru_head_;
    (lru_head_ == kNone ? lru_tail_ : lru_prev_[lru_head_]) = slot;
    lru_head_ = slot;
}

std::uint32_t HashMap::take_slot() {
    if (!free_.empty()) {
        const std::uint32_t s = free_.back();
        free_.pop_back();
        return s;
    }
    if (!lru_ || lru_tail_ == kNone) {
        return kNone;
    }
    // Evict the least recently used element and reuse its slot.
    const std::uint32_t victim = lru_tail_;
    unlink(victim);
    lru_unlink(victim);
    --count_;
    return victim;
}

void HashMap::release_slot(std::uint32_t slot) { free_.push_back(slot); }

void HashMap::write_value(std::uint32_t slot, const std::uint8_t* value, bool all_cpus, bool fresh) {
    if (all_cpus) {
        // The syscall's value: every CPU's copy with its padding (copy_map_value_long).
        std::memcpy(value_at(slot, 0), value, is_percpu() ? stride() * cpus() : value_size());
        return;
    }
    for (std::uint32_t c = 0; c < cpus(); ++c) {
        if (c == value_cpu()) {
            std::memcpy(value_at(slot, c), value, value_size());
        } else if (fresh) {
            std::memset(value_at(slot, c), 0, stride());  // pcpu_init_value zeroes the other CPUs
        }
    }
}

std::int64_t HashMap::update_impl(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags,
                                  bool all_cpus) {
    // The plain hash tolerates BPF_F_LOCK in the range check and refuses it next; the others
    // count it as an unknown flag. Both end in -EINVAL.
    if ((flags & ~kBpfFLock) > kBpfExist || (flags & kBpfFLock) != 0) {
        return -EINVAL;
    }
    const std::uint32_t hash = hash_key(key);
    // The LRU types allocate (and so may evict) before looking for the key; the per-CPU LRU
    // skips that when the key must exist.
    std::uint32_t fresh = kNone;
    if (lru_ && !(is_percpu() && flags == kBpfExist)) {
        fresh = take_slot();
        SF_ASSERT(fresh != kNone);
    }
    const std::uint32_t old = find(key, hash);
    std::int64_t rc = 0;
    if (old != kNone && flags == kBpfNoExist) {
        rc = -EEXIST;
    } else if (old == kNone && flags == kBpfExist) {
        rc = -ENOENT;
    }
    if (rc != 0) {
        if (fresh != kNone) {
            release_slot(fresh);
        }
        return rc;
    }
    if (old != kNone && is_percpu()) {
        // Per-CPU values are updated in place; the element keeps its bucket position.
        write_value(old, value, all_cpus, false);
        if (lru_) {
            lru_unlink(old);
            lru_push_front(old);
        }
        if (fresh != kNone) {
            release_slot(fresh);
        }
        return 0;
    }
    if (old != kNone && !lru_) {
        // The kernel links a new element at the bucket head and frees the old one; the value
        // stays at its address here (see docs/SEMANTICS.md, Maps).
        write_value(old, value, all_cpus, false);
        unlink(old);
        link_head(old);
        return 0;
    }
    if (fresh == kNone) {
        fresh = take_slot();
        if (fresh == kNone) {
            return -E2BIG;
        }
    }
    std::memcpy(key_at(fresh), key, key_size());
    hashes_[fresh] = hash;
    write_value(fresh, value, all_cpus, true);
    link_head(fresh);
    ++count_;
    if (lru_) {
        lru_push_front(fresh);
    }
    if (old != kNone) {
        unlink(old);
        lru_unlink(old);
        release_slot(old);
        --count_;
    }
    return 0;
}

std::uint8_t* HashMap::lookup(const std::uint8_t* key) {
    const std::uint32_t s = find(key, hash_key(key));
    if (s == kNone) {
        return nullptr;
    }
    if (lru_) {
        lru_unlink(s);
        lru_push_front(s);
    }
    return value_at(s, value_cpu());
}

std::uint8_t* HashMap::lookup_percpu(const std::uint8_t* key, std::uint32_t cpu) {
    if (!is_percpu() || cpu >= cpus()) {
        return nullptr;
    }
    const std::uint32_t s = find(key, hash_key(key));
    if (s == kNone) {
        return nullptr;
    }
    if (lru_) {
        lru_unlink(s);
        lru_push_front(s);
    }
    return value_at(s, cpu);
}

std::int64_t HashMap::update(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags) {
    return update_impl(key, value, flags, false);
}

std::int64_t HashMap::remove(const std::uint8_t* key) {
    const std::uint32_t s = find(key, hash_key(key));
    if (s == kNone) {
        return -ENOENT;
    }
    unlink(s);
    if (lru_) {
        lru_unlink(s);
    }
    release_slot(s);
    --count_;
    return 0;
}

std::int64_t HashMap::get_next_key(const std::uint8_t* key, std::uint8_t* next_key) {
    std::size_t bucket = 0;
    if (key != nullptr) {
        const std::uint32_t hash = hash_key(key);
        const std::uint32_t s = find(key, hash);
        if (s != kNone) {
            if (chain_[s] != kNone) {
                std::memcpy(next_key, key_at(chain_[s]), key_size());
                return 0;
            }
            bucket = (hash & (buckets_.size() - 1)) + 1;
        }
    }
    for (; bucket < buckets_.size(); ++bucket) {
        if (buckets_[bucket] != kNone) {
            std::memcpy(next_key, key_at(buckets_[bucket]), key_size());
            return 0;
        }
    }
    return -ENOENT;
}

void HashMap::copy_out(std::uint32_t slot, std::uint8_t* value) {
    std::memcpy(value, value_at(slot, 0), is_percpu() ? stride() * cpus() : value_size());
}

std::int64_t HashMap::do_lookup_user(const std::uint8_t* key, std::uint8_t* value) {
    // The syscall's lookup does not count as a use for the LRU.
    const std::uint32_t s = find(key, hash_key(key));
    if (s == kNone) {
        return -ENOENT;
    }
    copy_out(s, value);
    return 0;
}

std::int64_t HashMap::do_update_user(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags) {
    return update_impl(key, value, flags, true);
}

std::int64_t HashMap::do_lookup_and_delete_user(const std::uint8_t* key, std::uint8_t* value, std::uint64_t) {
    const std::uint32_t s = find(key, hash_key(key));
    if (s == kNone) {
        return -ENOENT;
    }
    copy_out(s, value);
    return remove(key);
}

}  // namespace sockfilter::runtime
