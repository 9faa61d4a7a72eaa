// SPDX-License-Identifier: MIT
// Test helpers for lib/filter: compile an expression and run it in the interpreter on a frame,
// as the chosen socket kind sees it.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "filter/compile.h"
#include "runtime/helpers.h"
#include "runtime/load.h"
#include "runtime/packet.h"
#include "runtime/prog_type.h"
#include "vm/interpreter.h"

namespace sockfilter::filter::testing {

/// Where libpcap's filter tests are: $SF_SHARED_DIR/pcap-filter (accept.tsv, apply.tsv, pcaps/),
/// the build's SF_SHARED_DIR without the variable.
inline std::string pcap_filter_dir(const char* default_shared_dir) {
    const char* v = std::getenv("SF_SHARED_DIR");
    return std::string(v != nullptr ? v : default_shared_dir) + "/pcap-filter";
}

/// The rows of a tab-separated file after its header line; a trailing tab is an empty last column.
inline std::vector<std::vector<std::string>> read_tsv(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::vector<std::string>> rows;
    std::string line;
    bool header = true;
    while (std::getline(in, line)) {
        if (header) {
            header = false;
            continue;
        }
        std::vector<std::string> cols;
        std::stringstream ss(line);
        std::string c;
        while (std::getline(ss, c, '\t')) {
            cols.push_back(c);
        }
        if (!line.empty() && line.back() == '\t') {
            cols.emplace_back();
        }
        rows.push_back(cols);
    }
    return rows;
}

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
