// SPDX-License-Identifier: MIT
// CO-RE relocation: access-string walk over the local BTF, candidate matching by essential name in
// the target BTF, and instruction patching (docs/ELF.md, "CO-RE").
#include "elf/core.h"

#include <bpf/btf.h>

#include <charconv>
#include <optional>

namespace sockfilter::elf {

namespace {

std::string name_of(const struct btf* b, std::uint32_t off) {
    const char* n = btf__name_by_offset(b, off);
    return n != nullptr ? n : "";
}

// "task_struct___v2" and "task_struct" are flavours of one type.
std::string_view essential(std::string_view name) {
    const auto p = name.find("___");
    return p == std::string_view::npos ? name : name.substr(0, p);
}

const btf_type* skip_mods(const struct btf* b, std::uint32_t& id) {
    const btf_type* t = btf__type_by_id(b, id);
    while (t != nullptr && (btf_is_typedef(t) || btf_is_mod(t))) {
        id = t->type;
        t = btf__type_by_id(b, id);
    }
    return t;
}

bool is_field_kind(CoreKind k) { return static_cast<std::uint32_t>(k) <= static_cast<std::uint32_t>(CoreKind::FieldRshiftU64); }
bool is_enum_kind(CoreKind k) { return k == CoreKind::EnumvalExists || k == CoreKind::EnumvalValue; }

// One step of an access path: a member by name (struct/union) or an array index.
struct Step {
    bool member = false;
    std::string name;
    std::uint32_t index = 0;
};

// Where a field access path lands in one BTF.
struct FieldSpot {
    std::uint64_t bit_offset = 0;
    std::uint32_t type_id = 0;      // the field's type
    std::uint32_t bitfield = 0;     // bitfield size, 0 for whole fields
};

Result<std::vector<std::uint32_t>> parse_access(const std::string& access) {
    std::vector<std::uint32_t> out;
    std::string_view rest(access);
    while (!rest.empty()) {
        const auto colon = rest.find(':');
        const std::string_view part = rest.substr(0, colon);
        std::uint32_t v = 0;
        auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
        if (ec != std::errc{} || p != part.data() + part.size()) {
            return fail(Errc::Format, "malformed access string \"{}\"", access);
        }
        out.push_back(v);
        rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    }
    if (out.empty()) {
        return fail(Errc::Format, "empty access string");
    }
    return out;
}

// Walks the local access path, recording named steps and the local field position.
Result<std::pair<std::vector<Step>, FieldSpot>> walk_local(const struct btf* b, std::uint32_t root,
                                                           const std::vector<std::uint32_t>& acc) {
    std::vector<Step> steps;
    std::uint32_t id = root;
    const btf_type* t = skip_mods(b, id);
    const std::int64_t root_size = btf__resolve_size(b, id);
    if (t == nullptr || root_size < 0) {
        return fail(Errc::Format, "local type [{}] has no size", root);
    }
    FieldSpot spot{acc[0] * static_cast<std::uint64_t>(root_size) * 8, id, 0};
    for (std::size_t i = 1; i < acc.size(); ++i) {
        t = skip_mods(b, id);
        if (t != nullptr && btf_is_composite(t)) {
            if (acc[i] >= btf_vlen(t)) {
                return fail(Errc::Format, "member index {} out of range for local type [{}]", acc[i], id);
            }
            const btf_member* m = btf_members(t) + acc[i];
            spot.bit_offset += btf_member_bit_offset(t, acc[i]);
            spot.bitfield = btf_member_bitfield_size(t, acc[i]);
            const std::string n = name_of(b, m->name_off);
            if (!n.empty()) {
                steps.push_back(Step{true, n, 0});
            }
            id = m->type;
        } else if (t != nullptr && btf_is_array(t)) {
            const struct btf_array* a = btf_array(t);
            const std::int64_t esz = btf__resolve_size(b, a->type);
            if (esz < 0) {
                return fail(Errc::Format, "array element of local type [{}] has no size", id);
            }
            spot.bit_offset += acc[i] * static_cast<std::uint64_t>(esz) * 8;
            spot.bitfield = 0;
            steps.push_back(Step{false, {}, acc[i]});
            id = a->type;
        } else {
            return fail(Errc::Format, "access step {} of local type [{}] is neither a member nor an array element", i,
                        id);
        }
    }
    spot.type_id = id;
    return std::pair{std::move(steps), spot};
}

// Finds member `name` in composite `id`, looking through anonymous struct/union members.
bool find_member(const struct btf* b, std::uint32_t id, const std::string& name, FieldSpot& spot) {
    const btf_type* t = skip_mods(b, id);
    if (t == nullptr || !btf_is_composite(t)) {
        return false;
    }
    const btf_member* m = btf_members(t);
    for (std::uint16_t i = 0; i < btf_vlen(t); ++i, ++m) {
        const std::string n = name_of(b, m->name_off);
        if (n == name) {
            spot.bit_offset += btf_member_bit_offset(t, i);
            spot.bitfield = btf_member_bitfield_size(t, i);
            spot.type_id = m->type;
            return true;
        }
        if (n.empty()) {
            FieldSpot inner = spot;
            inner.bit_offset += btf_member_bit_offset(t, i);
            if (find_member(b, m->type, name, inner)) {
                spot = inner;
                return true;
            }
        }
    }
    return false;
}

// Follows the named steps from target candidate `root`; nullopt when the path does not exist.
std::optional<FieldSpot> walk_target(const struct btf* b, std::uint32_t root, std::uint32_t first,
                                     const std::vector<Step>& steps) {
    std::uint32_t id = root;
    skip_mods(b, id);
    const std::int64_t root_size = btf__resolve_size(b, id);
    if (root_size < 0) {
        return std::nullopt;
    }
    FieldSpot spot{first * static_cast<std::uint64_t>(root_size) * 8, id, 0};
    for (const Step& s : steps) {
        if (s.member) {
            if (!find_member(b, spot.type_id, s.name, spot)) {
                return std::nullopt;
            }
        } else {
            std::uint32_t aid = spot.type_id;
            const btf_type* t = skip_mods(b, aid);
            if (t == nullptr || !btf_is_array(t)) {
                return std::nullopt;
            }
            const struct btf_array* a = btf_array(t);
            const std::int64_t esz = btf__resolve_size(b, a->type);
            if (esz < 0 || (a->nelems != 0 && s.index >= a->nelems)) {
                return std::nullopt;
            }
            spot.bit_offset += s.index * static_cast<std::uint64_t>(esz) * 8;
            spot.bitfield = 0;
            spot.type_id = a->type;
        }
    }
    return spot;
}

// Compatible leaf kinds, as libbpf's field compatibility check sees them.
bool leaf_compatible(const struct btf* lb, std::uint32_t lid, const struct btf* tb, std::uint32_t tid) {
    const btf_type* l = skip_mods(lb, lid);
    const btf_type* t = skip_mods(tb, tid);
    if (l == nullptr || t == nullptr) {
        return false;
    }
    if (btf_is_composite(l) || btf_is_composite(t)) {
        return btf_kind(l) == btf_kind(t) &&
               essential(name_of(lb, l->name_off)) == essential(name_of(tb, t->name_off));
    }
    const bool l_scalar = btf_is_int(l) || btf_is_any_enum(l);
    const bool t_scalar = btf_is_int(t) || btf_is_any_enum(t);
    if (l_scalar || t_scalar) {
        return l_scalar && t_scalar;
    }
    return btf_kind(l) == btf_kind(t);
}

bool field_signed(const struct btf* b, std::uint32_t id) {
    const btf_type* t = skip_mods(b, id);
    if (t == nullptr) {
        return false;
    }
    if (btf_is_int(t)) {
        return (btf_int_encoding(t) & BTF_INT_SIGNED) != 0;
    }
    return btf_is_any_enum(t) && btf_kflag(t);
}

// The value a field relocation produces for a field spot, or an error text.
Result<std::uint64_t> field_value(CoreKind kind, const struct btf* b, const FieldSpot& spot) {
    if (spot.bitfield != 0 || spot.bit_offset % 8 != 0) {
        return fail(Errc::NotSupported, "bitfield access");
    }
    switch (kind) {
        case CoreKind::FieldByteOffset: return spot.bit_offset / 8;
        case CoreKind::FieldByteSize: {
            const std::int64_t sz = btf__resolve_size(b, spot.type_id);
            if (sz < 0) {
                return fail(Errc::Format, "field type [{}] has no size", spot.type_id);
            }
            return static_cast<std::uint64_t>(sz);
        }
        case CoreKind::FieldExists: return 1;
        case CoreKind::FieldSigned: return field_signed(b, spot.type_id) ? 1 : 0;
        default: return fail(Errc::NotSupported, "relocation kind {} is not supported", core_kind_name(kind));
    }
}

struct Context {
    const std::string& section;
    const struct btf* local;
    const struct btf* target;
    const std::string& target_name;
};

// Value of the relocation in the local BTF (what the compiler put in the instruction).
Result<std::uint64_t> local_value(const Context& c, const CoreReloRecord& r, const std::vector<std::uint32_t>& acc) {
    if (is_field_kind(r.kind)) {
        auto w = walk_local(c.local, r.type_id, acc);
        if (!w) {
            return tl::unexpected(std::move(w.error()));
        }
        return field_value(r.kind, c.local, w->second);
    }
    if (is_enum_kind(r.kind)) {
        std::uint32_t id = r.type_id;
        const btf_type* t = skip_mods(c.local, id);
        if (t == nullptr || !btf_is_any_enum(t) || acc[0] >= btf_vlen(t)) {
            return fail(Errc::Format, "local type [{}] is not an enum with enumerator {}", r.type_id, acc[0]);
        }
        if (r.kind == CoreKind::EnumvalExists) {
            return 1;
        }
        return btf_is_enum(t) ? static_cast<std::uint64_t>(static_cast<std::int64_t>(btf_enum(t)[acc[0]].val))
                              : btf_enum64_value(btf_enum64(t) + acc[0]);
    }
    switch (r.kind) {
        case CoreKind::TypeIdLocal:
        case CoreKind::TypeIdTarget: return r.type_id;
        case CoreKind::TypeExists: return 1;
        case CoreKind::TypeSize: {
            const std::int64_t sz = btf__resolve_size(c.local, r.type_id);
            if (sz < 0) {
                return fail(Errc::Format, "local type [{}] has no size", r.type_id);
            }
            return static_cast<std::uint64_t>(sz);
        }
        default: return fail(Errc::NotSupported, "relocation kind {} is not supported", core_kind_name(r.kind));
    }
}

// Value against the target BTF; nullopt when no candidate matches.
Result<std::optional<std::uint64_t>> target_value(const Context& c, const CoreReloRecord& r,
                                                  const std::vector<std::uint32_t>& acc) {
    std::uint32_t lid = r.type_id;
    const btf_type* lt = skip_mods(c.local, lid);
    if (lt == nullptr) {
        return fail(Errc::Format, "local type [{}] does not exist", r.type_id);
    }
    const std::string lname(essential(name_of(c.local, lt->name_off)));
    if (lname.empty()) {
        return fail(Errc::Format, "local type [{}] is anonymous", r.type_id);
    }
    std::vector<Step> steps;
    FieldSpot local_spot;
    if (is_field_kind(r.kind)) {
        auto w = walk_local(c.local, r.type_id, acc);
        if (!w) {
            return tl::unexpected(std::move(w.error()));
        }
        steps = std::move(w->first);
        local_spot = w->second;
    }
    std::optional<std::uint64_t> result;
    const std::uint32_t n = btf__type_cnt(c.target);
    for (std::uint32_t id = 1; id < n; ++id) {
        const btf_type* t = btf__type_by_id(c.target, id);
        if (!btf_kind_core_compat(lt, t) || essential(name_of(c.target, t->name_off)) != lname) {
            continue;
        }
        std::optional<std::uint64_t> v;
        if (is_field_kind(r.kind)) {
            auto spot = walk_target(c.target, id, acc[0], steps);
            if (!spot || !leaf_compatible(c.local, local_spot.type_id, c.target, spot->type_id)) {
                continue;
            }
            auto fv = field_value(r.kind, c.target, *spot);
            if (!fv) {
                return tl::unexpected(std::move(fv.error()));
            }
            v = *fv;
        } else if (is_enum_kind(r.kind)) {
            const std::string want = name_of(c.local, btf_is_enum(lt) ? btf_enum(lt)[acc[0]].name_off
                                                                      : btf_enum64(lt)[acc[0]].name_off);
            for (std::uint16_t k = 0; k < btf_vlen(t) && !v; ++k) {
                const bool e32 = btf_is_enum(t);
                if (name_of(c.target, e32 ? btf_enum(t)[k].name_off : btf_enum64(t)[k].name_off) == want) {
                    v = r.kind == CoreKind::EnumvalExists
                            ? 1
                            : (e32 ? static_cast<std::uint64_t>(static_cast<std::int64_t>(btf_enum(t)[k].val))
                                   : btf_enum64_value(btf_enum64(t) + k));
                }
            }
            if (!v) {
                continue;
            }
        } else if (r.kind == CoreKind::TypeSize) {
            const std::int64_t sz = btf__resolve_size(c.target, id);
            if (sz < 0) {
                continue;
            }
            v = static_cast<std::uint64_t>(sz);
        } else if (r.kind == CoreKind::TypeIdTarget) {
            v = id;
        } else {
            v = 1;
        }
        if (result && *result != *v) {
            return fail(Errc::Format, "ambiguous: candidates in {} disagree ({} vs {})", c.target_name, *result, *v);
        }
        result = v;
    }
    return result;
}

// Writes `value` into the instruction at `pc`, checking it held `expected` (libbpf's patching).
Result<void> patch(std::span<isa::Insn> slots, std::size_t pc, std::uint64_t expected, std::uint64_t value,
                   CoreKind kind, std::uint64_t local_size, std::uint64_t target_size) {
    isa::Insn& in = slots[pc];
    const std::uint8_t cls = in.opcode & isa::kClassMask;
    if (in.opcode == 0x18) {
        if (pc + 1 >= slots.size()) {
            return fail(Errc::Format, "lddw without its second slot");
        }
        if (isa::lddw_imm(slots, pc) != expected) {
            return fail(Errc::Format, "instruction holds {}, expected {}", isa::lddw_imm(slots, pc), expected);
        }
        in.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(value));
        slots[pc + 1].imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(value >> 32));
        return {};
    }
    if ((cls == isa::kAlu || cls == isa::kAlu64) && (in.opcode & 0x08) == 0) {
        if (static_cast<std::uint32_t>(in.imm) != static_cast<std::uint32_t>(expected)) {
            return fail(Errc::Format, "instruction holds {}, expected {}", in.imm, expected);
        }
        if (value > UINT32_MAX && static_cast<std::int64_t>(value) < INT32_MIN) {
            return fail(Errc::Format, "value {} does not fit an immediate", value);
        }
        in.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(value));
        return {};
    }
    if (cls == isa::kLdx || cls == isa::kSt || cls == isa::kStx) {
        if (static_cast<std::uint64_t>(static_cast<std::int64_t>(in.off)) != expected) {
            return fail(Errc::Format, "instruction offset {}, expected {}", in.off, expected);
        }
        if (value > INT16_MAX) {
            return fail(Errc::Format, "offset {} does not fit an instruction", value);
        }
        in.off = static_cast<std::int16_t>(value);
        // The size bits of the opcode: 0x00 w, 0x08 h, 0x10 b, 0x18 dw.
        if (kind == CoreKind::FieldByteOffset && local_size != target_size) {
            const std::uint8_t bits = in.opcode & 0x18;
            const std::uint64_t insn_size = bits == 0x10 ? 1 : bits == 0x08 ? 2 : bits == 0x00 ? 4 : 8;
            if (insn_size != local_size || !(target_size == 1 || target_size == 2 || target_size == 4 ||
                                             target_size == 8)) {
                return fail(Errc::Format, "field size changed from {} to {} and the access cannot follow", local_size,
                            target_size);
            }
            const std::uint8_t new_bits = target_size == 1 ? 0x10 : target_size == 2 ? 0x08 : target_size == 4 ? 0x00
                                                                                                                 : 0x18;
            in.opcode = static_cast<std::uint8_t>((in.opcode & ~0x18) | new_bits);
        }
        return {};
    }
    return fail(Errc::Format, "instruction opcode {:#04x} cannot be relocated", in.opcode);
}

}  // namespace

Result<void> apply_core_relocations(const std::string& section, std::span<isa::Insn> slots,
                                    const std::vector<CoreReloRecord>& relos, const struct btf* local,
                                    const struct btf* target, const std::string& target_name) {
    const Context c{section, local, target, target_name};
    for (std::size_t k = 0; k < relos.size(); ++k) {
        const CoreReloRecord& r = relos[k];
        const std::string access = name_of(local, r.access_str_off);
        std::uint32_t lid = r.type_id;
        const btf_type* lt = skip_mods(local, lid);
        const std::string tname = lt != nullptr ? name_of(local, lt->name_off) : std::string("?");
        const std::size_t pc = r.insn_off / 8;
        const ElfPos pos{section, r.insn_off};
        auto refuse = [&](const std::string& why) {
            return fail(Errc::Rejected, pos, "CO-RE relocation #{} (insn {}, {} of [{}] {} access \"{}\") cannot be "
                        "applied against {}: {}", k, pc, core_kind_name(r.kind), r.type_id, tname, access, target_name,
                        why);
        };
        if (r.insn_off % 8 != 0 || pc >= slots.size()) {
            return fail(Errc::Format, pos, "CO-RE relocation #{} points outside section {} ({} slots)", k, section,
                        slots.size());
        }
        auto acc = parse_access(access);
        if (!acc) {
            return refuse(acc.error().message);
        }
        auto lv = local_value(c, r, *acc);
        if (!lv) {
            return refuse(lv.error().message);
        }
        std::uint64_t value = 0;
        std::uint64_t local_size = 0;
        std::uint64_t target_size = 0;
        if (r.kind == CoreKind::TypeIdLocal) {
            value = *lv;
        } else {
            auto tv = target_value(c, r, *acc);
            if (!tv) {
                return refuse(tv.error().message);
            }
            const bool existence = r.kind == CoreKind::FieldExists || r.kind == CoreKind::TypeExists ||
                                   r.kind == CoreKind::EnumvalExists;
            if (!*tv && !existence) {
                return refuse(is_field_kind(r.kind) ? "no matching field in the target" : "no matching type in the "
                              "target");
            }
            value = tv->value_or(0);
            if (r.kind == CoreKind::FieldByteOffset) {
                CoreReloRecord size_rec = r;
                size_rec.kind = CoreKind::FieldByteSize;
                auto ls = local_value(c, size_rec, *acc);
                auto ts = target_value(c, size_rec, *acc);
                if (ls && ts && *ts) {
                    local_size = *ls;
                    target_size = **ts;
                }
            }
        }
        if (auto p = patch(slots, pc, *lv, value, r.kind, local_size, target_size); !p) {
            return refuse(p.error().message);
        }
    }
    return {};
}

}  // namespace sockfilter::elf
