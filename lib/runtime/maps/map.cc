// SPDX-License-Identifier: MIT
// The Map base class, the checks BPF_MAP_CREATE makes before a type's own, and create_map.
#include "runtime/maps/map.h"

#include <atomic>
#include <cerrno>
#include <cstring>

#include "runtime/maps/array_map.h"
#include "runtime/maps/cgrp_storage.h"
#include "runtime/maps/fd_maps.h"
#include "runtime/maps/hash_map.h"
#include "runtime/maps/lpm_trie.h"
#include "runtime/maps/map_internal.h"
#include "runtime/maps/queue_map.h"
#include "runtime/maps/ringbuf.h"
#include "support/assert.h"

namespace sockfilter::runtime {

namespace detail {

CreateCheck check_access_flags(std::uint32_t flags) {
    if ((flags & program::kMapRdonlyProg) != 0 && (flags & program::kMapWronlyProg) != 0) {
        return Refusal{EINVAL, "BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG exclude each other"};
    }
    return std::nullopt;
}

CreateCheck check_flag_mask(std::uint32_t flags, std::uint32_t allowed) {
    if ((flags & ~allowed) != 0) {
        return Refusal{EINVAL, fmt::format("map_flags {:#x} not allowed for this type (allowed: {:#x})", flags, allowed)};
    }
    return std::nullopt;
}

std::uint32_t hash_seed(const program::MapSpec& spec, const MapOptions& options) {
    return (spec.map_flags & kMapZeroSeed) != 0 ? 0 : static_cast<std::uint32_t>(options.seed ^ (options.seed >> 32));
}

}  // namespace detail

namespace {

std::atomic<std::uint32_t> next_map_id{1};

bool percpu_type(program::MapType t) {
    return t == program::MapType::PercpuArray || t == program::MapType::PercpuHash ||
           t == program::MapType::LruPercpuHash;
}

}  // namespace

Map::Map(const program::MapSpec& spec, const MapOptions& options, std::size_t arena_bytes)
    : spec_(spec),
      options_(options),
      id_(next_map_id.fetch_add(1)),
      cpus_(percpu_type(spec.type) ? options.cpus : 1),
      stride_(static_cast<std::size_t>(detail::round8(spec.value_size))),
      frozen_(spec.frozen),
      arena_(arena_bytes, 0) {
    SF_ASSERT(options.cpus >= 1);
}

bool Map::is_percpu() const { return percpu_type(spec_.type); }

void Map::set_current_cpu(std::uint32_t cpu) {
    SF_ASSERT(cpu < options_.cpus);
    current_cpu_ = cpu;
}

bool Map::program_writable() const {
    return !spec_.frozen && (spec_.map_flags & program::kMapRdonlyProg) == 0;
}

std::size_t Map::user_value_size() const {
    return is_percpu() ? stride_ * cpus_ : spec_.value_size;
}

std::uint8_t* Map::lookup(const std::uint8_t*) { return nullptr; }

std::uint8_t* Map::lookup_percpu(const std::uint8_t*, std::uint32_t) { return nullptr; }

std::int64_t Map::update(const std::uint8_t*, const std::uint8_t*, std::uint64_t) { return -EINVAL; }

std::int64_t Map::remove(const std::uint8_t*) { return -EINVAL; }

std::int64_t Map::push(const std::uint8_t*, std::uint64_t) { return -EOPNOTSUPP; }

std::int64_t Map::pop(std::uint8_t*) { return -EOPNOTSUPP; }

std::int64_t Map::peek(std::uint8_t*) { return -EOPNOTSUPP; }

std::int64_t Map::get_next_key(const std::uint8_t*, std::uint8_t*) { return -EINVAL; }

std::int64_t Map::lookup_user(const std::uint8_t* key, std::uint8_t* value) {
    if ((spec_.map_flags & program::kMapWronly) != 0) {
        return -EPERM;
    }
    return do_lookup_user(key, value);
}

std::int64_t Map::update_user(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags) {
    if ((spec_.map_flags & program::kMapRdonly) != 0 || frozen_) {
        return -EPERM;
    }
    if ((flags & kBpfFLock) != 0) {
        return -EINVAL;  // the syscall wants a bpf_spin_lock in the value first
    }
    return do_update_user(key, value, flags);
}

std::int64_t Map::remove_user(const std::uint8_t* key) {
    if ((spec_.map_flags & program::kMapRdonly) != 0 || frozen_) {
        return -EPERM;
    }
    return remove(key);
}

std::int64_t Map::lookup_and_delete_user(const std::uint8_t* key, std::uint8_t* value, std::uint64_t flags) {
    if ((flags & ~kBpfFLock) != 0) {
        return -EINVAL;
    }
    if ((spec_.map_flags & (program::kMapRdonly | program::kMapWronly)) != 0 || frozen_) {
        return -EPERM;
    }
    if (flags != 0) {
        return -EINVAL;
    }
    return do_lookup_and_delete_user(key, value, flags);
}

std::int64_t Map::do_lookup_user(const std::uint8_t* key, std::uint8_t* value) {
    const std::uint8_t* v = lookup(key);
    if (v == nullptr) {
        return -ENOENT;
    }
    std::memcpy(value, v, spec_.value_size);
    return 0;
}

std::int64_t Map::do_update_user(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags) {
    return update(key, value, flags);
}

std::int64_t Map::do_lookup_and_delete_user(const std::uint8_t*, std::uint8_t*, std::uint64_t) {
    return -kEnotsupp;
}

namespace {

using program::MapType;

/// The type's own creation check.
detail::CreateCheck check_type(const program::MapSpec& spec) {
    switch (spec.type) {
    case MapType::Array:
    case MapType::PercpuArray:
        return ArrayMap::check(spec);
    case MapType::Hash:
    case MapType::PercpuHash:
    case MapType::LruHash:
    case MapType::LruPercpuHash:
        return HashMap::check(spec);
    case MapType::ProgArray:
    case MapType::PerfEventArray:
    case MapType::ArrayOfMaps:
        return check_fd_array(spec);
    case MapType::HashOfMaps:
        return HashOfMapsMap::check(spec);
    case MapType::Queue:
    case MapType::Stack:
        return QueueStackMap::check(spec);
    case MapType::BloomFilter:
        return BloomFilterMap::check(spec);
    case MapType::LpmTrie:
        return LpmTrieMap::check(spec);
    case MapType::Ringbuf:
    case MapType::UserRingbuf:
        return RingbufMap::check(spec);
    case MapType::CgrpStorage:
        return CgrpStorageMap::check(spec);
    default:
        SF_UNREACHABLE();
    }
}

/// Bytes the map preallocates (the arena and its bookkeeping, roughly), for the memory bound.
std::uint64_t memory_needed(const program::MapSpec& spec, const MapOptions& options) {
    const std::uint64_t value = detail::round8(spec.value_size);
    const std::uint64_t key = detail::round8(spec.key_size);
    switch (spec.type) {
    case MapType::PercpuArray:
    case MapType::PercpuHash:
    case MapType::LruPercpuHash:
        return std::uint64_t{spec.max_entries} * (value * options.cpus + key + 32);
    case MapType::Ringbuf:
    case MapType::UserRingbuf:
        return std::uint64_t{spec.max_entries} * 2;
    case MapType::CgrpStorage:
        return std::uint64_t{options.cgroup_slots} * (value + 16);
    case MapType::PerfEventArray:
        return std::uint64_t{spec.max_entries} * 16 + std::uint64_t{options.cpus} * options.perf_buffer_bytes;
    case MapType::BloomFilter:
        return BloomFilterMap::bitset_bytes(spec);
    case MapType::LpmTrie:
        return std::uint64_t{spec.max_entries} * (value + 2 * key + 64);
    default:
        return std::uint64_t{spec.max_entries} * (value + key + 32);
    }
}

std::unique_ptr<Map> construct(const program::MapSpec& spec, const MapOptions& options) {
    switch (spec.type) {
    case MapType::Array:
    case MapType::PercpuArray:
        return std::make_unique<ArrayMap>(spec, options);
    case MapType::Hash:
    case MapType::PercpuHash:
    case MapType::LruHash:
    case MapType::LruPercpuHash:
        return std::make_unique<HashMap>(spec, options);
    case MapType::ProgArray:
        return std::make_unique<ProgArrayMap>(spec, options);
    case MapType::PerfEventArray:
        return std::make_unique<PerfEventArrayMap>(spec, options);
    case MapType::ArrayOfMaps:
        return std::make_unique<ArrayOfMapsMap>(spec, options);
    case MapType::HashOfMaps:
        return std::make_unique<HashOfMapsMap>(spec, options);
    case MapType::Queue:
    case MapType::Stack:
        return std::make_unique<QueueStackMap>(spec, options);
    case MapType::BloomFilter:
        return std::make_unique<BloomFilterMap>(spec, options);
    case MapType::LpmTrie:
        return std::make_unique<LpmTrieMap>(spec, options);
    case MapType::Ringbuf:
        return std::make_unique<RingbufMap>(spec, options);
    case MapType::UserRingbuf:
        return std::make_unique<UserRingbufMap>(spec, options);
    case MapType::CgrpStorage:
        return std::make_unique<CgrpStorageMap>(spec, options);
    default:
        SF_UNREACHABLE();
    }
}

bool implemented(MapType t) {
    switch (t) {
    case MapType::Array:
    case MapType::PercpuArray:
    case MapType::Hash:
    case MapType::PercpuHash:
    case MapType::LruHash:
    case MapType::LruPercpuHash:
    case MapType::ProgArray:
    case MapType::PerfEventArray:
    case MapType::ArrayOfMaps:
    case MapType::HashOfMaps:
    case MapType::Queue:
    case MapType::Stack:
    case MapType::BloomFilter:
    case MapType::LpmTrie:
    case MapType::Ringbuf:
    case MapType::UserRingbuf:
    case MapType::CgrpStorage:
        return true;
    default:
        return false;
    }
}

}  // namespace

Result<std::unique_ptr<Map>> create_map(const program::MapSpec& spec, const MapOptions& options) {
    const std::string what = fmt::format("map \"{}\" ({})", spec.name, program::map_type_name(spec.type));
    auto refuse = [&](int err, const std::string& rule) -> Result<std::unique_ptr<Map>> {
        Error e{Errc::InvalidArgument, fmt::format("{}: {}", what, rule), {}, {}, err};
        return tl::unexpected<Error>(std::move(e));
    };
    if (options.cpus == 0) {
        return fail(Errc::InvalidArgument, "{}: the number of simulated CPUs must be at least 1", what);
    }
    const auto raw_type = static_cast<std::uint32_t>(spec.type);
    if (spec.type == MapType::Unspec || raw_type > static_cast<std::uint32_t>(MapType::Arena)) {
        return refuse(EINVAL, fmt::format("unknown map type {}", raw_type));
    }
    if (spec.map_extra != 0 && spec.type != MapType::BloomFilter && spec.type != MapType::Arena) {
        return refuse(EINVAL, "map_extra is only for bloom filters and arenas");
    }
    if ((spec.map_flags & program::kMapRdonly) != 0 && (spec.map_flags & program::kMapWronly) != 0) {
        return refuse(EINVAL, "BPF_F_RDONLY and BPF_F_WRONLY exclude each other");
    }
    if (!implemented(spec.type)) {
        return fail(Errc::NotSupported, "{}: this map type is not available to socket filters here", what);
    }
    if (auto r = check_type(spec)) {
        return refuse(r->err, r->rule);
    }
    if (spec.inner != nullptr && spec.type != MapType::ArrayOfMaps && spec.type != MapType::HashOfMaps) {
        return refuse(EINVAL, "only array_of_maps and hash_of_maps have an inner map");
    }
    if (memory_needed(spec, options) > options.max_memory) {
        return refuse(ENOMEM, fmt::format("needs more than the {} bytes one map may use", options.max_memory));
    }
    return construct(spec, options);
}

}  // namespace sockfilter::runtime
