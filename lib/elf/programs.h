// SPDX-License-Identifier: MIT
// Code sections of an object: their functions, relocations (maps, global data, calls, kfuncs) and
// the linking of each socket program with the subprograms it calls.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "elf/btf.h"
#include "elf/elf_file.h"
#include "elf/maps.h"
#include "isa/isa.h"
#include "program/object.h"
#include "support/result.h"

namespace sockfilter::elf {

/// One function symbol of a code section, in slots.
struct Function {
    std::string name;
    std::size_t start = 0;
    std::size_t end = 0;
    bool global = false;
};

/// A call or function-pointer target: a slot of a code section.
struct CodeRef {
    std::size_t section = 0;   ///< index into CodeSections::sections
    std::size_t slot = 0;
};

/// One executable section, relocated but not yet linked.
struct CodeSection {
    const Section* elf = nullptr;
    std::vector<isa::Insn> slots;
    std::vector<Function> functions;              ///< sorted by start
    std::vector<std::optional<CodeRef>> targets;  ///< per slot: where a local call or lddw-func goes
};

/// Everything the linker needs.
struct CodeSections {
    std::vector<CodeSection> sections;
    std::vector<program::KfuncRef> kfuncs;
};

/// Whether a section name holds socket filters: `socket` or `socket/...`.
[[nodiscard]] bool is_socket_section(std::string_view name);

/// Reads the functions of every code section in `wanted` (ELF section indices), applies CO-RE
/// patches (`core`, already resolved) and relocations.
[[nodiscard]] Result<CodeSections> relocate_code(const ElfFile& file, const std::vector<std::size_t>& wanted,
                                                 const MapTable& maps,
                                                 const std::vector<std::vector<isa::Insn>>& patched_slots);

/// Builds the program whose entry is function `func` of code section `section`, appending the
/// functions it reaches by calls, depth first, and fixing call offsets; line info from `ext`.
[[nodiscard]] Result<program::ObjectProgram> link_program(const CodeSections& code, std::size_t section,
                                                          std::size_t func, const BtfExt& ext,
                                                          const struct btf* btf);

}  // namespace sockfilter::elf
