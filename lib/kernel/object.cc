// SPDX-License-Identifier: MIT
// load_object: BTF, maps (global data written, .rodata frozen, inner-map templates), programs
// (func_info, line_info, fd_array, kfuncs from vmlinux BTF), then prog-array and map-in-map slots.
#include "kernel/object.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "kernel/prog_load.h"

namespace sockfilter::kernel {

namespace {

using program::MapSpec;
using program::MapType;

constexpr std::size_t kBtfLogSize = std::size_t{1} << 16;

tl::unexpected<Error> sys_error(int err, std::string what) {
    return tl::unexpected<Error>(Error{Errc::Kernel, what + ": " + std::strerror(err), {}, {}, err});
}

struct VmlinuxDeleter {
    void operator()(struct btf* b) const { btf__free(b); }
};

Result<Fd> load_btf(const std::vector<std::uint8_t>& raw) {
    std::vector<char> log(kBtfLogSize);
    LIBBPF_OPTS(bpf_btf_load_opts, o, .log_buf = log.data(), .log_level = 1,
                .log_size = static_cast<std::uint32_t>(log.size()));
    const int fd = bpf_btf_load(raw.data(), raw.size(), &o);
    if (fd >= 0) {
        return Fd(fd);
    }
    log.back() = '\0';
    auto e = sys_error(-fd, "BPF_BTF_LOAD");
    if (std::string summary = summarize_log(log.data()); !summary.empty()) {
        e.value().message += " (" + summary + ")";
    }
    return e;
}

/// BPF_MAP_CREATE of `spec`; with the object's BTF for key and value when it has them, and, as
/// libbpf does, once more without BTF when the kernel refuses BTF for this map type.
Result<Fd> create_map(const MapSpec& spec, const Fd& btf, int inner_fd) {
    const std::string name = detail::kernel_name(spec.name);
    const bool has_btf = btf.valid() && (spec.btf_key_type_id != 0 || spec.btf_value_type_id != 0);
    int fd = -1;
    for (const bool with_btf : {true, false}) {
        if (with_btf && !has_btf) {
            continue;
        }
        LIBBPF_OPTS(bpf_map_create_opts, o);
        o.map_flags = spec.map_flags;
        o.map_extra = spec.map_extra;
        if (inner_fd >= 0) {
            o.inner_map_fd = static_cast<std::uint32_t>(inner_fd);
        }
        if (with_btf) {
            o.btf_fd = static_cast<std::uint32_t>(btf.get());
            o.btf_key_type_id = spec.btf_key_type_id;
            o.btf_value_type_id = spec.btf_value_type_id;
        }
        fd = bpf_map_create(static_cast<bpf_map_type>(spec.type), name.empty() ? nullptr : name.c_str(),
                            spec.key_size, spec.value_size, spec.max_entries, &o);
        if (fd >= 0) {
            return Fd(fd);
        }
    }
    return sys_error(-fd, "BPF_MAP_CREATE");
}

/// Creates one map of the object: its inner-map template first for map-in-map (closed once the
/// outer map exists), then the map, its global data and the freeze of `.rodata`.
Result<Fd> make_map(const MapSpec& spec, const Fd& btf) {
    Fd inner;
    if (spec.inner) {
        auto in = create_map(*spec.inner, btf, -1);
        if (!in) {
            return tl::unexpected(std::move(in.error()).with_context("inner map"));
        }
        inner = std::move(*in);
    }
    auto fd = create_map(spec, btf, inner.get());
    if (!fd) {
        return fd;
    }
    if (!spec.initial_value.empty()) {
        std::vector<std::uint8_t> value = spec.initial_value;
        value.resize(spec.value_size);
        const std::uint32_t key = 0;
        if (int rc = bpf_map_update_elem(fd->get(), &key, value.data(), BPF_ANY); rc < 0) {
            return sys_error(-rc, "writing the initial value (BPF_MAP_UPDATE_ELEM)");
        }
    }
    if (spec.frozen) {
        if (int rc = bpf_map_freeze(fd->get()); rc < 0) {
            return sys_error(-rc, "BPF_MAP_FREEZE");
        }
    }
    return fd;
}

/// vmlinux BTF, loaded on first use.
class Kfuncs {
public:
    Result<std::int32_t> id(const std::string& name) {
        if (!vmlinux_) {
            errno = 0;
            vmlinux_.reset(btf__load_vmlinux_btf());
            if (!vmlinux_) {
                const int err = errno != 0 ? errno : ENOENT;
                return tl::unexpected(Error{Errc::NotSupported,
                                            fmt::format("kfunc '{}': cannot load the kernel's BTF "
                                                        "(/sys/kernel/btf/vmlinux): {}",
                                                        name, std::strerror(err)),
                                            {}, {}, err});
            }
        }
        const std::int32_t id = btf__find_by_name_kind(vmlinux_.get(), name.c_str(), BTF_KIND_FUNC);
        if (id <= 0) {
            return fail(Errc::NotSupported, "kfunc '{}' is not in the kernel's BTF (vmlinux; module kfuncs are not "
                        "looked up)", name);
        }
        return id;
    }

private:
    std::unique_ptr<struct btf, VmlinuxDeleter> vmlinux_;
};

Result<Fd> load_program(const program::Object& obj, const program::ObjectProgram& p, const LoadedObject& out,
                        const std::vector<int>& fd_array, Kfuncs& kfuncs, const LoadOptions& load, std::string* log) {
    std::vector<bpf_insn> insns = detail::to_kernel(p.program.slots());
    for (std::size_t pc = 0; pc < insns.size(); ++pc) {
        bpf_insn& in = insns[pc];
        if (p.program.is_lddw_tail(pc) || p.program.op(pc) != isa::Op::CallKfunc) {
            continue;
        }
        const auto index = static_cast<std::size_t>(in.imm);
        if (in.imm < 0 || index >= obj.kfuncs.size()) {
            return fail(Errc::InvalidArgument, InsnIndex{static_cast<std::uint32_t>(pc)}, "kfunc call with index {}, but the object names {} "
                        "kfuncs", in.imm, obj.kfuncs.size());
        }
        auto id = kfuncs.id(obj.kfuncs[index].name);
        if (!id) {
            return tl::unexpected(std::move(id.error()));
        }
        in.imm = *id;
        in.off = 0;
    }
    detail::ProgLoadExtras extras;
    extras.fd_array = fd_array;
    std::vector<bpf_func_info> funcs;
    std::vector<bpf_line_info> lines;
    if (out.btf.valid()) {
        extras.btf_fd = out.btf.get();
        for (const program::FuncInfo& f : p.funcs) {
            funcs.push_back(bpf_func_info{f.insn, f.type_id});
        }
        for (const program::LineInfo& l : p.lines) {
            lines.push_back(bpf_line_info{l.insn, l.file_name_off, l.line_off, l.line_col});
        }
        extras.func_info = funcs;
        extras.line_info = lines;
    }
    LoadOptions opts = load;
    if (opts.license.empty()) {
        opts.license = obj.license;
    }
    return detail::prog_load(detail::kernel_name(p.program.name()), insns, opts.license, opts, extras, log);
}

/// Writes MapSpec::initial_slots: program fds into prog arrays, map fds into map-in-maps.
Result<void> fill_slots(const program::Object& obj, const ObjectLoadOptions& opts, const LoadedObject& out) {
    for (std::size_t m = 0; m < obj.maps.size(); ++m) {
        const MapSpec& spec = obj.maps[m];
        for (const auto& [slot, target] : spec.initial_slots) {
            int value = -1;
            if (spec.type == MapType::ProgArray) {
                std::size_t i = 0;
                while (i < obj.programs.size() && obj.programs[i].program.name() != target) {
                    ++i;
                }
                if (i == obj.programs.size()) {
                    return fail(Errc::NotSupported, "map '{}': slot {} holds '{}', which is not a socket filter of "
                                "the object", spec.name, slot, target);
                }
                if (opts.only && *opts.only != i) {
                    continue;
                }
                value = out.programs[i].get();
            } else {
                for (std::size_t k = 0; k < obj.maps.size(); ++k) {
                    if (obj.maps[k].name == target) {
                        value = out.maps[k].fd.get();
                    }
                }
                if (value < 0) {
                    return fail(Errc::InvalidArgument, "map '{}': slot {} holds '{}', which is not a map of the "
                                "object", spec.name, slot, target);
                }
            }
            const std::uint32_t key = slot;
            if (int rc = bpf_map_update_elem(out.maps[m].fd.get(), &key, &value, BPF_ANY); rc < 0) {
                auto e = sys_error(-rc, fmt::format("slot {} = '{}' (BPF_MAP_UPDATE_ELEM)", slot, target));
                return tl::unexpected(std::move(e.value()).with_context("map '" + spec.name + "'"));
            }
        }
    }
    return {};
}

}  // namespace

Result<LoadedObject> load_object(const program::Object& obj, const ObjectLoadOptions& opts, std::string* log) {
    if (opts.only && *opts.only >= obj.programs.size()) {
        return fail(Errc::InvalidArgument, "program index {} is out of range (the object has {} programs)",
                    *opts.only, obj.programs.size());
    }
    LoadedObject out;
    if (!obj.btf.empty()) {
        auto btf = load_btf(obj.btf);
        if (btf) {
            out.btf = std::move(*btf);
        } else {
            out.btf_error = btf.error().render();
        }
    }
    std::vector<int> fd_array;
    for (const MapSpec& spec : obj.maps) {
        auto fd = make_map(spec, out.btf);
        if (!fd) {
            return tl::unexpected(std::move(fd.error()).with_context("map '" + spec.name + "'"));
        }
        fd_array.push_back(fd->get());
        out.maps.push_back(KernelMap{spec.name, std::move(*fd)});
    }
    Kfuncs kfuncs;
    for (std::size_t i = 0; i < obj.programs.size(); ++i) {
        if (opts.only && *opts.only != i) {
            out.programs.emplace_back();
            continue;
        }
        const program::ObjectProgram& p = obj.programs[i];
        std::string text;
        auto fd = load_program(obj, p, out, fd_array, kfuncs, opts.load, &text);
        if (log != nullptr) {
            *log = std::move(text);
        }
        if (!fd) {
            return tl::unexpected(std::move(fd.error()).with_context("program " + p.program.name()));
        }
        out.programs.push_back(std::move(*fd));
    }
    if (auto r = fill_slots(obj, opts, out); !r) {
        return tl::unexpected(std::move(r.error()));
    }
    return out;
}

}  // namespace sockfilter::kernel
