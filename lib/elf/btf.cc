// SPDX-License-Identifier: MIT
// libbpf BTF loading and the .BTF.ext reader (layout: Documentation/bpf/btf.rst, "BTF.ext section").
#include "elf/btf.h"

#include <bpf/btf.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "support/bytes.h"

namespace sockfilter::elf {

void BtfDeleter::operator()(struct btf* b) const { btf__free(b); }

Result<BtfPtr> load_object_btf(const ElfFile& file) {
    const Section* s = file.find(".BTF");
    if (s == nullptr) {
        return BtfPtr{};
    }
    if (s->data.size() > UINT32_MAX) {
        return fail(Errc::Format, ElfPos{".BTF", 0}, "BTF section too large ({} bytes)", s->data.size());
    }
    errno = 0;
    struct btf* b = btf__new(s->data.data(), static_cast<std::uint32_t>(s->data.size()));
    if (b == nullptr) {
        return fail(Errc::Format, ElfPos{".BTF", 0}, "malformed BTF: {}", std::strerror(errno != 0 ? errno : EINVAL));
    }
    return BtfPtr(b);
}

Result<BtfPtr> load_target_btf(const std::string& path) {
    errno = 0;
    struct btf* b = btf__parse(path.c_str(), nullptr);
    if (b == nullptr) {
        const int err = errno != 0 ? errno : EINVAL;
        auto e = fail(Errc::Io, "cannot load CO-RE target BTF {}: {}", path, std::strerror(err));
        e.value().sys_errno = err;
        return e;
    }
    return BtfPtr(b);
}

std::string core_kind_name(CoreKind kind) {
    static constexpr std::array<const char*, 13> kNames = {
        "byte_off",   "byte_sz",       "field_exists", "signed",      "lshift_u64", "rshift_u64",   "local_type_id",
        "target_type_id", "type_exists", "type_size", "enumval_exists", "enumval_value", "type_matches",
    };
    const auto i = static_cast<std::uint32_t>(kind);
    return i < kNames.size() ? kNames[i] : "kind_" + std::to_string(i);
}

const char* btf_string(const struct btf* btf, std::uint32_t off) {
    return btf__str_by_offset(btf, off);
}

bool btf_references_valid(const struct btf* btf) {
    const std::uint32_t count = btf__type_cnt(btf);
    auto name_ok = [&](std::uint32_t off) { return btf__name_by_offset(btf, off) != nullptr; };
    auto type_ok = [&](std::uint32_t id) { return id < count; };
    for (std::uint32_t id = 1; id < count; ++id) {
        const btf_type* t = btf__type_by_id(btf, id);
        if (t == nullptr || !name_ok(t->name_off)) {
            return false;
        }
        const std::uint16_t n = btf_vlen(t);
        bool ok = true;
        if (btf_is_mod(t) || btf_is_ptr(t) || btf_is_typedef(t) || btf_is_func(t) || btf_is_var(t) ||
            btf_is_decl_tag(t) || btf_is_func_proto(t)) {
            ok = type_ok(t->type);
        } else if (btf_is_array(t)) {
            ok = type_ok(btf_array(t)->type) && type_ok(btf_array(t)->index_type);
        }
        for (std::uint16_t i = 0; ok && i < n; ++i) {
            if (btf_is_composite(t)) {
                ok = name_ok(btf_members(t)[i].name_off) && type_ok(btf_members(t)[i].type);
            } else if (btf_is_enum(t)) {
                ok = name_ok(btf_enum(t)[i].name_off);
            } else if (btf_is_enum64(t)) {
                ok = name_ok(btf_enum64(t)[i].name_off);
            } else if (btf_is_func_proto(t)) {
                ok = name_ok(btf_params(t)[i].name_off) && type_ok(btf_params(t)[i].type);
            } else if (btf_is_datasec(t)) {
                const std::uint32_t v = btf_var_secinfos(t)[i].type;
                ok = v != 0 && type_ok(v) && (btf_is_var(btf__type_by_id(btf, v)) || btf_is_func(btf__type_by_id(btf, v)));
            }
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

namespace {

constexpr std::uint16_t kBtfMagic = 0xeB9F;
constexpr std::uint32_t kMinHeader = 24;     // magic..line_info_len
constexpr std::uint32_t kCoreHeader = 32;    // + core_relo_off, core_relo_len

// One info subsection ("func_info", "line_info", "core_relo"): rec_size, then per ELF section
// {sec_name_off, num_info, num_info records of rec_size}.
template <class Record, class Decode>
Result<std::size_t> read_info(std::span<const std::uint8_t> ext, std::uint32_t base, std::uint32_t off,
                              std::uint32_t len, std::uint32_t min_rec, const char* what, const struct btf* btf,
                              std::map<std::string, std::vector<Record>>& out, Decode decode) {
    if (len == 0) {
        return std::size_t{0};
    }
    const std::uint64_t begin = static_cast<std::uint64_t>(base) + off;
    if (begin > ext.size() || len > ext.size() - begin) {
        return fail(Errc::Format, ElfPos{".BTF.ext", begin}, "{} ({} bytes) runs past the end of .BTF.ext ({} bytes)",
                    what, len, ext.size());
    }
    auto sub = ext.subspan(static_cast<std::size_t>(begin), len);
    if (sub.size() < 4) {
        return fail(Errc::Format, ElfPos{".BTF.ext", begin}, "{}: truncated record size", what);
    }
    const std::uint32_t rec_size = load_le<std::uint32_t>(sub.data());
    if (rec_size < min_rec || rec_size % 4 != 0) {
        return fail(Errc::Format, ElfPos{".BTF.ext", begin}, "{}: record size {} (expected at least {})", what,
                    rec_size, min_rec);
    }
    std::size_t pos = 4;
    std::size_t total = 0;
    while (pos < sub.size()) {
        if (sub.size() - pos < 8) {
            return fail(Errc::Format, ElfPos{".BTF.ext", begin + pos}, "{}: truncated section header", what);
        }
        const std::uint32_t name_off = load_le<std::uint32_t>(sub.data() + pos);
        const std::uint32_t num = load_le<std::uint32_t>(sub.data() + pos + 4);
        pos += 8;
        const char* name = btf_string(btf, name_off);
        if (name == nullptr) {
            return fail(Errc::Format, ElfPos{".BTF.ext", begin + pos - 8}, "{}: section name offset {} is outside the "
                        "BTF string table", what, name_off);
        }
        if (num == 0 || static_cast<std::uint64_t>(num) * rec_size > sub.size() - pos) {
            return fail(Errc::Format, ElfPos{".BTF.ext", begin + pos - 4}, "{}: {} records of {} bytes for section "
                        "'{}' do not fit", what, num, rec_size, name);
        }
        auto& recs = out[name];
        for (std::uint32_t i = 0; i < num; ++i) {
            recs.push_back(decode(sub.data() + pos));
            pos += rec_size;
        }
        total += num;
    }
    return total;
}

}  // namespace

Result<BtfExt> read_btf_ext(const ElfFile& file, const struct btf* btf) {
    BtfExt out;
    const Section* s = file.find(".BTF.ext");
    if (s == nullptr) {
        return out;
    }
    if (btf == nullptr) {
        return fail(Errc::Format, ElfPos{".BTF.ext", 0}, ".BTF.ext without a .BTF section");
    }
    auto ext = s->data;
    if (ext.size() < kMinHeader) {
        return fail(Errc::Format, ElfPos{".BTF.ext", 0}, "truncated .BTF.ext header ({} bytes)", ext.size());
    }
    if (load_le<std::uint16_t>(ext.data()) != kBtfMagic) {
        return fail(Errc::Format, ElfPos{".BTF.ext", 0}, "bad .BTF.ext magic {:#06x}", load_le<std::uint16_t>(ext.data()));
    }
    if (ext[2] != 1) {
        return fail(Errc::Format, ElfPos{".BTF.ext", 2}, "unsupported .BTF.ext version {}", ext[2]);
    }
    const std::uint32_t hdr_len = load_le<std::uint32_t>(ext.data() + 4);
    if (hdr_len < kMinHeader || hdr_len > ext.size()) {
        return fail(Errc::Format, ElfPos{".BTF.ext", 4}, "bad .BTF.ext header length {}", hdr_len);
    }
    auto u32 = [&](std::size_t at) { return load_le<std::uint32_t>(ext.data() + at); };
    auto funcs = read_info(ext, hdr_len, u32(8), u32(12), 8, "func_info", btf, out.funcs, [](const std::uint8_t* p) {
        return FuncInfoRecord{load_le<std::uint32_t>(p), load_le<std::uint32_t>(p + 4)};
    });
    if (!funcs) {
        return tl::unexpected(std::move(funcs.error()));
    }
    auto lines = read_info(ext, hdr_len, u32(16), u32(20), 16, "line_info", btf, out.lines, [](const std::uint8_t* p) {
        return LineInfoRecord{load_le<std::uint32_t>(p), load_le<std::uint32_t>(p + 4), load_le<std::uint32_t>(p + 8),
                              load_le<std::uint32_t>(p + 12)};
    });
    if (!lines) {
        return tl::unexpected(std::move(lines.error()));
    }
    out.func_count = *funcs;
    out.line_count = *lines;
    if (hdr_len >= kCoreHeader) {
        auto core = read_info(ext, hdr_len, u32(24), u32(28), 16, "core_relo", btf, out.core, [](const std::uint8_t* p) {
            return CoreReloRecord{load_le<std::uint32_t>(p), load_le<std::uint32_t>(p + 4),
                                  load_le<std::uint32_t>(p + 8), static_cast<CoreKind>(load_le<std::uint32_t>(p + 12))};
        });
        if (!core) {
            return tl::unexpected(std::move(core.error()));
        }
        out.core_count = *core;
    }
    return out;
}

}  // namespace sockfilter::elf
