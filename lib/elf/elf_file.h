// SPDX-License-Identifier: MIT
// The ELF layer of the reader: a BPF relocatable object opened with libelf, its sections, symbols
// and relocations as plain values with every offset checked against the file.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "support/result.h"

namespace sockfilter::elf {

/// One section header with its name and contents (empty for SHT_NOBITS).
struct Section {
    std::size_t index = 0;
    std::string name;
    std::uint32_t type = 0;      ///< SHT_*
    std::uint64_t flags = 0;     ///< SHF_*
    std::uint64_t size = 0;      ///< sh_size (also for SHT_NOBITS)
    std::uint32_t link = 0;
    std::uint32_t info = 0;
    std::span<const std::uint8_t> data;
};

/// One symbol of .symtab.
struct Symbol {
    std::size_t index = 0;
    std::string name;
    std::uint64_t value = 0;
    std::uint64_t size = 0;
    std::uint8_t type = 0;       ///< STT_*
    std::uint8_t bind = 0;       ///< STB_*
    std::uint16_t shndx = 0;     ///< SHN_UNDEF for externs
};

/// One SHT_REL entry.
struct Reloc {
    std::uint64_t offset = 0;    ///< r_offset in the target section
    std::uint32_t sym = 0;       ///< symbol index
    std::uint32_t type = 0;      ///< R_BPF_*
    std::uint64_t entry_offset = 0;  ///< byte offset of the entry in its SHT_REL section
};

/// Relocation types of the BPF ELF ABI (llvm BPFELFObjectWriter).
enum RelocType : std::uint32_t {
    kRelNone = 0,
    kRel64_64 = 1,        ///< lddw imm64
    kRelAbs64 = 2,        ///< 64-bit data (map-in-map and prog-array initialisers)
    kRelAbs32 = 3,
    kRelNoDyld32 = 4,
    kRel64_32 = 10,       ///< call imm32
};

/// A little-endian 64-bit EM_BPF relocatable object, opened from bytes the ElfFile owns.
class ElfFile {
public:
    /// Checks the identification and header, reads every section header, the symbol table and
    /// the names; fails with ElfPos locations on anything malformed.
    [[nodiscard]] static Result<ElfFile> open(std::span<const std::uint8_t> bytes);

    [[nodiscard]] const std::vector<Section>& sections() const { return sections_; }
    [[nodiscard]] const std::vector<Symbol>& symbols() const { return symbols_; }
    /// The section named `name`, or nullptr.
    [[nodiscard]] const Section* find(std::string_view name) const;
    /// The section with header index `index`, or nullptr.
    [[nodiscard]] const Section* at(std::size_t index) const;
    /// The SHT_REL entries that apply to section `target`, in file order (empty when none).
    [[nodiscard]] const std::vector<Reloc>& relocations_for(std::size_t target) const;
    /// Name of the SHT_REL section that applies to `target`, or "" when there is none.
    [[nodiscard]] const std::string& relocation_section_name(std::size_t target) const;

    ElfFile(ElfFile&&) = default;
    ElfFile& operator=(ElfFile&&) = default;
    ElfFile(const ElfFile&) = delete;
    ElfFile& operator=(const ElfFile&) = delete;

private:
    ElfFile() = default;

    std::vector<std::uint8_t> image_;  // owns the bytes every Section::data points into
    std::vector<Section> sections_;
    std::vector<Symbol> symbols_;
    std::vector<std::vector<Reloc>> relocs_;     // by target section index
    std::vector<std::string> reloc_names_;       // by target section index
};

}  // namespace sockfilter::elf
