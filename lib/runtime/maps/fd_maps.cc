// SPDX-License-Identifier: MIT
// prog_array, perf_event_array, array_of_maps, hash_of_maps.
#include "runtime/maps/fd_maps.h"

#include <cerrno>
#include <cstring>

#include "runtime/maps/array_map.h"
#include "support/assert.h"
#include "support/bytes.h"

namespace sockfilter::runtime {

namespace {

using program::MapType;

/// bpf_map_meta_alloc's refusals for the inner map of a map-in-map.
detail::CreateCheck check_inner(const program::MapSpec& spec) {
    if (spec.inner == nullptr) {
        return detail::Refusal{EBADF, "a map-in-map needs its inner map's definition (inner_map_fd)"};
    }
    if (MapOfMaps::implements(spec.inner->type)) {
        return detail::Refusal{EINVAL, "the inner map cannot itself be a map-in-map"};
    }
    return std::nullopt;
}

/// Slot index of a u32 key, or -E2BIG past the end.
std::int64_t slot_index(const std::uint8_t* key, std::size_t slots) {
    const auto index = load_le<std::uint32_t>(key);
    return index < slots ? std::int64_t{index} : -E2BIG;
}

}  // namespace

detail::CreateCheck check_fd_array(const program::MapSpec& spec) {
    if (spec.value_size != 4) {
        return detail::Refusal{EINVAL, fmt::format("value_size must be 4 (got {})", spec.value_size)};
    }
    if ((spec.map_flags & (program::kMapRdonlyProg | program::kMapWronlyProg)) != 0) {
        return detail::Refusal{EINVAL, "BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG are not supported for this type"};
    }
    if (auto r = ArrayMap::check(spec)) {
        return r;
    }
    return spec.type == MapType::ArrayOfMaps ? check_inner(spec) : std::nullopt;
}

ProgArrayMap::ProgArrayMap(const program::MapSpec& spec, const MapOptions& options)
    : Map(spec, options, 0), slots_(spec.max_entries, -1) {}

std::int32_t ProgArrayMap::program_at(std::uint32_t index) const {
    return index < slots_.size() ? slots_[index] : -1;
}

std::int64_t ProgArrayMap::remove(const std::uint8_t* key) {
    const std::int64_t i = slot_index(key, slots_.size());
    if (i < 0) {
        return i;
    }
    if (slots_[static_cast<std::size_t>(i)] < 0) {
        return -ENOENT;
    }
    slots_[static_cast<std::size_t>(i)] = -1;
    return 0;
}

std::int64_t ProgArrayMap::get_next_key(const std::uint8_t* key, std::uint8_t* next_key) {
    return detail::array_next_key(max_entries(), key, next_key);
}

std::int64_t ProgArrayMap::do_update_user(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags) {
    if (flags != kBpfAny) {
        return -EINVAL;
    }
    const std::int64_t i = slot_index(key, slots_.size());
    if (i < 0) {
        return i;
    }
    const auto prog = load_le<std::uint32_t>(value);
    if (prog > INT32_MAX) {
        return -EBADF;
    }
    slots_[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(prog);
    return 0;
}

std::int64_t ProgArrayMap::do_lookup_user(const std::uint8_t* key, std::uint8_t* value) {
    const auto index = load_le<std::uint32_t>(key);
    if (index >= slots_.size() || slots_[index] < 0) {
        return -ENOENT;
    }
    store_le<std::uint32_t>(value, static_cast<std::uint32_t>(slots_[index]));
    return 0;
}

PerfEventArrayMap::PerfEventArrayMap(const program::MapSpec& spec, const MapOptions& options)
    : Map(spec, options, 0), sinks_(spec.max_entries) {}

std::int64_t PerfEventArrayMap::output(std::uint64_t flags, std::span<const std::uint8_t> data,
                                       std::span<const std::uint8_t> packet) {
    if ((flags & ~(kPerfCtxLenMask | kPerfIndexMask)) != 0) {
        return -EINVAL;
    }
    const std::uint64_t ctxlen = (flags & kPerfCtxLenMask) >> 32;
    if (ctxlen > packet.size()) {
        return -EFAULT;
    }
    std::uint64_t index = flags & kPerfIndexMask;
    if (index == kPerfCurrentCpu) {
        index = current_cpu();
    }
    if (index >= sinks_.size()) {
        return -E2BIG;
    }
    Sink& sink = sinks_[static_cast<std::size_t>(index)];
    if (!sink.present) {
        return -ENOENT;
    }
    if (sink.cpu != current_cpu()) {
        return -EOPNOTSUPP;
    }
    // A PERF_RECORD_SAMPLE with PERF_SAMPLE_RAW: 8-byte header, u32 size, data padded to 8.
    const std::size_t raw = data.size() + static_cast<std::size_t>(ctxlen);
    const std::size_t bytes = 8 + static_cast<std::size_t>(detail::round8(raw + 4));
    if (sink.bytes + bytes > options().perf_buffer_bytes) {
        ++sink.lost;
        return -ENOSPC;
    }
    std::vector<std::uint8_t> record(data.begin(), data.end());
    record.insert(record.end(), packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(ctxlen));
    sink.records.push_back(std::move(record));
    sink.bytes += bytes;
    return 0;
}

std::vector<std::vector<std::uint8_t>> PerfEventArrayMap::read(std::uint32_t index) {
    SF_ASSERT(index < sinks_.size());
    Sink& sink = sinks_[index];
    std::vector<std::vector<std::uint8_t>> out(std::make_move_iterator(sink.records.begin()),
                                               std::make_move_iterator(sink.records.end()));
    sink.records.clear();
    sink.bytes = 0;
    return out;
}

std::uint64_t PerfEventArrayMap::lost(std::uint32_t index) const {
    SF_ASSERT(index < sinks_.size());
    return sinks_[index].lost;
}

std::int64_t PerfEventArrayMap::remove(const std::uint8_t* key) {
    const std::int64_t i = slot_index(key, sinks_.size());
    if (i < 0) {
        return i;
    }
    Sink& sink = sinks_[static_cast<std::size_t>(i)];
    if (!sink.present) {
        return -ENOENT;
    }
    sink = Sink{};
    return 0;
}

std::int64_t PerfEventArrayMap::get_next_key(const std::uint8_t* key, std::uint8_t* next_key) {
    return detail::array_next_key(max_entries(), key, next_key);
}

std::int64_t PerfEventArrayMap::do_update_user(const std::uint8_t* key, const std::uint8_t* value,
                                               std::uint64_t flags) {
    if (flags != kBpfAny) {
        return -EINVAL;
    }
    const std::int64_t i = slot_index(key, sinks_.size());
    if (i < 0) {
        return i;
    }
    const auto cpu = load_le<std::uint32_t>(value);
    if (cpu >= options().cpus) {
        return -EBADF;
    }
    Sink& sink = sinks_[static_cast<std::size_t>(i)];
    sink = Sink{};
    sink.present = true;
    sink.cpu = cpu;
    return 0;
}

std::int64_t PerfEventArrayMap::do_lookup_user(const std::uint8_t*, std::uint8_t*) { return -kEnotsupp; }

bool MapOfMaps::compatible(const Map& inner) const {
    const program::MapSpec& meta = *spec().inner;
    const program::MapSpec& got = inner.spec();
    if (meta.type != got.type || meta.key_size != got.key_size || meta.value_size != got.value_size ||
        meta.map_flags != got.map_flags) {
        return false;
    }
    const bool array_like = got.type == MapType::Array || got.type == MapType::PercpuArray ||
                            got.type == MapType::ProgArray || got.type == MapType::PerfEventArray;
    return !array_like || (meta.map_flags & kMapInnerMap) != 0 || meta.max_entries == got.max_entries;
}

std::int64_t MapOfMaps::do_update_user(const std::uint8_t*, const std::uint8_t*, std::uint64_t) { return -EBADF; }

std::int64_t MapOfMaps::do_lookup_user(const std::uint8_t* key, std::uint8_t* value) {
    const Map* inner = lookup_map(key);
    if (inner == nullptr) {
        return -ENOENT;
    }
    store_le<std::uint32_t>(value, inner->id());
    return 0;
}

ArrayOfMapsMap::ArrayOfMapsMap(const program::MapSpec& spec, const MapOptions& options)
    : MapOfMaps(spec, options, 0), slots_(spec.max_entries, nullptr) {}

Map* ArrayOfMapsMap::lookup_map(const std::uint8_t* key) {
    const auto index = load_le<std::uint32_t>(key);
    return index < slots_.size() ? slots_[index] : nullptr;
}

std::int64_t ArrayOfMapsMap::update_map(const std::uint8_t* key, Map* inner, std::uint64_t flags) {
    if (flags != kBpfAny) {
        return -EINVAL;
    }
    const std::int64_t i = slot_index(key, slots_.size());
    if (i < 0) {
        return i;
    }
    if (inner == nullptr) {
        return -EBADF;
    }
    if (!compatible(*inner)) {
        return -EINVAL;
    }
    slots_[static_cast<std::size_t>(i)] = inner;
    return 0;
}

std::int64_t ArrayOfMapsMap::remove(const std::uint8_t* key) {
    const std::int64_t i = slot_index(key, slots_.size());
    if (i < 0) {
        return i;
    }
    if (slots_[static_cast<std::size_t>(i)] == nullptr) {
        return -ENOENT;
    }
    slots_[static_cast<std::size_t>(i)] = nullptr;
    return 0;
}

std::int64_t ArrayOfMapsMap::get_next_key(const std::uint8_t* key, std::uint8_t* next_key) {
    return detail::array_next_key(max_entries(), key, next_key);
}

detail::CreateCheck HashOfMapsMap::check(const program::MapSpec& spec) {
    if (spec.value_size != 4) {
        return detail::Refusal{EINVAL, fmt::format("value_size must be 4 (got {})", spec.value_size)};
    }
    if (auto r = HashMap::check(spec)) {
        return r;
    }
    return check_inner(spec);
}

namespace {

program::MapSpec table_spec(const program::MapSpec& spec) {
    program::MapSpec t;
    t.name = spec.name;
    t.type = MapType::Hash;
    t.key_size = spec.key_size;
    t.value_size = sizeof(std::uintptr_t);
    t.max_entries = spec.max_entries;
    t.map_flags = spec.map_flags;
    return t;
}

}  // namespace

HashOfMapsMap::HashOfMapsMap(const program::MapSpec& spec, const MapOptions& options)
    : MapOfMaps(spec, options, 0), table_(std::make_unique<HashMap>(table_spec(spec), options)) {}

Map* HashOfMapsMap::lookup_map(const std::uint8_t* key) {
    const std::uint8_t* v = table_->lookup(key);
    if (v == nullptr) {
        return nullptr;
    }
    std::uintptr_t p = 0;
    std::memcpy(&p, v, sizeof p);
    return reinterpret_cast<Map*>(p);
}

std::int64_t HashOfMapsMap::update_map(const std::uint8_t* key, Map* inner, std::uint64_t flags) {
    if (inner == nullptr) {
        return -EBADF;
    }
    if (!compatible(*inner)) {
        return -EINVAL;
    }
    std::uint8_t bytes[sizeof(std::uintptr_t)];
    const auto p = reinterpret_cast<std::uintptr_t>(inner);
    std::memcpy(bytes, &p, sizeof p);
    return table_->update(key, bytes, flags);
}

std::int64_t HashOfMapsMap::remove(const std::uint8_t* key) { return table_->remove(key); }

std::int64_t HashOfMapsMap::get_next_key(const std::uint8_t* key, std::uint8_t* next_key) {
    return table_->get_next_key(key, next_key);
}

}  // namespace sockfilter::runtime
