// SPDX-License-Identifier: MIT
// read_object: ELF → maps → CO-RE → relocations → linked socket programs; program selection and
// the BTF summary.
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <elf.h>

#include <algorithm>
#include <cstdarg>

#include "elf/btf.h"
#include "elf/core.h"
#include "elf/elf.h"
#include "elf/elf_file.h"
#include "elf/maps.h"
#include "elf/programs.h"

namespace sockfilter::elf {

namespace {

// libbpf prints its own diagnostics to stderr; ours carry the same facts as Results, so the
// reader silences libbpf while it runs.
int quiet(enum libbpf_print_level, const char*, va_list) { return 0; }

class QuietLibbpf {
public:
    QuietLibbpf() : previous_(libbpf_set_print(quiet)) {}
    ~QuietLibbpf() { libbpf_set_print(previous_); }
    QuietLibbpf(const QuietLibbpf&) = delete;
    QuietLibbpf& operator=(const QuietLibbpf&) = delete;

private:
    libbpf_print_fn_t previous_;
};

// "kprobe/do_sys_open" -> "kprobe", "xdp" -> "xdp".
std::string program_type_of(const std::string& section) { return section.substr(0, section.find('/')); }

bool is_code(const Section& s) { return s.type == SHT_PROGBITS && (s.flags & SHF_EXECINSTR) != 0 && s.size > 0; }

std::string read_license(const ElfFile& file) {
    const Section* s = file.find("license");
    if (s == nullptr) {
        return {};
    }
    auto end = std::find(s->data.begin(), s->data.end(), std::uint8_t{0});
    return std::string(s->data.begin(), end);
}

// The object's BTF as libbpf finalizes it at open time (DATASEC sizes and variable offsets from
// the symbol table, `.ksyms` functions replaced by a variable), which the kernel accepts; the type
// ids and string offsets stay those of the file. Empty when libbpf cannot open the object.
std::vector<std::uint8_t> finalized_btf(std::span<const std::uint8_t> bytes, const std::string& path) {
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = path.c_str());
    struct bpf_object* lobj = bpf_object__open_mem(bytes.data(), bytes.size(), &opts);
    if (lobj == nullptr) {
        return {};
    }
    std::vector<std::uint8_t> out;
    if (const struct btf* b = bpf_object__btf(lobj)) {
        std::uint32_t size = 0;
        const void* raw = btf__raw_data(b, &size);
        if (raw != nullptr) {
            const auto* p = static_cast<const std::uint8_t*>(raw);
            out.assign(p, p + size);
        }
    }
    bpf_object__close(lobj);
    return out;
}

Result<program::Object> read(std::span<const std::uint8_t> bytes, const std::string& path,
                             const ReadOptions& options) {
    QuietLibbpf quiet_libbpf;
    auto file = ElfFile::open(bytes);
    if (!file) {
        return tl::unexpected(std::move(file.error()));
    }
    auto btf = load_object_btf(*file);
    if (!btf) {
        return tl::unexpected(std::move(btf.error()));
    }
    auto ext = read_btf_ext(*file, btf->get());
    if (!ext) {
        return tl::unexpected(std::move(ext.error()));
    }
    auto maps = collect_maps(*file, btf->get());
    if (!maps) {
        return tl::unexpected(std::move(maps.error()));
    }

    program::Object obj;
    obj.path = path;
    obj.license = read_license(*file);

    std::vector<std::size_t> wanted;
    for (const Section& s : file->sections()) {
        if (!is_code(s)) {
            continue;
        }
        if (s.name == ".text" || is_socket_section(s.name)) {
            wanted.push_back(s.index);
            continue;
        }
        for (const Symbol& sym : file->symbols()) {
            if (sym.shndx == s.index && sym.type == STT_FUNC && sym.bind != STB_LOCAL) {
                obj.other_programs.emplace_back(s.name, program_type_of(s.name));
            }
        }
    }

    // Slots of each wanted section with CO-RE relocations applied.
    std::vector<std::vector<isa::Insn>> slots;
    BtfPtr target;
    for (std::size_t idx : wanted) {
        const Section& s = *file->at(idx);
        auto decoded = isa::slots_from_bytes(s.data);
        if (!decoded) {
            return fail(Errc::Format, ElfPos{s.name, s.size}, "section size {} is not a multiple of 8", s.size);
        }
        auto core = ext->core.find(s.name);
        if (core != ext->core.end()) {
            if (!target) {
                auto t = load_target_btf(options.btf_path);
                if (!t) {
                    return tl::unexpected(std::move(t.error()).with_context(
                        fmt::format("section \"{}\": {} CO-RE relocations", s.name, core->second.size())));
                }
                target = std::move(*t);
            }
            auto applied = apply_core_relocations(s.name, *decoded, core->second, btf->get(), target.get(),
                                                  options.btf_path);
            if (!applied) {
                return tl::unexpected(std::move(applied.error()));
            }
        }
        slots.push_back(std::move(*decoded));
    }

    auto code = relocate_code(*file, wanted, *maps, slots);
    if (!code) {
        return tl::unexpected(std::move(code.error()));
    }
    for (std::size_t k = 0; k < code->sections.size(); ++k) {
        const CodeSection& cs = code->sections[k];
        if (!is_socket_section(cs.elf->name)) {
            continue;
        }
        for (std::size_t f = 0; f < cs.functions.size(); ++f) {
            if (!cs.functions[f].global) {
                return fail(Errc::NotSupported, ElfPos{cs.elf->name, cs.functions[f].start * 8},
                            "program '{}' is static; programs must be global functions", cs.functions[f].name);
            }
            auto p = link_program(*code, k, f, *ext, btf->get());
            if (!p) {
                return tl::unexpected(std::move(p.error()));
            }
            obj.programs.push_back(std::move(*p));
        }
    }
    obj.maps = std::move(maps->maps);
    obj.kfuncs = std::move(code->kfuncs);
    if (obj.programs.empty()) {
        if (!obj.other_programs.empty()) {
            const auto& [section, type] = obj.other_programs.front();
            return fail(Errc::NotSupported, "section \"{}\": program type {} is not a socket filter", section, type);
        }
        return fail(Errc::Format, "no programs: the object has no `socket` or `socket/...` section");
    }
    // libbpf's object loader trusts its input more than our reader: it sees only objects we
    // accepted whose BTF names and type references resolve.
    if (const Section* b = file->find(".BTF")) {
        if (btf_references_valid(btf->get())) {
            obj.btf = finalized_btf(bytes, path);
        }
        if (obj.btf.empty()) {
            obj.btf.assign(b->data.begin(), b->data.end());
        }
    }
    return obj;
}

}  // namespace

Result<program::Object> read_object(std::span<const std::uint8_t> bytes, std::string path,
                                    const ReadOptions& options) {
    auto obj = read(bytes, path, options);
    if (!obj) {
        return tl::unexpected(std::move(obj.error()).with_context(path));
    }
    return obj;
}

Result<const program::ObjectProgram*> select_program(const program::Object& object, const std::string& name) {
    std::string names;
    for (const auto& p : object.programs) {
        if (!name.empty() && p.program.name() == name) {
            return &p;
        }
        names += fmt::format("{}{} ({})", names.empty() ? "" : ", ", p.program.name(), p.section);
    }
    if (name.empty()) {
        if (object.programs.size() == 1) {
            return &object.programs.front();
        }
        return fail(Errc::InvalidArgument, "{}: {} programs, choose one: {}", object.path, object.programs.size(),
                    names);
    }
    for (const auto& [section, type] : object.other_programs) {
        if (section == name) {
            return fail(Errc::NotSupported, "{}: section \"{}\": program type {} is not a socket filter", object.path,
                        section, type);
        }
    }
    return fail(Errc::InvalidArgument, "{}: no program '{}'; programs: {}", object.path, name, names);
}

Result<BtfSummary> read_btf_summary(std::span<const std::uint8_t> bytes, const std::string& path) {
    QuietLibbpf quiet_libbpf;
    auto run = [&]() -> Result<BtfSummary> {
        auto file = ElfFile::open(bytes);
        if (!file) {
            return tl::unexpected(std::move(file.error()));
        }
        auto btf = load_object_btf(*file);
        if (!btf) {
            return tl::unexpected(std::move(btf.error()));
        }
        BtfSummary s;
        if (!*btf) {
            return s;
        }
        s.present = true;
        s.types = btf__type_cnt(btf->get()) - 1;
        auto ext = read_btf_ext(*file, btf->get());
        if (!ext) {
            return tl::unexpected(std::move(ext.error()));
        }
        s.func_infos = ext->func_count;
        s.line_infos = ext->line_count;
        s.core_relos = ext->core_count;
        return s;
    };
    auto r = run();
    if (!r) {
        return tl::unexpected(std::move(r.error()).with_context(path));
    }
    return r;
}

}  // namespace sockfilter::elf
