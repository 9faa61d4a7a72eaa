// SPDX-License-Identifier: MIT
// Running a generated case on both sides — BPF_PROG_TEST_RUN in the kernel and vm::Interpreter
// with the test-run socket kind — and comparing what they did: each packet's 32-bit return value
// and cb[], and every map's contents after the last packet. Also the minimiser of a divergent
// case and the regression files it writes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "generator.h"
#include "runtime/maps/dump.h"
#include "support/result.h"

namespace sockfilter::gen {

using Bytes = std::vector<std::uint8_t>;

/// What one side did with a case.
struct Trace {
    /// Non-empty when the program was refused at load (the kernel's verifier summary, or
    /// runtime::load's error).
    std::string load_error;
    /// Per packet: "ret 0x.. cb <hex>", "input refused" (a frame test-run does not take), or
    /// "fault: ..." (our interpreter stopped).
    std::vector<std::string> packets;
    /// Per map, after the last packet: key -> value.
    std::vector<std::map<Bytes, Bytes>> maps;
    /// Non-empty when the maps could not be read back (the kernel's bpf() failed).
    std::string read_error;
};

/// A map dump (runtime::read_entries, kernel::read_entries) as Trace::maps holds it.
[[nodiscard]] std::map<Bytes, Bytes> contents(const std::vector<runtime::MapEntry>& entries);

/// Runs the case on our side: runtime::Instance with the case's maps, runtime::load, and one
/// checked-mode vm::Interpreter run per packet on make_skb(frame, test-run, ctx).
[[nodiscard]] Trace run_ours(const Case& c);

/// Runs the case in the kernel: the case as a program::Object (its program and map specs) loaded by
/// kernel::load_object, then kernel::test_run per packet; maps read back with kernel::read_entries.
[[nodiscard]] Trace run_kernel(const Case& c);

/// The first difference between the kernel's trace and ours, in words; empty when they agree.
/// A program the kernel refuses has no divergence.
[[nodiscard]] std::string compare(const Trace& kernel, const Trace& ours);

/// The smallest case found (units removed, packets removed, frames shortened, context presets
/// dropped) that the kernel still accepts and on which both sides still diverge.
[[nodiscard]] Case minimise(const Case& c);

/// The case as a regression file: its program in kernel syntax after a header of `;` comment
/// lines naming the divergence, the maps (`; map hash key=4 value=16 entries=8`) and the packets
/// (`; packet <hex> [ctx <key=value,...>]`).
[[nodiscard]] std::string regression_text(const Case& c, const std::string& divergence);

/// Reads a regression file back into a case (functions hold the program as one unit).
[[nodiscard]] Result<Case> read_regression(const std::string& text, const std::string& file_name);

}  // namespace sockfilter::gen
