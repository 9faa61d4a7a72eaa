// SPDX-License-Identifier: MIT
// The kernel's side of a generated case (the case as a program::Object loaded by
// kernel::load_object, BPF_PROG_TEST_RUN, maps read back with kernel::read_entries) and the
// minimiser, which needs both sides.
#include <fmt/format.h>

#include <cerrno>

#include "diff.h"
#include "kernel/bpf.h"
#include "kernel/ctx_in.h"
#include "kernel/map_io.h"
#include "kernel/object.h"
#include "support/bytes.h"

namespace sockfilter::gen {

Trace run_kernel(const Case& c) {
    Trace t;
    program::Object obj;
    obj.license = "GPL";
    obj.programs.push_back(program::ObjectProgram{.program = layout(c), .section = "socket", .lines = {}});
    obj.maps = c.maps;
    // No verifier log on success: 20,000 loads per run. A refusal is retried at level 1 for the message.
    kernel::ObjectLoadOptions opts;
    opts.load.log_level = 0;
    auto loaded = kernel::load_object(obj, opts);
    if (!loaded) {
        t.load_error = loaded.error().render();
        return t;
    }
    const kernel::Fd& prog = loaded->programs.at(0);
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
    for (const kernel::KernelMap& m : loaded->maps) {
        auto entries = kernel::read_entries(m.fd);
        if (!entries) {
            t.read_error = fmt::format("map '{}': {}", m.name, entries.error().render());
            break;
        }
        t.maps.push_back(contents(*entries));
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
