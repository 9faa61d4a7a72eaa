// SPDX-License-Identifier: MIT
// Reading BPF ELF objects (clang -target bpf) into program::Object: socket-filter programs with
// their .text subprograms, maps and global data, kfunc externs, BTF line info and CO-RE
// relocations applied against the kernel's BTF (docs/ELF.md).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "program/object.h"
#include "support/result.h"

namespace sockfilter::elf {

/// Where CO-RE relocations find the target BTF when the caller gives none.
inline constexpr const char* kVmlinuxBtf = "/sys/kernel/btf/vmlinux";

/// Options of read_object().
struct ReadOptions {
    /// CO-RE target: raw BTF (the kernel's /sys/kernel/btf/vmlinux) or an ELF file with .BTF.
    /// Loaded only when the object has CO-RE relocations.
    std::string btf_path = kVmlinuxBtf;
};

/// Reads the object in `bytes` (named `path` in messages). Every program in a `socket` or
/// `socket/...` section becomes one ObjectProgram, with the .text subprograms it calls appended
/// in call order (as libbpf does); map and global-data references become lddw with
/// BPF_PSEUDO_MAP_IDX / BPF_PSEUDO_MAP_IDX_VALUE and imm = index into Object::maps; kfunc calls
/// become CallKfunc with imm = index into Object::kfuncs. Programs of other types are listed in
/// Object::other_programs; an object with no socket filter is refused, naming the type. Errors
/// carry the path as context and an ElfPos when they concern a place in the file.
[[nodiscard]] Result<program::Object> read_object(std::span<const std::uint8_t> bytes, std::string path,
                                                  const ReadOptions& options = {});

/// Picks a program of `object`: the one named `name`, or, with an empty name, the only one. An
/// ambiguous choice fails listing the programs; a name that is a section of another program type
/// fails naming the type.
[[nodiscard]] Result<const program::ObjectProgram*> select_program(const program::Object& object,
                                                                   const std::string& name);

/// What an object's BTF holds, for `sockfilter inspect`.
struct BtfSummary {
    bool present = false;          ///< the object has a .BTF section
    std::uint32_t types = 0;       ///< number of BTF types (without the void type 0)
    std::size_t func_infos = 0;    ///< .BTF.ext func_info records
    std::size_t line_infos = 0;    ///< .BTF.ext line_info records
    std::size_t core_relos = 0;    ///< .BTF.ext CO-RE relocation records
};

/// Summarises the BTF of the object in `bytes`.
[[nodiscard]] Result<BtfSummary> read_btf_summary(std::span<const std::uint8_t> bytes, const std::string& path);

}  // namespace sockfilter::elf
