// SPDX-License-Identifier: MIT
// Map definitions of an object: BTF-defined maps in `.maps`, legacy `struct bpf_map_def` in
// `maps`, and global data sections as one-element array maps.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "elf/elf_file.h"
#include "program/object.h"
#include "support/result.h"

struct btf;

namespace sockfilter::elf {

/// The maps of an object and how relocations find them.
struct MapTable {
    std::vector<program::MapSpec> maps;

    /// The map defined by a symbol at `offset` of the map section `shndx` (`.maps` or `maps`).
    [[nodiscard]] std::optional<std::uint32_t> by_symbol(std::size_t shndx, std::uint64_t offset) const;
    /// The global-data map of section `shndx`.
    [[nodiscard]] std::optional<std::uint32_t> by_data_section(std::size_t shndx) const;
    /// Whether `shndx` is `.maps` or `maps`.
    [[nodiscard]] bool is_map_section(std::size_t shndx) const;

    struct Entry {
        std::size_t shndx = 0;
        std::uint64_t offset = 0;
        bool data = false;
        std::uint32_t index = 0;
    };
    std::vector<Entry> entries;
};

/// Whether a section name is global data: `.rodata`, `.data`, `.bss`, `.rodata.*`, `.data.*`.
[[nodiscard]] bool is_data_section_name(std::string_view name);

/// Collects every map: `.maps` (needs `btf`), `maps`, then the global data sections.
[[nodiscard]] Result<MapTable> collect_maps(const ElfFile& file, const struct btf* btf);

}  // namespace sockfilter::elf
