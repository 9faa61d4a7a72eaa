// SPDX-License-Identifier: MIT
// Map definitions: BTF `.maps` (the __uint/__type/__array conventions of bpf_helpers.h), legacy
// `maps` and global data.
#include "elf/maps.h"

#include <bpf/btf.h>
#include <elf.h>

#include <algorithm>
#include <functional>

#include "elf/btf.h"
#include "support/bytes.h"

namespace sockfilter::elf {

using program::MapSpec;
using program::MapType;

std::optional<std::uint32_t> MapTable::by_symbol(std::size_t shndx, std::uint64_t offset) const {
    for (const auto& e : entries) {
        if (!e.data && e.shndx == shndx && e.offset == offset) {
            return e.index;
        }
    }
    return std::nullopt;
}

std::optional<std::uint32_t> MapTable::by_data_section(std::size_t shndx) const {
    for (const auto& e : entries) {
        if (e.data && e.shndx == shndx) {
            return e.index;
        }
    }
    return std::nullopt;
}

bool MapTable::is_map_section(std::size_t shndx) const {
    return std::any_of(entries.begin(), entries.end(), [&](const Entry& e) { return !e.data && e.shndx == shndx; });
}

bool is_data_section_name(std::string_view name) {
    return name == ".rodata" || name == ".data" || name == ".bss" || name.starts_with(".rodata.") ||
           name.starts_with(".data.");
}

namespace {

const btf_type* skip_mods(const struct btf* btf, std::uint32_t id, std::uint32_t* out_id = nullptr) {
    const btf_type* t = btf__type_by_id(btf, id);
    while (t != nullptr && (btf_is_typedef(t) || btf_is_mod(t))) {
        id = t->type;
        t = btf__type_by_id(btf, id);
    }
    if (out_id != nullptr) {
        *out_id = id;
    }
    return t;
}

std::string type_name(const struct btf* btf, const btf_type* t) {
    const char* n = btf_string(btf, t->name_off);
    return n != nullptr ? n : "";
}

// Where a definition comes from, for messages.
struct DefContext {
    const struct btf* btf;
    std::string map;       // "flows", "outer.inner"
    ElfPos pos;
};

template <class... Args>
tl::unexpected<Error> def_error(const DefContext& c, fmt::format_string<Args...> f, Args&&... args) {
    return fail(Errc::Format, c.pos, "map '{}': {}", c.map, fmt::format(f, std::forward<Args>(args)...));
}

// __uint(name, val) is `int (*name)[val]`.
Result<std::uint32_t> uint_member(const DefContext& c, const char* member, std::uint32_t type_id) {
    const btf_type* t = skip_mods(c.btf, type_id);
    if (t == nullptr || !btf_is_ptr(t)) {
        return def_error(c, "field '{}' is not a __uint() (pointer to array)", member);
    }
    const btf_type* arr = skip_mods(c.btf, t->type);
    if (arr == nullptr || !btf_is_array(arr)) {
        return def_error(c, "field '{}' is not a __uint() (pointer to array)", member);
    }
    return btf_array(arr)->nelems;
}

// __type(name, T) is `typeof(T) *name`: the pointee's id and size.
Result<std::pair<std::uint32_t, std::uint32_t>> type_member(const DefContext& c, const char* member,
                                                            std::uint32_t type_id) {
    const btf_type* t = skip_mods(c.btf, type_id);
    if (t == nullptr || !btf_is_ptr(t)) {
        return def_error(c, "field '{}' is not a __type() (pointer to the type)", member);
    }
    const std::int64_t size = btf__resolve_size(c.btf, t->type);
    if (size < 0 || size > UINT32_MAX) {
        return def_error(c, "field '{}': cannot resolve the size of type [{}]", member, t->type);
    }
    return std::pair{t->type, static_cast<std::uint32_t>(size)};
}

// Parses one map definition struct. `values_offset` receives the byte offset of `values` in the
// struct, when present (only for outer definitions).
Result<MapSpec> parse_btf_def(const DefContext& c, const btf_type* def, bool inner,
                              std::optional<std::uint64_t>* values_offset) {
    MapSpec spec;
    spec.name = c.map;
    bool have_key_size = false;
    bool have_value_size = false;
    bool have_values = false;
    const btf_member* m = btf_members(def);
    for (std::uint16_t i = 0; i < btf_vlen(def); ++i, ++m) {
        const char* mname = btf_string(c.btf, m->name_off);
        const std::string name = mname != nullptr ? mname : "";
        auto set_uint = [&](std::uint32_t& field) -> Result<void> {
            auto v = uint_member(c, name.c_str(), m->type);
            if (!v) {
                return tl::unexpected(std::move(v.error()));
            }
            field = *v;
            return {};
        };
        Result<void> r;
        if (name == "type") {
            std::uint32_t v = 0;
            r = set_uint(v);
            spec.type = static_cast<MapType>(v);
        } else if (name == "max_entries") {
            r = set_uint(spec.max_entries);
        } else if (name == "map_flags") {
            r = set_uint(spec.map_flags);
        } else if (name == "map_extra") {
            r = set_uint(spec.map_extra);
        } else if (name == "numa_node" || name == "pinning") {
            std::uint32_t ignored = 0;
            r = set_uint(ignored);
        } else if (name == "key_size" || name == "value_size") {
            std::uint32_t v = 0;
            r = set_uint(v);
            std::uint32_t& field = name == "key_size" ? spec.key_size : spec.value_size;
            if (r && field != 0 && field != v) {
                return def_error(c, "conflicting {} {} != {}", name, field, v);
            }
            field = v;
            (name == "key_size" ? have_key_size : have_value_size) = true;
        } else if (name == "key" || name == "value") {
            auto tv = type_member(c, name.c_str(), m->type);
            if (!tv) {
                return tl::unexpected(std::move(tv.error()));
            }
            const bool is_key = name == "key";
            std::uint32_t& field = is_key ? spec.key_size : spec.value_size;
            if ((is_key ? have_key_size : have_value_size) && field != tv->second) {
                return def_error(c, "conflicting {} size {} != {}", name, field, tv->second);
            }
            field = tv->second;
            (is_key ? spec.btf_key_type_id : spec.btf_value_type_id) = tv->first;
        } else if (name == "values") {
            if (inner) {
                return def_error(c, "an inner map definition cannot have 'values'");
            }
            // __array(values, T) is `T *values[]`.
            const btf_type* arr = skip_mods(c.btf, m->type);
            if (arr == nullptr || !btf_is_array(arr) || btf_array(arr)->nelems != 0) {
                return def_error(c, "field 'values' is not an __array() (flexible array of pointers)");
            }
            const btf_type* ptr = skip_mods(c.btf, btf_array(arr)->type);
            if (ptr == nullptr || !btf_is_ptr(ptr)) {
                return def_error(c, "field 'values' is not an __array() of pointers");
            }
            const btf_type* target = skip_mods(c.btf, ptr->type);
            if (target != nullptr && btf_is_struct(target)) {
                DefContext ic{c.btf, c.map + ".inner", c.pos};
                auto in = parse_btf_def(ic, target, true, nullptr);
                if (!in) {
                    return tl::unexpected(std::move(in.error()));
                }
                spec.inner = std::make_shared<const MapSpec>(std::move(*in));
            } else if (target == nullptr || !btf_is_func_proto(target)) {
                return def_error(c, "'values' must point to an inner map definition or a function prototype");
            }
            if (have_value_size && spec.value_size != 4) {
                return def_error(c, "conflicting value size {} != 4", spec.value_size);
            }
            spec.value_size = 4;
            have_values = true;
            if (values_offset != nullptr) {
                *values_offset = btf_member_bit_offset(def, i) / 8;
            }
        } else {
            return def_error(c, "unknown field '{}'", name);
        }
        if (!r) {
            return tl::unexpected(std::move(r.error()));
        }
    }
    if (have_values) {
        const bool map_in_map = spec.type == MapType::ArrayOfMaps || spec.type == MapType::HashOfMaps;
        if (map_in_map != (spec.inner != nullptr) || (!map_in_map && spec.type != MapType::ProgArray)) {
            return def_error(c, "'values' needs a map-in-map with an inner map definition or a prog array (type is {})",
                             program::map_type_name(spec.type));
        }
    } else if (spec.type == MapType::ArrayOfMaps || spec.type == MapType::HashOfMaps) {
        return def_error(c, "map-in-map without an inner map definition (__array(values, ...))");
    }
    return spec;
}

const Symbol* symbol_named(const ElfFile& file, std::size_t shndx, std::string_view name) {
    for (const auto& s : file.symbols()) {
        if (s.shndx == shndx && s.name == name) {
            return &s;
        }
    }
    return nullptr;
}

Result<void> collect_btf_maps(const ElfFile& file, const struct btf* btf, MapTable& table) {
    const Section* sec = file.find(".maps");
    if (sec == nullptr) {
        return {};
    }
    if (btf == nullptr) {
        return fail(Errc::Format, ElfPos{".maps", 0}, "section .maps needs BTF, but the object has no .BTF section");
    }
    const std::int32_t ds_id = btf__find_by_name_kind(btf, ".maps", BTF_KIND_DATASEC);
    if (ds_id < 0) {
        return fail(Errc::Format, ElfPos{".maps", 0}, "no BTF DATASEC '.maps' describes section .maps");
    }
    const btf_type* ds = btf__type_by_id(btf, static_cast<std::uint32_t>(ds_id));
    const btf_var_secinfo* vi = btf_var_secinfos(ds);
    // (map index, values offset in the section, its end) for the initial-slot relocations below.
    struct Values {
        std::uint32_t map;
        std::uint64_t begin;
        std::uint64_t end;
    };
    std::vector<Values> values;
    for (std::uint16_t i = 0; i < btf_vlen(ds); ++i, ++vi) {
        const btf_type* var = btf__type_by_id(btf, vi->type);
        if (var == nullptr || !btf_is_var(var)) {
            return fail(Errc::Format, ElfPos{".maps", vi->offset}, "DATASEC .maps entry {} is not a variable", i);
        }
        const std::string name = type_name(btf, var);
        const Symbol* sym = symbol_named(file, sec->index, name);
        if (sym == nullptr) {
            return fail(Errc::Format, ElfPos{".maps", vi->offset}, "map '{}' has BTF but no symbol in .maps", name);
        }
        DefContext c{btf, name, ElfPos{".maps", sym->value}};
        const btf_type* def = skip_mods(btf, var->type);
        if (def == nullptr || !btf_is_struct(def)) {
            return def_error(c, "definition is not a struct");
        }
        std::optional<std::uint64_t> values_off;
        auto spec = parse_btf_def(c, def, false, &values_off);
        if (!spec) {
            return tl::unexpected(std::move(spec.error()));
        }
        const auto index = static_cast<std::uint32_t>(table.maps.size());
        if (values_off) {
            values.push_back(Values{index, sym->value + *values_off, sym->value + sym->size});
        }
        table.maps.push_back(std::move(*spec));
        table.entries.push_back(MapTable::Entry{sec->index, sym->value, false, index});
    }
    for (const Reloc& r : file.relocations_for(sec->index)) {
        const ElfPos pos{file.relocation_section_name(sec->index), r.entry_offset};
        if (r.type != kRelAbs64) {
            return fail(Errc::Format, pos, "bad relocation type {} in .maps (expected R_BPF_64_ABS64)", r.type);
        }
        if (r.sym == 0 || r.sym >= file.symbols().size()) {
            return fail(Errc::Format, pos, "relocation against missing symbol #{}", r.sym);
        }
        auto v = std::find_if(values.begin(), values.end(),
                              [&](const Values& x) { return r.offset >= x.begin && r.offset < x.end; });
        if (v == values.end() || (r.offset - v->begin) % 8 != 0) {
            return fail(Errc::Format, pos, "relocation at .maps+{:#x} is not inside a map's 'values'", r.offset);
        }
        const Symbol& target = file.symbols()[r.sym];
        MapSpec& spec = table.maps[v->map];
        if (spec.type == MapType::ProgArray) {
            if (target.type != STT_FUNC) {
                return fail(Errc::Format, pos, "map '{}': slot initialiser '{}' is not a program", spec.name,
                            target.name);
            }
        } else if (target.shndx != sec->index) {
            return fail(Errc::Format, pos, "map '{}': slot initialiser '{}' is not a map in .maps", spec.name,
                        target.name);
        }
        const auto slot = static_cast<std::uint32_t>((r.offset - v->begin) / 8);
        if (slot >= spec.max_entries) {
            return fail(Errc::Format, pos, "map '{}': slot {} is beyond max_entries {}", spec.name, slot,
                        spec.max_entries);
        }
        spec.initial_slots.emplace_back(slot, target.name);
    }
    return {};
}

// struct bpf_map_def { type, key_size, value_size, max_entries, map_flags; } and the optional
// inner_map_idx and numa_node words some loaders added, which we accept only as zero.
Result<void> collect_legacy_maps(const ElfFile& file, MapTable& table) {
    const Section* sec = file.find("maps");
    if (sec == nullptr) {
        return {};
    }
    std::vector<const Symbol*> syms;
    for (const auto& s : file.symbols()) {
        if (s.shndx == sec->index && (s.type == STT_OBJECT || s.type == STT_NOTYPE) && !s.name.empty()) {
            syms.push_back(&s);
        }
    }
    std::sort(syms.begin(), syms.end(), [](const Symbol* a, const Symbol* b) { return a->value < b->value; });
    if (syms.empty() || sec->data.empty() || sec->data.size() % syms.size() != 0) {
        return fail(Errc::Format, ElfPos{"maps", 0},
                    "cannot determine the map definition size: {} bytes for {} map symbols", sec->data.size(),
                    syms.size());
    }
    constexpr std::size_t kDefWords = 5;
    const std::size_t def_size = sec->data.size() / syms.size();
    if (def_size < kDefWords * 4) {
        return fail(Errc::Format, ElfPos{"maps", 0}, "map definitions of {} bytes are shorter than struct bpf_map_def "
                    "(20)", def_size);
    }
    for (const Symbol* s : syms) {
        if (s->value > sec->data.size() - def_size || s->value % 4 != 0) {
            return fail(Errc::Format, ElfPos{"maps", s->value}, "map '{}' lies outside section maps", s->name);
        }
        const std::uint8_t* p = sec->data.data() + s->value;
        for (std::size_t k = kDefWords * 4; k < def_size; ++k) {
            if (p[k] != 0) {
                return fail(Errc::Format, ElfPos{"maps", s->value + k}, "map '{}': unknown non-zero map definition "
                            "field at byte {}", s->name, k);
            }
        }
        MapSpec spec;
        spec.name = s->name;
        spec.type = static_cast<MapType>(load_le<std::uint32_t>(p));
        spec.key_size = load_le<std::uint32_t>(p + 4);
        spec.value_size = load_le<std::uint32_t>(p + 8);
        spec.max_entries = load_le<std::uint32_t>(p + 12);
        spec.map_flags = load_le<std::uint32_t>(p + 16);
        const auto index = static_cast<std::uint32_t>(table.maps.size());
        table.maps.push_back(std::move(spec));
        table.entries.push_back(MapTable::Entry{sec->index, s->value, false, index});
    }
    return {};
}

// Whether DATASEC `id` describes a non-static variable: only then does libbpf make the map
// mmapable (string-literal sections such as .rodata.str1.1 have no DATASEC).
bool has_global_variable(const struct btf* btf, std::uint32_t id) {
    if (btf == nullptr || id == 0) {
        return false;
    }
    const btf_type* ds = btf__type_by_id(btf, id);
    const btf_var_secinfo* vi = btf_var_secinfos(ds);
    for (std::uint16_t i = 0; i < btf_vlen(ds); ++i, ++vi) {
        const btf_type* var = btf__type_by_id(btf, vi->type);
        if (var != nullptr && btf_is_var(var) && btf_var(var)->linkage != BTF_VAR_STATIC) {
            return true;
        }
    }
    return false;
}

// libbpf's internal maps: ARRAY, key 4, value = the section, one entry, mmapable when the section
// has global variables; .rodata also read-only for programs and frozen after it is written.
void collect_data_maps(const ElfFile& file, const struct btf* btf, MapTable& table) {
    for (const Section& s : file.sections()) {
        const bool nobits = s.type == SHT_NOBITS;
        if ((s.type != SHT_PROGBITS && !nobits) || s.size == 0 || !is_data_section_name(s.name) ||
            (nobits && s.name != ".bss") || (s.flags & SHF_EXECINSTR) != 0) {
            continue;
        }
        MapSpec spec;
        spec.name = s.name;
        spec.type = MapType::Array;
        spec.key_size = 4;
        spec.value_size = static_cast<std::uint32_t>(s.size);
        spec.max_entries = 1;
        spec.frozen = s.name.starts_with(".rodata");
        spec.map_flags = spec.frozen ? program::kMapRdonlyProg : 0U;
        if (!nobits) {
            spec.initial_value.assign(s.data.begin(), s.data.end());
        }
        if (btf != nullptr) {
            const std::int32_t id = btf__find_by_name_kind(btf, s.name.c_str(), BTF_KIND_DATASEC);
            spec.btf_value_type_id = id > 0 ? static_cast<std::uint32_t>(id) : 0;
        }
        if (has_global_variable(btf, spec.btf_value_type_id)) {
            spec.map_flags |= program::kMapMmapable;
        }
        const auto index = static_cast<std::uint32_t>(table.maps.size());
        table.maps.push_back(std::move(spec));
        table.entries.push_back(MapTable::Entry{s.index, 0, true, index});
    }
}

}  // namespace

Result<MapTable> collect_maps(const ElfFile& file, const struct btf* btf) {
    MapTable table;
    if (auto r = collect_btf_maps(file, btf, table); !r) {
        return tl::unexpected(std::move(r.error()));
    }
    if (auto r = collect_legacy_maps(file, table); !r) {
        return tl::unexpected(std::move(r.error()));
    }
    collect_data_maps(file, btf, table);
    return table;
}

}  // namespace sockfilter::elf
