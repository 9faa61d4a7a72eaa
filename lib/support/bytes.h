// SPDX-License-Identifier: MIT
// Byte order and hex helpers shared by every component.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "support/result.h"

namespace sockfilter {

/// Reads an unsigned little-endian integer of sizeof(T) bytes from `p`.
template <class T>
[[nodiscard]] inline T load_le(const std::uint8_t* p) {
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        v = static_cast<T>(v | static_cast<T>(static_cast<T>(p[i]) << (8 * i)));
    }
    return v;
}

/// Reads an unsigned big-endian integer of sizeof(T) bytes from `p`.
template <class T>
[[nodiscard]] inline T load_be(const std::uint8_t* p) {
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        v = static_cast<T>(static_cast<T>(v << 8) | p[i]);
    }
    return v;
}

/// Writes `v` little-endian into `p`.
template <class T>
inline void store_le(std::uint8_t* p, T v) {
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        p[i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
}

/// Writes `v` big-endian into `p`.
template <class T>
inline void store_be(std::uint8_t* p, T v) {
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        p[i] = static_cast<std::uint8_t>(v >> (8 * (sizeof(T) - 1 - i)));
    }
}

/// Parses hex digits, ignoring white space, an optional "0x" per token and ':' separators.
[[nodiscard]] Result<std::vector<std::uint8_t>> parse_hex(std::string_view text);

/// Formats bytes as lowercase hex, `sep` between bytes.
[[nodiscard]] std::string to_hex(std::span<const std::uint8_t> bytes, std::string_view sep = "");

/// Reads a whole file; "-" is standard input.
[[nodiscard]] Result<std::vector<std::uint8_t>> read_file(const std::string& path);

/// Writes a file atomically: into a temporary beside it, renamed over the target on success,
/// so a failure never leaves a half-written output.
[[nodiscard]] Result<void> write_file_atomic(const std::string& path, std::span<const std::uint8_t> bytes);

}  // namespace sockfilter
