// SPDX-License-Identifier: MIT
// What a BPF object holds besides instructions: map definitions (including global data), and the
// Object that groups the programs of one ELF file with the maps they share.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "program/program.h"

namespace sockfilter::program {

/// Map types (enum bpf_map_type, include/uapi/linux/bpf.h, 6.18 numbering).
enum class MapType : std::uint32_t {
    Unspec = 0,
    Hash = 1,
    Array = 2,
    ProgArray = 3,
    PerfEventArray = 4,
    PercpuHash = 5,
    PercpuArray = 6,
    StackTrace = 7,
    CgroupArray = 8,
    LruHash = 9,
    LruPercpuHash = 10,
    LpmTrie = 11,
    ArrayOfMaps = 12,
    HashOfMaps = 13,
    Devmap = 14,
    Sockmap = 15,
    Cpumap = 16,
    Xskmap = 17,
    Sockhash = 18,
    CgroupStorage = 19,
    ReuseportSockarray = 20,
    PercpuCgroupStorage = 21,
    Queue = 22,
    Stack = 23,
    SkStorage = 24,
    DevmapHash = 25,
    StructOps = 26,
    Ringbuf = 27,
    InodeStorage = 28,
    TaskStorage = 29,
    BloomFilter = 30,
    UserRingbuf = 31,
    CgrpStorage = 32,
    Arena = 33,
};

/// The kernel's name of a map type without the BPF_MAP_TYPE_ prefix, lower case ("percpu_hash").
[[nodiscard]] std::string map_type_name(MapType type);

/// Map flags (BPF_F_*) that change userspace-visible behaviour.
enum MapFlag : std::uint32_t {
    kMapNoPrealloc = 1U << 0,
    kMapNoCommonLru = 1U << 1,
    kMapRdonly = 1U << 3,
    kMapWronly = 1U << 4,
    kMapRdonlyProg = 1U << 7,
    kMapWronlyProg = 1U << 8,
    kMapMmapable = 1U << 10,
};

/// A map as an object defines it: what BPF_MAP_CREATE would be given, plus the initial contents
/// of global-data maps and the BTF type ids of key and value when the object has BTF.
struct MapSpec {
    std::string name;                 ///< the map's symbol, or ".rodata", ".data", ".bss", ".data.foo"
    MapType type = MapType::Unspec;
    std::uint32_t key_size = 0;
    std::uint32_t value_size = 0;
    std::uint32_t max_entries = 0;
    std::uint32_t map_flags = 0;
    std::uint32_t map_extra = 0;      ///< bloom filter: number of hash functions
    std::uint32_t btf_key_type_id = 0;
    std::uint32_t btf_value_type_id = 0;
    /// Array-of-maps / hash-of-maps: the inner map's definition.
    std::shared_ptr<const MapSpec> inner;
    /// Global data (`.rodata`, `.data`): the section's bytes, the value of element 0. Empty for
    /// `.bss` and ordinary maps.
    std::vector<std::uint8_t> initial_value;
    /// Initial (key index, target name) pairs of `__array(values, ...)` in prog arrays and
    /// map-in-map definitions.
    std::vector<std::pair<std::uint32_t, std::string>> initial_slots;
    /// `.rodata` is frozen after creation: programs cannot write it (BPF_F_RDONLY_PROG).
    bool frozen = false;
};

/// A kfunc an object calls, by name; `CallKfunc` instructions carry `imm` = index in
/// Object::kfuncs until a backend resolves the name.
struct KfuncRef {
    std::string name;
};

/// One source line from BTF line info: the instruction it starts at and where it came from.
struct LineInfo {
    std::uint32_t insn = 0;   ///< slot index in the program
    std::string file;
    std::uint32_t line = 0;
    std::uint32_t col = 0;
    std::string text;         ///< the source line itself, as BTF keeps it
    /// The record as BPF_PROG_LOAD takes it (struct bpf_line_info, with `insn` as insn_off):
    /// offsets of `file` and `text` in Object::btf's string table, and line << 10 | col.
    std::uint32_t file_name_off = 0;
    std::uint32_t line_off = 0;
    std::uint32_t line_col = 0;
};

/// One function of a program from BTF func info (struct bpf_func_info): where it starts and its
/// BTF FUNC type in Object::btf.
struct FuncInfo {
    std::uint32_t insn = 0;   ///< slot index in the program of the function's first instruction
    std::uint32_t type_id = 0;
};

/// A program of an object with what belongs to it alone.
struct ObjectProgram {
    Program program;
    std::string section;      ///< "socket", "socket/filter", ...
    std::vector<LineInfo> lines;   ///< ascending by insn
    std::vector<FuncInfo> funcs{};  ///< ascending by insn: the entry, then each subprogram appended
};

/// Everything one BPF ELF object defines: its socket-filter programs, the maps (and global data)
/// they share, the license, the kfuncs they call. Map references in the programs' lddw
/// instructions are by index into `maps` (BPF_PSEUDO_MAP_IDX / _IDX_VALUE).
struct Object {
    std::string path;
    std::string license;
    std::vector<ObjectProgram> programs;
    std::vector<MapSpec> maps;
    std::vector<KfuncRef> kfuncs;
    /// The object's BTF in raw form (empty without BTF): the types that MapSpec::btf_key_type_id,
    /// btf_value_type_id and FuncInfo::type_id name, and the strings of LineInfo. It is the `.BTF`
    /// section as libbpf finalizes it when it opens the object (DATASEC sizes and variable offsets
    /// filled in, extern functions in `.ksyms` replaced), which the kernel's BPF_BTF_LOAD accepts
    /// and whose type ids and string offsets are those of the file; when libbpf cannot open the
    /// object it is the section's bytes as they are in the file.
    std::vector<std::uint8_t> btf;
    /// Programs of other types the object also contains: (section, type name), listed and refused.
    std::vector<std::pair<std::string, std::string>> other_programs;
};

}  // namespace sockfilter::program
