// SPDX-License-Identifier: MIT
// Opening a BPF object with libelf: header checks, section headers, symbols and relocations.
#include "elf/elf_file.h"

#include <gelf.h>
#include <libelf.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>

namespace sockfilter::elf {

namespace {

struct ElfCloser {
    void operator()(Elf* e) const { elf_end(e); }
};
using ElfHandle = std::unique_ptr<Elf, ElfCloser>;

bool libelf_ready() {
    static const bool ready = elf_version(EV_CURRENT) != EV_NONE;
    return ready;
}

std::string libelf_message() {
    const char* m = elf_errmsg(-1);
    return m != nullptr ? m : "unknown libelf error";
}

ElfPos header_pos(std::uint64_t offset) { return ElfPos{"ELF header", offset}; }

}  // namespace

Result<ElfFile> ElfFile::open(std::span<const std::uint8_t> bytes) {
    if (!libelf_ready()) {
        return fail(Errc::NotSupported, "libelf: {}", libelf_message());
    }
    if (bytes.size() < 4 || bytes[0] != 0x7f || bytes[1] != 'E' || bytes[2] != 'L' || bytes[3] != 'F') {
        return fail(Errc::Format, header_pos(0), "not an ELF file (no \\x7fELF magic)");
    }
    if (bytes.size() < EI_NIDENT) {
        return fail(Errc::Format, header_pos(0), "truncated ELF identification ({} bytes)", bytes.size());
    }
    if (bytes[EI_CLASS] != ELFCLASS64) {
        return fail(Errc::Format, header_pos(EI_CLASS), "ELF class {} is not ELFCLASS64 (BPF objects are 64-bit)",
                    bytes[EI_CLASS]);
    }
    if (bytes[EI_DATA] != ELFDATA2LSB) {
        return fail(Errc::Format, header_pos(EI_DATA),
                    "ELF data encoding {} is not little-endian (big-endian bpfeb objects are not supported)",
                    bytes[EI_DATA]);
    }
    if (bytes.size() < sizeof(Elf64_Ehdr)) {
        return fail(Errc::Format, header_pos(0), "truncated ELF header ({} of {} bytes)", bytes.size(),
                    sizeof(Elf64_Ehdr));
    }

    Elf64_Ehdr raw;
    std::memcpy(&raw, bytes.data(), sizeof(raw));
    const std::uint64_t table_size = static_cast<std::uint64_t>(raw.e_shentsize) * std::max<std::uint16_t>(raw.e_shnum, 1);
    if (raw.e_shoff == 0 || raw.e_shoff > bytes.size() || table_size > bytes.size() - raw.e_shoff) {
        return fail(Errc::Format, header_pos(offsetof(Elf64_Ehdr, e_shoff)),
                    "section header table ({} bytes at {:#x}) runs past the end of the file ({} bytes)", table_size,
                    raw.e_shoff, bytes.size());
    }

    ElfFile f;
    f.image_.assign(bytes.begin(), bytes.end());
    ElfHandle elf(elf_memory(reinterpret_cast<char*>(f.image_.data()), f.image_.size()));
    if (!elf || elf_kind(elf.get()) != ELF_K_ELF) {
        return fail(Errc::Format, header_pos(0), "not an ELF object: {}", libelf_message());
    }
    GElf_Ehdr eh;
    if (gelf_getehdr(elf.get(), &eh) == nullptr) {
        return fail(Errc::Format, header_pos(0), "bad ELF header: {}", libelf_message());
    }
    if (eh.e_machine != EM_BPF) {
        return fail(Errc::Format, header_pos(18), "e_machine {} is not EM_BPF ({}): not a BPF object", eh.e_machine,
                    EM_BPF);
    }
    if (eh.e_type != ET_REL) {
        return fail(Errc::Format, header_pos(16), "e_type {} is not ET_REL: BPF objects are relocatable files",
                    eh.e_type);
    }
    std::size_t nsec = 0;
    std::size_t shstrndx = 0;
    if (elf_getshdrnum(elf.get(), &nsec) != 0 || elf_getshdrstrndx(elf.get(), &shstrndx) != 0) {
        return fail(Errc::Format, header_pos(eh.e_shoff), "bad section header table: {}", libelf_message());
    }
    const std::uint64_t file_size = f.image_.size();
    f.sections_.resize(nsec);
    std::size_t symtab = 0;
    for (std::size_t i = 0; i < nsec; ++i) {
        Elf_Scn* scn = elf_getscn(elf.get(), i);
        GElf_Shdr sh;
        if (scn == nullptr || gelf_getshdr(scn, &sh) == nullptr) {
            return fail(Errc::Format, ElfPos{fmt::format("#{}", i), 0}, "bad section header: {}", libelf_message());
        }
        Section& s = f.sections_[i];
        s.index = i;
        const char* name = elf_strptr(elf.get(), shstrndx, sh.sh_name);
        if (i != 0 && name == nullptr) {
            return fail(Errc::Format, ElfPos{fmt::format("#{}", i), 0}, "section name offset {} is outside .shstrtab",
                        sh.sh_name);
        }
        s.name = name != nullptr ? name : "";
        s.type = sh.sh_type;
        s.flags = sh.sh_flags;
        s.size = sh.sh_size;
        s.link = sh.sh_link;
        s.info = sh.sh_info;
        if (sh.sh_type != SHT_NOBITS && sh.sh_type != SHT_NULL) {
            if (sh.sh_offset > file_size || sh.sh_size > file_size - sh.sh_offset) {
                return fail(Errc::Format, ElfPos{s.name, 0},
                            "truncated section: {} bytes at file offset {:#x} run past the end of the file ({} bytes)",
                            sh.sh_size, sh.sh_offset, file_size);
            }
            s.data = std::span<const std::uint8_t>(f.image_).subspan(sh.sh_offset, sh.sh_size);
        }
        if (sh.sh_type == SHT_SYMTAB) {
            if (symtab != 0) {
                return fail(Errc::Format, ElfPos{s.name, 0}, "more than one symbol table");
            }
            symtab = i;
        }
    }
    if (symtab == 0) {
        return fail(Errc::Format, header_pos(eh.e_shoff), "no symbol table (.symtab)");
    }

    // Symbols.
    {
        const Section& st = f.sections_[symtab];
        Elf_Data* data = elf_getdata(elf_getscn(elf.get(), symtab), nullptr);
        if (data == nullptr || st.link >= nsec) {
            return fail(Errc::Format, ElfPos{st.name, 0}, "unreadable symbol table: {}", libelf_message());
        }
        const std::size_t n = st.size / sizeof(Elf64_Sym);
        f.symbols_.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            GElf_Sym sym;
            if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) {
                return fail(Errc::Format, ElfPos{st.name, i * sizeof(Elf64_Sym)}, "bad symbol #{}: {}", i,
                            libelf_message());
            }
            Symbol& out = f.symbols_[i];
            out.index = i;
            const char* name = elf_strptr(elf.get(), st.link, sym.st_name);
            if (name == nullptr) {
                return fail(Errc::Format, ElfPos{st.name, i * sizeof(Elf64_Sym)},
                            "symbol #{} name offset {} is outside the string table", i, sym.st_name);
            }
            out.name = name;
            out.value = sym.st_value;
            out.size = sym.st_size;
            out.type = static_cast<std::uint8_t>(GELF_ST_TYPE(sym.st_info));
            out.bind = static_cast<std::uint8_t>(GELF_ST_BIND(sym.st_info));
            out.shndx = sym.st_shndx;
            if (out.shndx != SHN_UNDEF && out.shndx < SHN_LORESERVE && out.shndx >= nsec) {
                return fail(Errc::Format, ElfPos{st.name, i * sizeof(Elf64_Sym)},
                            "symbol '{}' refers to section index {} (the object has {})", out.name, out.shndx, nsec);
            }
        }
    }

    // Relocations, indexed by the section they apply to.
    f.relocs_.resize(nsec);
    f.reloc_names_.resize(nsec);
    for (std::size_t i = 0; i < nsec; ++i) {
        const Section& rs = f.sections_[i];
        if (rs.type == SHT_RELA) {
            return fail(Errc::Format, ElfPos{rs.name, 0}, "SHT_RELA relocations are not used by BPF objects");
        }
        if (rs.type != SHT_REL) {
            continue;
        }
        if (rs.info == 0 || rs.info >= nsec) {
            return fail(Errc::Format, ElfPos{rs.name, 0}, "relocation section applies to section index {} (the object "
                        "has {})", rs.info, nsec);
        }
        if (rs.link != symtab) {
            return fail(Errc::Format, ElfPos{rs.name, 0}, "relocation section links to section {}, not the symbol table",
                        rs.link);
        }
        Elf_Data* data = elf_getdata(elf_getscn(elf.get(), i), nullptr);
        if (data == nullptr) {
            return fail(Errc::Format, ElfPos{rs.name, 0}, "unreadable relocation section: {}", libelf_message());
        }
        const std::size_t n = rs.size / sizeof(Elf64_Rel);
        auto& out = f.relocs_[rs.info];
        f.reloc_names_[rs.info] = rs.name;
        out.reserve(n);
        for (std::size_t k = 0; k < n; ++k) {
            GElf_Rel rel;
            if (gelf_getrel(data, static_cast<int>(k), &rel) == nullptr) {
                return fail(Errc::Format, ElfPos{rs.name, k * sizeof(Elf64_Rel)}, "bad relocation #{}: {}", k,
                            libelf_message());
            }
            out.push_back(Reloc{rel.r_offset, static_cast<std::uint32_t>(GELF_R_SYM(rel.r_info)),
                                static_cast<std::uint32_t>(GELF_R_TYPE(rel.r_info)), k * sizeof(Elf64_Rel)});
        }
    }
    return f;
}

const Section* ElfFile::find(std::string_view name) const {
    for (const auto& s : sections_) {
        if (s.name == name && s.type != SHT_NULL) {
            return &s;
        }
    }
    return nullptr;
}

const Section* ElfFile::at(std::size_t index) const {
    return index < sections_.size() ? &sections_[index] : nullptr;
}

const std::vector<Reloc>& ElfFile::relocations_for(std::size_t target) const {
    static const std::vector<Reloc> kNone;
    return target < relocs_.size() ? relocs_[target] : kNone;
}

const std::string& ElfFile::relocation_section_name(std::size_t target) const {
    static const std::string kNone;
    return target < reloc_names_.size() ? reloc_names_[target] : kNone;
}

}  // namespace sockfilter::elf
