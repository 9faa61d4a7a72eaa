// SPDX-License-Identifier: MIT
// Queue, stack and bloom filter.
#include "runtime/maps/queue_map.h"

#include <bit>
#include <cerrno>
#include <cstring>

#include "runtime/maps/jhash.h"
#include "support/assert.h"

namespace sockfilter::runtime {

namespace {

constexpr std::uint32_t kQueueFlags = kMapNumaNode | kMapAccessMask;
constexpr std::uint32_t kBloomFlags = kMapNumaNode | kMapZeroSeed | kMapAccessMask;

}  // namespace

detail::CreateCheck QueueStackMap::check(const program::MapSpec& spec) {
    if (spec.max_entries == 0 || spec.key_size != 0 || spec.value_size == 0) {
        return detail::Refusal{EINVAL, fmt::format("key_size must be 0, max_entries and value_size not 0 (got {}, {}, {})",
                                                   spec.key_size, spec.max_entries, spec.value_size)};
    }
    if (auto r = detail::check_flag_mask(spec.map_flags, kQueueFlags)) {
        return r;
    }
    if (auto r = detail::check_access_flags(spec.map_flags)) {
        return r;
    }
    if (spec.value_size > detail::kKmallocMax) {
        return detail::Refusal{E2BIG, fmt::format("value_size {} exceeds {}", spec.value_size, detail::kKmallocMax)};
    }
    return std::nullopt;
}

QueueStackMap::QueueStackMap(const program::MapSpec& spec, const MapOptions& options)
    : Map(spec, options, (std::size_t{spec.max_entries} + 1) * detail::round8(spec.value_size)),
      slots_(spec.max_entries + 1) {}

std::int64_t QueueStackMap::push(const std::uint8_t* value, std::uint64_t flags) {
    if ((flags & kBpfNoExist) != 0 || flags > kBpfExist) {
        return -EINVAL;
    }
    if (size() == max_entries()) {
        if (flags != kBpfExist) {
            return -E2BIG;
        }
        tail_ = tail_ + 1 == slots_ ? 0 : tail_ + 1;  // overwrite the oldest value
    }
    std::memcpy(slot(head_), value, value_size());
    head_ = head_ + 1 == slots_ ? 0 : head_ + 1;
    return 0;
}

std::int64_t QueueStackMap::take(std::uint8_t* value, bool remove_it) {
    if (head_ == tail_) {
        std::memset(value, 0, value_size());
        return -ENOENT;
    }
    if (type() == program::MapType::Queue) {
        std::memcpy(value, slot(tail_), value_size());
        if (remove_it) {
            tail_ = tail_ + 1 == slots_ ? 0 : tail_ + 1;
        }
        return 0;
    }
    const std::uint32_t top = head_ == 0 ? slots_ - 1 : head_ - 1;
    std::memcpy(value, slot(top), value_size());
    if (remove_it) {
        head_ = top;
    }
    return 0;
}

std::int64_t QueueStackMap::pop(std::uint8_t* value) { return take(value, true); }

std::int64_t QueueStackMap::peek(std::uint8_t* value) { return take(value, false); }

std::int64_t QueueStackMap::remove(const std::uint8_t*) { return -EINVAL; }

std::int64_t QueueStackMap::get_next_key(const std::uint8_t*, std::uint8_t*) { return -EINVAL; }

std::int64_t QueueStackMap::update(const std::uint8_t*, const std::uint8_t*, std::uint64_t) { return -EINVAL; }

std::int64_t QueueStackMap::do_lookup_user(const std::uint8_t*, std::uint8_t* value) { return peek(value); }

std::int64_t QueueStackMap::do_update_user(const std::uint8_t*, const std::uint8_t* value, std::uint64_t flags) {
    return push(value, flags);
}

std::int64_t QueueStackMap::do_lookup_and_delete_user(const std::uint8_t*, std::uint8_t* value, std::uint64_t) {
    return pop(value);
}

detail::CreateCheck BloomFilterMap::check(const program::MapSpec& spec) {
    if (spec.value_size > detail::kKmallocMax) {
        return detail::Refusal{E2BIG, fmt::format("value_size {} exceeds {}", spec.value_size, detail::kKmallocMax)};
    }
    if (spec.key_size != 0 || spec.value_size == 0 || spec.max_entries == 0) {
        return detail::Refusal{EINVAL, fmt::format("key_size must be 0, value_size and max_entries not 0 (got {}, {}, {})",
                                                   spec.key_size, spec.value_size, spec.max_entries)};
    }
    if (auto r = detail::check_flag_mask(spec.map_flags, kBloomFlags)) {
        return r;
    }
    if (auto r = detail::check_access_flags(spec.map_flags)) {
        return r;
    }
    if ((spec.map_extra & ~0xFU) != 0) {
        return detail::Refusal{EINVAL, fmt::format("map_extra {:#x}: only the low 4 bits (number of hash functions) may be set",
                                                   spec.map_extra)};
    }
    return std::nullopt;
}

namespace {

/// Bits of the filter (a power of two, at least 64) and whether it is the full 2^32.
std::uint64_t bloom_bits(const program::MapSpec& spec) {
    const std::uint32_t funcs = spec.map_extra == 0 ? 5 : spec.map_extra;
    // n * k / ln 2, with 7/5 for 1/ln 2, in u32 arithmetic with the kernel's overflow checks.
    const std::uint64_t nk = std::uint64_t{spec.max_entries} * funcs;
    if (nk > UINT32_MAX) {
        return std::uint64_t{1} << 32;
    }
    const std::uint64_t nr_bits = nk / 5 * 7;
    if (nr_bits > UINT32_MAX || nr_bits > (std::uint64_t{1} << 31)) {
        return std::uint64_t{1} << 32;
    }
    return nr_bits <= 64 ? 64 : std::bit_ceil(nr_bits);
}

}  // namespace

std::uint64_t BloomFilterMap::bitset_bytes(const program::MapSpec& spec) { return bloom_bits(spec) / 8; }

BloomFilterMap::BloomFilterMap(const program::MapSpec& spec, const MapOptions& options)
    : Map(spec, options, 0),
      nr_hash_funcs_(spec.map_extra == 0 ? 5 : spec.map_extra),
      seed_(detail::hash_seed(spec, options)),
      mask_(static_cast<std::uint32_t>(bloom_bits(spec) - 1)),
      bits_(static_cast<std::size_t>(bloom_bits(spec) / 64)) {}

std::uint32_t BloomFilterMap::bit(const std::uint8_t* value, std::uint32_t i) const {
    return map_hash(value, value_size(), seed_ + i) & mask_;
}

std::int64_t BloomFilterMap::push(const std::uint8_t* value, std::uint64_t flags) {
    if (flags != kBpfAny) {
        return -EINVAL;
    }
    for (std::uint32_t i = 0; i < nr_hash_funcs_; ++i) {
        const std::uint32_t b = bit(value, i);
        bits_[b / 64] |= std::uint64_t{1} << (b % 64);
    }
    return 0;
}

std::int64_t BloomFilterMap::pop(std::uint8_t*) { return -EOPNOTSUPP; }

std::int64_t BloomFilterMap::peek(std::uint8_t* value) {
    for (std::uint32_t i = 0; i < nr_hash_funcs_; ++i) {
        const std::uint32_t b = bit(value, i);
        if ((bits_[b / 64] & (std::uint64_t{1} << (b % 64))) == 0) {
            return -ENOENT;
        }
    }
    return 0;
}

std::int64_t BloomFilterMap::remove(const std::uint8_t*) { return -EOPNOTSUPP; }

std::int64_t BloomFilterMap::get_next_key(const std::uint8_t*, std::uint8_t*) { return -EOPNOTSUPP; }

std::int64_t BloomFilterMap::update(const std::uint8_t*, const std::uint8_t*, std::uint64_t) { return -EINVAL; }

std::int64_t BloomFilterMap::do_lookup_user(const std::uint8_t*, std::uint8_t* value) { return peek(value); }

std::int64_t BloomFilterMap::do_update_user(const std::uint8_t*, const std::uint8_t* value, std::uint64_t flags) {
    return push(value, flags);
}

}  // namespace sockfilter::runtime
