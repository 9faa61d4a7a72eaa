// SPDX-License-Identifier: MIT
// Writing a BPF ELF object that libbpf and `bpftool prog load` accept (docs/ELF.md).
#pragma once

#include <cstdint>
#include <vector>

#include "program/object.h"
#include "support/result.h"

namespace sockfilter::elf {

/// The bytes of a relocatable EM_BPF ELF64 object holding `object`: one section per program,
/// named by ObjectProgram::section ("socket" when empty), with a global function symbol named
/// after the program; a "license" section with Object::license ("GPL" when empty); .symtab,
/// .strtab and .shstrtab. No .BTF is written. Errors (Errc::NotSupported): maps, kfunc calls and
/// programs of more than one function, which need relocations and BTF this writer does not emit
/// yet; two programs in one section name (Errc::InvalidArgument).
[[nodiscard]] Result<std::vector<std::uint8_t>> write_object(const program::Object& object);

}  // namespace sockfilter::elf
