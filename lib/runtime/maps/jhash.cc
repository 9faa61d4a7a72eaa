// SPDX-License-Identifier: MIT
// lookup3 mixing as the kernel's jhash.h defines it.
#include "runtime/maps/jhash.h"

#include <bit>

#include "support/bytes.h"

namespace sockfilter::runtime {

namespace {

constexpr std::uint32_t kInitVal = 0xdeadbeef;

void mix(std::uint32_t& a, std::uint32_t& b, std::uint32_t& c) {
    a -= c; a ^= std::rotl(c, 4);  c += b;
    b -= a; b ^= std::rotl(a, 6);  a += c;
    c -= b; c ^= std::rotl(b, 8);  b += a;
    a -= c; a ^= std::rotl(c, 16); c += b;
    b -= a; b ^= std::rotl(a, 19); a += c;
    c -= b; c ^= std::rotl(b, 4);  b += a;
}

void final_mix(std::uint32_t& a, std::uint32_t& b, std::uint32_t& c) {
    c ^= b; c -= std::rotl(b, 14);
    a ^= c; a -= std::rotl(c, 11);
    b ^= a; b -= std::rotl(a, 25);
    c ^= b; c -= std::rotl(b, 16);
    a ^= c; a -= std::rotl(c, 4);
    b ^= a; b -= std::rotl(a, 14);
    c ^= b; c -= std::rotl(b, 24);
}

}  // namespace

std::uint32_t jhash_bytes(const std::uint8_t* key, std::uint32_t length, std::uint32_t initval) {
    std::uint32_t a = kInitVal + length + initval;
    std::uint32_t b = a;
    std::uint32_t c = a;
    while (length > 12) {
        a += load_le<std::uint32_t>(key);
        b += load_le<std::uint32_t>(key + 4);
        c += load_le<std::uint32_t>(key + 8);
        mix(a, b, c);
        length -= 12;
        key += 12;
    }
    if (length == 0) {
        return c;
    }
    // The 1..12 tail bytes go into a, b, c little-endian; missing bytes count as zero.
    std::uint32_t w[3] = {0, 0, 0};
    for (std::uint32_t i = 0; i < length; ++i) {
        w[i / 4] |= static_cast<std::uint32_t>(key[i]) << (8 * (i % 4));
    }
    a += w[0];
    b += w[1];
    c += w[2];
    final_mix(a, b, c);
    return c;
}

std::uint32_t jhash_words(const std::uint8_t* key, std::uint32_t count, std::uint32_t initval) {
    std::uint32_t a = kInitVal + (count << 2) + initval;
    std::uint32_t b = a;
    std::uint32_t c = a;
    while (count > 3) {
        a += load_le<std::uint32_t>(key);
        b += load_le<std::uint32_t>(key + 4);
        c += load_le<std::uint32_t>(key + 8);
        mix(a, b, c);
        count -= 3;
        key += 12;
    }
    if (count == 0) {
        return c;
    }
    a += load_le<std::uint32_t>(key);
    if (count > 1) {
        b += load_le<std::uint32_t>(key + 4);
    }
    if (count > 2) {
        c += load_le<std::uint32_t>(key + 8);
    }
    final_mix(a, b, c);
    return c;
}

std::uint32_t map_hash(const std::uint8_t* key, std::uint32_t length, std::uint32_t initval) {
    return length % 4 == 0 ? jhash_words(key, length / 4, initval) : jhash_bytes(key, length, initval);
}

}  // namespace sockfilter::runtime
