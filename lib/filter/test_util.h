// SPDX-License-Identifier: MIT
// Test helpers for lib/filter: compile an expression and run it in the interpreter on a frame,
// as the chosen socket kind sees it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "filter/compile.h"
#include "filter/tsv.h"
#include "runtime/helpers.h"
#include "runtime/load.h"
#include "runtime/packet.h"
#include "runtime/prog_type.h"
#include "vm/interpreter.h"

namespace sockfilter::filter::testing {

/// The socket-filter environment the interpreter and runtime::load use.
inline runtime::Environment filter_env() {
    return runtime::Environment{&runtime::socket_filter(), &runtime::socket_filter_helpers()};
}

/// What a compiled filter returned for one frame, or why it could not run.
struct Verdict {
    bool ok = false;
    std::uint64_t r0 = 0;
    std::string error;
};

/// Runs `prog` on `frame` of link type `linktype` as a socket of `kind` (runtime::make_skb).
inline Verdict run_filter(const program::Program& prog, const std::vector<std::uint8_t>& frame, int linktype,
                          runtime::SocketKind kind = runtime::SocketKind::Packet) {
    auto loaded = runtime::load(prog, filter_env());
    if (!loaded) {
        return Verdict{false, 0, "load: " + loaded.error().render()};
    }
    auto skb = runtime::make_skb(frame, linktype, kind);
    if (!skb) {
        return Verdict{false, 0, "skb: " + skb.error().render()};
    }
    vm::Interpreter vm(*loaded);
    vm::RunInput in;
    in.skb = &*skb;
    const vm::ExecResult r = vm.run(in);
    if (r.status != vm::ExecStatus::Ok) {
        return Verdict{false, 0, "run: " + vm.fault_message()};
    }
    return Verdict{true, r.r0, ""};
}

}  // namespace sockfilter::filter::testing
