// SPDX-License-Identifier: MIT
// Map helpers (spec §5.3 "Maps"): lookup, update, delete, push/pop/peek and the per-CPU lookup,
// with the kernel's return codes as the Map classes produce them. Lookups return the value's
// address in the map's arena (0 for NULL); a map-in-map lookup returns the inner map's handle.
#include <fmt/format.h>

#include "runtime/helpers/impl.h"
#include "runtime/instance.h"
#include "runtime/maps/fd_maps.h"

namespace sockfilter::runtime::helpers {

namespace {

std::uint64_t address(const std::uint8_t* p) { return reinterpret_cast<std::uintptr_t>(p); }

}  // namespace

std::uint64_t map_lookup_elem(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t, std::uint64_t,
                              std::uint64_t) {
    constexpr std::string_view kName = "bpf_map_lookup_elem";
    Map* m = map_arg(env, kName, 1, r1);
    if (m == nullptr) {
        return 0;
    }
    const std::uint8_t* key = readable(env, kName, 2, "key", r2, m->key_size());
    if (key == nullptr) {
        return 0;
    }
    if (auto* outer = map_as<MapOfMaps>(*m)) {
        Map* inner = outer->lookup_map(key);
        if (inner == nullptr) {
            return 0;
        }
        const std::int64_t index = env.instance->index_of(inner);
        if (index < 0) {
            env.fault = fmt::format("{}: the inner map is not one of this object's maps", kName);
            return 0;
        }
        return env.instance->map_handle(static_cast<std::size_t>(index));
    }
    return address(m->lookup(key));
}

std::uint64_t map_update_elem(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t r4,
                              std::uint64_t) {
    constexpr std::string_view kName = "bpf_map_update_elem";
    Map* m = map_arg(env, kName, 1, r1);
    if (m == nullptr) {
        return 0;
    }
    const std::uint8_t* key = readable(env, kName, 2, "key", r2, m->key_size());
    if (key == nullptr) {
        return 0;
    }
    const std::uint8_t* value = readable(env, kName, 3, "value", r3, m->value_size());
    if (value == nullptr) {
        return 0;
    }
    return ret(m->update(key, value, r4));
}

std::uint64_t map_delete_elem(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t, std::uint64_t,
                              std::uint64_t) {
    constexpr std::string_view kName = "bpf_map_delete_elem";
    Map* m = map_arg(env, kName, 1, r1);
    if (m == nullptr) {
        return 0;
    }
    const std::uint8_t* key = readable(env, kName, 2, "key", r2, m->key_size());
    if (key == nullptr) {
        return 0;
    }
    return ret(m->remove(key));
}

std::uint64_t map_push_elem(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t,
                            std::uint64_t) {
    constexpr std::string_view kName = "bpf_map_push_elem";
    Map* m = map_arg(env, kName, 1, r1);
    if (m == nullptr) {
        return 0;
    }
    const std::uint8_t* value = readable(env, kName, 2, "value", r2, m->value_size());
    if (value == nullptr) {
        return 0;
    }
    return ret(m->push(value, r3));
}

std::uint64_t map_pop_elem(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t, std::uint64_t,
                           std::uint64_t) {
    constexpr std::string_view kName = "bpf_map_pop_elem";
    Map* m = map_arg(env, kName, 1, r1);
    if (m == nullptr) {
        return 0;
    }
    std::uint8_t* value = writable(env, kName, 2, "value", r2, m->value_size());
    if (value == nullptr) {
        return 0;
    }
    return ret(m->pop(value));
}

std::uint64_t map_peek_elem(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t, std::uint64_t,
                            std::uint64_t) {
    constexpr std::string_view kName = "bpf_map_peek_elem";
    Map* m = map_arg(env, kName, 1, r1);
    if (m == nullptr) {
        return 0;
    }
    // The prototype is ARG_PTR_TO_MAP_VALUE | MEM_UNINIT | MEM_WRITE for every map type, so the
    // value must be writable even for a bloom filter, which only reads it.
    std::uint8_t* value = writable(env, kName, 2, "value", r2, m->value_size());
    if (value == nullptr) {
        return 0;
    }
    return ret(m->peek(value));
}

std::uint64_t map_lookup_percpu_elem(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3,
                                     std::uint64_t, std::uint64_t) {
    constexpr std::string_view kName = "bpf_map_lookup_percpu_elem";
    Map* m = map_arg(env, kName, 1, r1);
    if (m == nullptr) {
        return 0;
    }
    const std::uint8_t* key = readable(env, kName, 2, "key", r2, m->key_size());
    if (key == nullptr) {
        return 0;
    }
    return address(m->lookup_percpu(key, static_cast<std::uint32_t>(r3)));
}

}  // namespace sockfilter::runtime::helpers
