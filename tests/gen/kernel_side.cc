// SPDX-License-Identifier: MIT
// The kernel's side of a generated case (maps created with libbpf, the program loaded with
// kernel::load_socket_filter, BPF_PROG_TEST_RUN, maps read back through libbpf) and the minimiser,
// which needs both sides.
#include <bpf/bpf.h>
#include <fmt/format.h>

#include <cerrno>

#include "diff.h"
#include "kernel/bpf.h"
#include "kernel/ctx_in.h"
#include "kernel/fd.h"
#include "support/bytes.h"

namespace sockfilter::gen {

namespace {

/// The case's maps in the kernel and its program loaded against them.
struct Loaded {
    std::vector<kernel::Fd> maps;
    kernel::Fd prog;
};

/// Creates the maps (BPF_MAP_CREATE through libbpf) and loads the program with its
/// map[idx:N] references rewritten to the maps' fds (BPF_PSEUDO_MAP_FD / _VALUE).
Result<Loaded> load(const Case& c) {
    Loaded out;
    for (const program::MapSpec& m : c.maps) {
        kernel::Fd fd(bpf_map_create(static_cast<bpf_map_type>(m.type), m.name.c_str(), m.key_size, m.value_size,
                                     m.max_entries, nullptr));
        if (fd.get() < 0) {
            return fail(Errc::Kernel, "BPF_MAP_CREATE {}: errno {}", m.name, errno);
        }
        out.maps.push_back(std::move(fd));
    }
    const program::Program prog = layout(c);
    std::vector<isa::Insn> slots(prog.slots().begin(), prog.slots().end());
    for (std::size_t pc = 0; pc < slots.size(); ++pc) {
        if (prog.is_lddw_tail(pc)) {
            continue;
        }
        const isa::Op op = prog.op(pc);
        if (op == isa::Op::LddwMapIdx || op == isa::Op::LddwMapIdxValue) {
            slots[pc].src = op == isa::Op::LddwMapIdx ? isa::kPseudoMapFd : isa::kPseudoMapValue;
            slots[pc].imm = out.maps.at(static_cast<std::size_t>(slots[pc].imm)).get();
        }
    }
    auto patched = program::Program::from_slots(prog.name(), std::move(slots));
    if (!patched) {
        return tl::unexpected(patched.error());
    }
    kernel::LoadOptions opts;
    opts.log_level = 0;
    auto fd = kernel::load_socket_filter(*patched, opts);
    if (!fd) {
        return tl::unexpected(fd.error());
    }
    out.prog = std::move(*fd);
    return out;
}

}  // namespace

Trace run_kernel(const Case& c) {
    Trace t;
    auto loaded = load(c);
    if (!loaded) {
        t.load_error = loaded.error().render();
        return t;
    }
    const kernel::Fd& prog = loaded->prog;
    for (const Packet& p : c.packets) {
        auto r = kernel::test_run(prog, p.frame, kernel::test_run_ctx(p.ctx));
        if (!r) {
            t.packets.push_back(r.error().sys_errno == EINVAL ? "input refused" : "error: " + r.error().render());
            continue;
        }
        // cb[] is __sk_buff bytes 48..68.
        t.packets.push_back(fmt::format("ret {:#x} cb {}", r->retval,
                                        to_hex(std::span(r->ctx_out).subspan(48, 20))));
    }
    for (std::size_t m = 0; m < c.maps.size(); ++m) {
        const int fd = loaded->maps.at(m).get();
        std::map<Bytes, Bytes> contents;
        Bytes key(c.maps[m].key_size);
        Bytes next(c.maps[m].key_size);
        bool first = true;
        while (bpf_map_get_next_key(fd, first ? nullptr : key.data(), next.data()) == 0) {
            first = false;
            key = next;
            Bytes value(c.maps[m].value_size);
            if (bpf_map_lookup_elem(fd, key.data(), value.data()) == 0) {
                contents[key] = value;
            }
        }
        t.maps.push_back(std::move(contents));
    }
    return t;
}

namespace {

/// Whether the kernel accepts `c` and the two sides disagree on it.
bool diverges(const Case& c) {
    const Trace k = run_kernel(c);
    return k.load_error.empty() && !compare(k, run_ours(c)).empty();
}

/// Replaces `c` by `candidate` when that still diverges.
bool take(Case& c, Case candidate) {
    if (!diverges(candidate)) {
        return false;
    }
    c = std::move(candidate);
    return true;
}

}  // namespace

Case minimise(const Case& original) {
    Case c = original;
    bool progress = true;
    while (progress) {
        progress = false;
        for (std::size_t f = c.functions.size(); f-- > 0;) {
            for (std::size_t u = c.functions[f].units.size(); u-- > 0;) {
                if (f < c.functions.size() && u < c.functions[f].units.size() && !c.functions[f].units[u].fixed) {
                    progress = take(c, without_unit(c, f, u)) || progress;
                }
            }
        }
        for (std::size_t p = c.packets.size(); p-- > 0 && c.packets.size() > 1;) {
            Case candidate = c;
            candidate.packets.erase(candidate.packets.begin() + static_cast<std::ptrdiff_t>(p));
            progress = take(c, std::move(candidate)) || progress;
        }
        for (std::size_t p = 0; p < c.packets.size(); ++p) {
            if (!format_ctx(c.packets[p].ctx).empty()) {
                Case candidate = c;
                candidate.packets[p].ctx = {};
                progress = take(c, std::move(candidate)) || progress;
            }
            for (;;) {
                const std::size_t size = c.packets[p].frame.size();
                bool shorter = false;
                for (std::size_t target : {14 + (size - 14) / 2, size - 1}) {
                    if (target >= 14 && target < size) {
                        Case candidate = c;
                        candidate.packets[p].frame.resize(target);
                        if (take(c, std::move(candidate))) {
                            shorter = true;
                            progress = true;
                            break;
                        }
                    }
                }
                if (!shorter) {
                    break;
                }
            }
        }
    }
    return c;
}

}  // namespace sockfilter::gen
