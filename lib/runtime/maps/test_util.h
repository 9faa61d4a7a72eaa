// SPDX-License-Identifier: MIT
// Helpers of the map unit tests: building specs and maps, little-endian keys.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "runtime/maps/map.h"

namespace sockfilter::runtime::testing {

/// A spec with the given shape.
inline program::MapSpec spec(program::MapType type, std::uint32_t key, std::uint32_t value, std::uint32_t max,
                             std::uint32_t flags = 0) {
    program::MapSpec s;
    s.name = "m";
    s.type = type;
    s.key_size = key;
    s.value_size = value;
    s.max_entries = max;
    s.map_flags = flags;
    return s;
}

/// create_map that must succeed.
inline std::unique_ptr<Map> make_map(const program::MapSpec& s, std::uint32_t cpus = 1) {
    MapOptions o;
    o.cpus = cpus;
    auto m = create_map(s, o);
    EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().render());
    return m ? std::move(*m) : nullptr;
}

/// A 4-byte little-endian key or value.
inline std::vector<std::uint8_t> u32(std::uint32_t v) {
    std::vector<std::uint8_t> b(4);
    std::memcpy(b.data(), &v, 4);
    return b;
}

/// The u32 at `p`.
inline std::uint32_t get_u32(const std::uint8_t* p) {
    std::uint32_t v = 0;
    std::memcpy(&v, p, 4);
    return v;
}

}  // namespace sockfilter::runtime::testing
