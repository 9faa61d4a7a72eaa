// SPDX-License-Identifier: MIT
// The object's BTF through libbpf's BTF API, and a small bounds-checked reader of .BTF.ext (func
// info, line info, CO-RE relocations), whose records libbpf 1.1 does not expose.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "elf/elf_file.h"
#include "support/result.h"

struct btf;

namespace sockfilter::elf {

/// Frees a libbpf `struct btf`.
struct BtfDeleter {
    void operator()(struct btf* b) const;
};
/// An owned libbpf BTF object.
using BtfPtr = std::unique_ptr<struct btf, BtfDeleter>;

/// Parses the object's `.BTF` section; null when the object has none.
[[nodiscard]] Result<BtfPtr> load_object_btf(const ElfFile& file);

/// Loads CO-RE target BTF from `path` (raw BTF such as /sys/kernel/btf/vmlinux, or an ELF with .BTF).
[[nodiscard]] Result<BtfPtr> load_target_btf(const std::string& path);

/// bpf_func_info: the function whose BTF FUNC type starts at `insn_off`.
struct FuncInfoRecord {
    std::uint32_t insn_off = 0;  ///< byte offset in the ELF section
    std::uint32_t type_id = 0;
};

/// bpf_line_info: a source line starting at `insn_off`.
struct LineInfoRecord {
    std::uint32_t insn_off = 0;  ///< byte offset in the ELF section
    std::uint32_t file_name_off = 0;
    std::uint32_t line_off = 0;
    std::uint32_t line_col = 0;  ///< line << 10 | column
};

/// CO-RE relocation kinds (enum bpf_core_relo_kind).
enum class CoreKind : std::uint32_t {
    FieldByteOffset = 0,
    FieldByteSize = 1,
    FieldExists = 2,
    FieldSigned = 3,
    FieldLshiftU64 = 4,
    FieldRshiftU64 = 5,
    TypeIdLocal = 6,
    TypeIdTarget = 7,
    TypeExists = 8,
    TypeSize = 9,
    EnumvalExists = 10,
    EnumvalValue = 11,
    TypeMatches = 12,
};

/// The name libbpf uses for a CO-RE relocation kind ("byte_off", "type_exists", ...).
[[nodiscard]] std::string core_kind_name(CoreKind kind);

/// bpf_core_relo: patch the instruction at `insn_off` with a property of `type_id` reached through
/// the access string.
struct CoreReloRecord {
    std::uint32_t insn_off = 0;  ///< byte offset in the ELF section
    std::uint32_t type_id = 0;   ///< local (object) BTF type id
    std::uint32_t access_str_off = 0;
    CoreKind kind = CoreKind::FieldByteOffset;
};

/// .BTF.ext records grouped by the ELF section they describe.
struct BtfExt {
    std::map<std::string, std::vector<FuncInfoRecord>> funcs;
    std::map<std::string, std::vector<LineInfoRecord>> lines;
    std::map<std::string, std::vector<CoreReloRecord>> core;
    std::size_t func_count = 0;
    std::size_t line_count = 0;
    std::size_t core_count = 0;
};

/// Reads `.BTF.ext` (empty when the object has none); section names resolve through `btf`.
[[nodiscard]] Result<BtfExt> read_btf_ext(const ElfFile& file, const struct btf* btf);

/// Whether every name offset of `btf` lies in its string table and every type it references
/// exists: what libbpf's object loader assumes of BTF that btf__new accepted.
[[nodiscard]] bool btf_references_valid(const struct btf* btf);

/// A string of the object's BTF string table, or nullptr when `off` is outside it.
[[nodiscard]] const char* btf_string(const struct btf* btf, std::uint32_t off);

}  // namespace sockfilter::elf
