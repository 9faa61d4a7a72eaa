// SPDX-License-Identifier: MIT
// The ELF object writer: sections and symbols through libelf into a memory file.
#include "elf/writer.h"

#include <gelf.h>
#include <libelf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>

namespace sockfilter::elf {

namespace {

constexpr std::uint16_t kEmBpf = 247;

/// A string table being built: offsets of added names.
class StrTab {
public:
    StrTab() { data_.push_back('\0'); }
    std::uint32_t add(const std::string& s) {
        const auto off = static_cast<std::uint32_t>(data_.size());
        data_.insert(data_.end(), s.begin(), s.end());
        data_.push_back('\0');
        return off;
    }
    std::string& data() { return data_; }

private:
    std::string data_;
};

/// Closes what it owns on every path out.
struct Resources {
    int fd = -1;
    Elf* elf = nullptr;
    ~Resources() {
        if (elf != nullptr) elf_end(elf);
        if (fd >= 0) close(fd);
    }
};

tl::unexpected<Error> libelf_error(const char* what) {
    const char* m = elf_errmsg(-1);
    return fail(Errc::Io, "libelf: {}: {}", what, m != nullptr ? m : "unknown error");
}

Elf_Scn* add_section(Elf* elf, std::uint32_t name, std::uint32_t type, std::uint64_t flags, void* bytes,
                     std::size_t size, std::size_t align, Elf_Type data_type = ELF_T_BYTE) {
    Elf_Scn* scn = elf_newscn(elf);
    if (scn == nullptr) return nullptr;
    Elf_Data* d = elf_newdata(scn);
    if (d == nullptr) return nullptr;
    d->d_buf = bytes;
    d->d_size = size;
    d->d_align = align;
    d->d_type = data_type;
    d->d_version = EV_CURRENT;
    GElf_Shdr sh{};
    if (gelf_getshdr(scn, &sh) == nullptr) return nullptr;
    sh.sh_name = name;
    sh.sh_type = type;
    sh.sh_flags = flags;
    sh.sh_addralign = align;
    if (gelf_update_shdr(scn, &sh) == 0) return nullptr;
    return scn;
}

}  // namespace

Result<std::vector<std::uint8_t>> write_object(const program::Object& object) {
    if (!object.maps.empty() || !object.kfuncs.empty()) {
        return fail(Errc::NotSupported, "writing an object with maps or kfunc calls is not supported yet (it needs "
                                        "relocations and BTF)");
    }
    std::set<std::string> sections;
    for (const auto& p : object.programs) {
        if (p.program.functions().size() > 1) {
            return fail(Errc::NotSupported, "program {}: writing bpf-to-bpf calls is not supported yet", p.program.name());
        }
        const std::string sec = p.section.empty() ? "socket" : p.section;
        if (!sections.insert(sec).second) {
            return fail(Errc::InvalidArgument, "two programs in section \"{}\"", sec);
        }
    }
    if (elf_version(EV_CURRENT) == EV_NONE) {
        return fail(Errc::NotSupported, "libelf: {}", elf_errmsg(-1));
    }
    Resources res;
    res.fd = memfd_create("sockfilter-object", MFD_CLOEXEC);
    if (res.fd < 0) {
        Error e{Errc::Io, fmt::format("memfd_create: {}", std::strerror(errno)), {}, {}, errno};
        return tl::unexpected(std::move(e));
    }
    res.elf = elf_begin(res.fd, ELF_C_WRITE, nullptr);
    if (res.elf == nullptr || gelf_newehdr(res.elf, ELFCLASS64) == 0) {
        return libelf_error("new ELF header");
    }
    GElf_Ehdr eh{};
    gelf_getehdr(res.elf, &eh);
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_type = ET_REL;
    eh.e_machine = kEmBpf;
    eh.e_version = EV_CURRENT;

    StrTab shstr;
    StrTab str;
    std::vector<std::vector<std::uint8_t>> code;
    std::vector<GElf_Sym> syms(1, GElf_Sym{});
    for (const auto& p : object.programs) {
        code.push_back(p.program.bytes());
    }
    std::string license = object.license.empty() ? std::string("GPL") : object.license;
    license.push_back('\0');
    for (std::size_t i = 0; i < object.programs.size(); ++i) {
        const auto& p = object.programs[i];
        Elf_Scn* scn = add_section(res.elf, shstr.add(p.section.empty() ? "socket" : p.section), SHT_PROGBITS,
                                   SHF_ALLOC | SHF_EXECINSTR, code[i].data(), code[i].size(), 8);
        if (scn == nullptr) return libelf_error("program section");
        GElf_Sym s{};
        s.st_name = str.add(p.program.name());
        s.st_info = GELF_ST_INFO(STB_GLOBAL, STT_FUNC);
        s.st_shndx = static_cast<std::uint16_t>(elf_ndxscn(scn));
        s.st_size = code[i].size();
        syms.push_back(s);
    }
    Elf_Scn* lic = add_section(res.elf, shstr.add("license"), SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, license.data(),
                               license.size(), 1);
    if (lic == nullptr) return libelf_error("license section");
    GElf_Sym ls{};
    ls.st_name = str.add("_license");
    ls.st_info = GELF_ST_INFO(STB_GLOBAL, STT_OBJECT);
    ls.st_shndx = static_cast<std::uint16_t>(elf_ndxscn(lic));
    ls.st_size = license.size();
    syms.push_back(ls);

    const std::uint32_t symtab_name = shstr.add(".symtab");
    const std::uint32_t strtab_name = shstr.add(".strtab");
    const std::uint32_t shstrtab_name = shstr.add(".shstrtab");
    Elf_Scn* strtab = add_section(res.elf, strtab_name, SHT_STRTAB, 0, str.data().data(), str.data().size(), 1);
    if (strtab == nullptr) return libelf_error("string table");
    std::vector<Elf64_Sym> raw(syms.size());
    for (std::size_t i = 0; i < syms.size(); ++i) {
        raw[i] = Elf64_Sym{static_cast<Elf64_Word>(syms[i].st_name), syms[i].st_info, syms[i].st_other,
                           syms[i].st_shndx, syms[i].st_value, syms[i].st_size};
    }
    Elf_Scn* symtab = add_section(res.elf, symtab_name, SHT_SYMTAB, 0, raw.data(), raw.size() * sizeof(Elf64_Sym), 8,
                                  ELF_T_SYM);
    if (symtab == nullptr) return libelf_error("symbol table");
    GElf_Shdr sh{};
    gelf_getshdr(symtab, &sh);
    sh.sh_link = static_cast<std::uint32_t>(elf_ndxscn(strtab));
    sh.sh_info = 1;  // every symbol after the null one is global
    sh.sh_entsize = sizeof(Elf64_Sym);
    gelf_update_shdr(symtab, &sh);
    Elf_Scn* shstrtab = add_section(res.elf, shstrtab_name, SHT_STRTAB, 0, shstr.data().data(), shstr.data().size(), 1);
    if (shstrtab == nullptr) return libelf_error("section name table");
    eh.e_shstrndx = static_cast<std::uint16_t>(elf_ndxscn(shstrtab));
    if (gelf_update_ehdr(res.elf, &eh) == 0) return libelf_error("ELF header");
    const off_t size = elf_update(res.elf, ELF_C_WRITE);
    if (size < 0) return libelf_error("write");
    std::vector<std::uint8_t> out(static_cast<std::size_t>(size));
    if (pread(res.fd, out.data(), out.size(), 0) != static_cast<ssize_t>(out.size())) {
        Error e{Errc::Io, fmt::format("reading back the object: {}", std::strerror(errno)), {}, {}, errno};
        return tl::unexpected(std::move(e));
    }
    return out;
}

}  // namespace sockfilter::elf
