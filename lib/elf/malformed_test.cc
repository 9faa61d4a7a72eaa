// SPDX-License-Identifier: MIT
// Malformed objects derived from valid fixtures by mutating bytes: each fails with its exact
// message and location, and no mutation crashes the reader.
#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>

#include "elf/elf.h"
#include "elf/test_util.h"

namespace sockfilter::elf {
namespace {

using Bytes = std::vector<std::uint8_t>;
using testing::fixture;

template <class T>
T get(const Bytes& b, std::size_t off) {
    T v;
    std::memcpy(&v, b.data() + off, sizeof(T));
    return v;
}

template <class T>
void put(Bytes& b, std::size_t off, T v) {
    std::memcpy(b.data() + off, &v, sizeof(T));
}

// File offset of the section header of `name`.
std::size_t shdr_of(const Bytes& b, const std::string& name) {
    const auto eh = get<Elf64_Ehdr>(b, 0);
    const auto strtab = get<Elf64_Shdr>(b, eh.e_shoff + eh.e_shstrndx * sizeof(Elf64_Shdr));
    for (std::size_t i = 0; i < eh.e_shnum; ++i) {
        const std::size_t at = eh.e_shoff + i * sizeof(Elf64_Shdr);
        const auto sh = get<Elf64_Shdr>(b, at);
        if (name == reinterpret_cast<const char*>(b.data() + strtab.sh_offset + sh.sh_name)) {
            return at;
        }
    }
    ADD_FAILURE() << "no section " << name;
    return 0;
}

Bytes fixture_ok(const std::string& name) {
    Bytes b = fixture(name);
    if (b.size() < sizeof(Elf64_Ehdr)) {
        ADD_FAILURE() << "cannot read " << testing::fixture_path(name);
        b.assign(sizeof(Elf64_Ehdr), 0);
    }
    return b;
}

std::string error_of(const Bytes& b) {
    auto obj = read_object(b, "bad.o");
    EXPECT_FALSE(obj.has_value());
    return obj ? std::string() : obj.error().render();
}

TEST(Malformed, NotElf) {
    const std::string text = "SEC(\"socket\") int f() { return 0; }";
    EXPECT_EQ(error_of(Bytes(text.begin(), text.end())),
              "bad.o: section ELF header+0x0: not an ELF file (no \\x7fELF magic)");
    EXPECT_EQ(error_of(Bytes{}), "bad.o: section ELF header+0x0: not an ELF file (no \\x7fELF magic)");
}

TEST(Malformed, Truncated) {
    Bytes b = fixture_ok("simple.o");
    b.resize(40);
    EXPECT_EQ(error_of(b), "bad.o: section ELF header+0x0: truncated ELF header (40 of 64 bytes)");
    b = fixture_ok("simple.o");
    b.resize(10);
    EXPECT_EQ(error_of(b), "bad.o: section ELF header+0x0: truncated ELF identification (10 bytes)");
    b = fixture_ok("simple.o");
    b.resize(b.size() / 2);  // the section header table is at the end
    const auto eh = get<Elf64_Ehdr>(b, 0);
    EXPECT_EQ(error_of(b), fmt::format("bad.o: section ELF header+0x28: section header table ({} bytes at {:#x}) runs "
                                       "past the end of the file ({} bytes)", eh.e_shnum * sizeof(Elf64_Shdr),
                                       eh.e_shoff, b.size()));
}

TEST(Malformed, WrongMachineClassEndianness) {
    Bytes b = fixture_ok("simple.o");
    put<std::uint16_t>(b, 18, EM_X86_64);
    EXPECT_EQ(error_of(b), "bad.o: section ELF header+0x12: e_machine 62 is not EM_BPF (247): not a BPF object");
    b = fixture_ok("simple.o");
    b[EI_CLASS] = ELFCLASS32;
    EXPECT_EQ(error_of(b), "bad.o: section ELF header+0x4: ELF class 1 is not ELFCLASS64 (BPF objects are 64-bit)");
    b = fixture_ok("simple.o");
    b[EI_DATA] = ELFDATA2MSB;
    EXPECT_EQ(error_of(b), "bad.o: section ELF header+0x5: ELF data encoding 2 is not little-endian (big-endian "
                           "bpfeb objects are not supported)");
    b = fixture_ok("simple.o");
    put<std::uint16_t>(b, 16, ET_EXEC);
    EXPECT_EQ(error_of(b), "bad.o: section ELF header+0x10: e_type 2 is not ET_REL: BPF objects are relocatable files");
}

TEST(Malformed, BadSectionHeaderOffset) {
    Bytes b = fixture_ok("simple.o");
    const std::size_t sh = shdr_of(b, "socket");
    put<std::uint64_t>(b, sh + offsetof(Elf64_Shdr, sh_offset), 0xfffff0);
    EXPECT_EQ(error_of(b), fmt::format("bad.o: section socket+0x0: truncated section: 40 bytes at file offset "
                                       "0xfffff0 run past the end of the file ({} bytes)", b.size()));
}

TEST(Malformed, RelocationMissingSymbol) {
    Bytes b = fixture_ok("globals.o");
    const auto rel = get<Elf64_Shdr>(b, shdr_of(b, ".relsocket"));
    auto r = get<Elf64_Rel>(b, rel.sh_offset);
    r.r_info = ELF64_R_INFO(999, ELF64_R_TYPE(r.r_info));
    put(b, rel.sh_offset, r);
    EXPECT_EQ(error_of(b), "bad.o: section .relsocket+0x0: relocation at socket+0x8 against missing symbol #999 (the "
                           "symbol table has 23 entries)");
}

TEST(Malformed, RelocationBadType) {
    Bytes b = fixture_ok("globals.o");
    const auto rel = get<Elf64_Shdr>(b, shdr_of(b, ".relsocket"));
    auto r = get<Elf64_Rel>(b, rel.sh_offset + sizeof(Elf64_Rel));
    r.r_info = ELF64_R_INFO(ELF64_R_SYM(r.r_info), 2);
    put(b, rel.sh_offset + sizeof(Elf64_Rel), r);
    EXPECT_EQ(error_of(b), "bad.o: section .relsocket+0x10: bad relocation type 2 at socket+0x30 (expected R_BPF_64_64 "
                           "for this instruction)");
}

TEST(Malformed, RelocationOutsideSection) {
    Bytes b = fixture_ok("subprog.o");
    const auto rel = get<Elf64_Shdr>(b, shdr_of(b, ".relsocket"));
    auto r = get<Elf64_Rel>(b, rel.sh_offset);
    r.r_offset = 0x1000;
    put(b, rel.sh_offset, r);
    EXPECT_EQ(error_of(b), "bad.o: section .relsocket+0x0: relocation offset 0x1000 is not an instruction of section "
                           "socket (80 bytes)");
    r.r_offset = 0x8;  // not a call or lddw
    put(b, rel.sh_offset, r);
    EXPECT_EQ(error_of(b), "bad.o: section .relsocket+0x0: relocation at socket+0x8 on opcode 0x95, which is neither "
                           "lddw nor call");
}

TEST(Malformed, UnknownMapField) {
    Bytes b = fixture_ok("maps.o");
    const auto btf = get<Elf64_Shdr>(b, shdr_of(b, ".BTF"));
    const std::string from = std::string("max_entries") + '\0';
    auto begin = b.begin() + static_cast<std::ptrdiff_t>(btf.sh_offset);
    auto end = begin + static_cast<std::ptrdiff_t>(btf.sh_size);
    auto it = std::search(begin, end, from.begin(), from.end());
    ASSERT_NE(it, end);
    *(it + 10) = 'z';
    EXPECT_EQ(error_of(b), "bad.o: section .maps+0x0: map 'inner_a': unknown field 'max_entriez'");
}

TEST(Malformed, MapsWithoutBtf) {
    Bytes b = fixture_ok("maps.o");
    const std::size_t sh = shdr_of(b, ".BTF");
    auto s = get<Elf64_Shdr>(b, sh);
    const auto eh = get<Elf64_Ehdr>(b, 0);
    const auto strtab = get<Elf64_Shdr>(b, eh.e_shoff + eh.e_shstrndx * sizeof(Elf64_Shdr));
    b[strtab.sh_offset + s.sh_name + 1] = 'X';  // ".XTF"
    EXPECT_EQ(error_of(b), "bad.o: section .BTF.ext+0x0: .BTF.ext without a .BTF section");
}

// Truncations and byte corruptions of every fixture fail cleanly or succeed; none may crash
// (run under -DSF_SANITIZE="address;undefined" to check memory safety too).
TEST(Malformed, MutationsNeverCrash) {
    for (const char* name : {"simple.o", "subprog.o", "maps.o", "globals.o", "kfunc.o", "core.o", "legacy_maps.o"}) {
        const Bytes good = fixture(name);
        ASSERT_FALSE(good.empty());
        for (std::size_t len = 0; len < good.size(); len += 61) {
            Bytes b(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len));
            (void)read_object(b, name, ReadOptions{testing::fixture_path("core_target.o")});
        }
        for (std::size_t at = 0; at < good.size(); at += 7) {
            Bytes b = good;
            b[at] ^= 0xff;
            (void)read_object(b, name, ReadOptions{testing::fixture_path("core_target.o")});
            (void)read_btf_summary(b, name);
        }
    }
}

}  // namespace
}  // namespace sockfilter::elf
