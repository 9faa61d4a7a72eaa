// SPDX-License-Identifier: MIT
// Classic BPF → an eBPF socket filter that loads with BPF_PROG_LOAD and returns what the classic
// program returns (spec §7.6 for the kernel's own conversion; docs/CLASSIC.md for ours).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "cbpf/insn.h"
#include "program/program.h"
#include "support/result.h"

namespace sockfilter::cbpf {

/// Whether an ancillary load has a socket-filter equivalent (an __sk_buff field or an allowed
/// helper). hatype, nlattr, nlattr_nest and pay_offset do not.
[[nodiscard]] bool convertible(Ancillary a);

/// Converts a program validate() accepted. Registers: A = w0, X = w7, ctx = r6 (as LD_ABS
/// needs), r9 keeps A across the byte load of `ldxb 4*([k]&0xf)`, r2 is scratch; M[k] is the
/// 32-bit stack slot at r10 - 4(k+1). Packet loads become LD_ABS/LD_IND (same offsets, same
/// end-with-0 on failure); division and modulo by X check X == 0 and return 0 first, as classic
/// BPF does (eBPF would give 0 or A and go on); comparisons are 32-bit (JMP32); unreachable
/// classic instructions are dropped (the verifier refuses unreachable code).
/// Errors: Errc::NotSupported naming every ancillary load without an equivalent, with its pc;
/// Errc::InvalidProgram when a converted jump does not fit a 16-bit offset.
[[nodiscard]] Result<program::Program> convert(std::span<const Insn> filter, const std::string& name = "classic");

}  // namespace sockfilter::cbpf
