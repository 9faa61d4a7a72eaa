// SPDX-License-Identifier: MIT
// The kernel's jhash/jhash2 (Bob Jenkins' lookup3, include/linux/jhash.h): hash maps choose
// buckets and bloom filters choose bits with it, so that our iteration order and false positives
// match the kernel's for the same seed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sockfilter::runtime {

/// jhash(key, length, initval) over bytes, as the kernel computes it on a little-endian machine.
[[nodiscard]] std::uint32_t jhash_bytes(const std::uint8_t* key, std::uint32_t length, std::uint32_t initval);

/// jhash2(words, count, initval) over `count` 32-bit words read little-endian from `key`.
[[nodiscard]] std::uint32_t jhash_words(const std::uint8_t* key, std::uint32_t count, std::uint32_t initval);

/// The kernel's choice for map keys and bloom values: jhash2 when the length is a multiple of 4,
/// else jhash.
[[nodiscard]] std::uint32_t map_hash(const std::uint8_t* key, std::uint32_t length, std::uint32_t initval);

}  // namespace sockfilter::runtime
