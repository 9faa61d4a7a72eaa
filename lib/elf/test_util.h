// SPDX-License-Identifier: MIT
// Fixture access for the elf tests: tests/elf/*.o read from the source tree.
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace sockfilter::elf::testing {

/// The path of fixture `name` ("simple.o") in tests/elf (SF_ELF_FIXTURES is set by CMake).
inline std::string fixture_path(const std::string& name) { return std::string(SF_ELF_FIXTURES) + "/" + name; }

/// The bytes of fixture `name`; empty if it cannot be read.
inline std::vector<std::uint8_t> fixture(const std::string& name) {
    std::ifstream in(fixture_path(name), std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace sockfilter::elf::testing
