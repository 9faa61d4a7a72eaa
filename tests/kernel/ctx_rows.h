// SPDX-License-Identifier: MIT
// The measured context-access table (shared/spec/empirical/ctx_{priv,unpriv}.csv) and the probe
// program behind each of its rows; plus a small instruction builder for hand-made programs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "isa/isa.h"
#include "program/program.h"
#include "support/result.h"

namespace sockfilter::testing {

/// The shared/ folder: $SF_SHARED_DIR, else the path configured at build time.
[[nodiscard]] std::string shared_dir();

/// One instruction of `op`, its discriminator filled in from the isa table.
[[nodiscard]] isa::Insn I(isa::Op op, std::uint8_t dst = 0, std::uint8_t src = 0, std::int16_t off = 0,
                          std::int32_t imm = 0);

/// `lddw dst, value` (two slots) appended to `out`.
void lddw(std::vector<isa::Insn>& out, std::uint8_t dst, std::uint64_t value);

/// One row: `kind,size,off,result,msg` (kind ldx, ldsx, stx, st or atomic; result "OK" or the
/// errno text; msg the kernel's verifier message for a rejection).
struct CtxRow {
    std::string kind;
    std::uint32_t size = 0;
    std::int32_t off = 0;
    bool accepted = false;
    std::string msg;
    std::size_t line = 0;  ///< line number in the file
};

/// Reads one of the csv files.
[[nodiscard]] Result<std::vector<CtxRow>> read_ctx_csv(const std::string& path);

/// The access operation of a row (e.g. Ldx32 for ldx,4).
[[nodiscard]] isa::Op ctx_op(const std::string& kind, std::uint32_t size);

/// The probe program of a row, as the measurement built it: the access with r1 (the context) as
/// base, a scalar in r2 as the stored value or the load's destination, then `r0 = 0; exit`:
///   ldx/ldsx:  r2 = *(size *)(r1 + off)
///   stx:       r2 = 0; *(size *)(r1 + off) = r2
///   st:        *(size *)(r1 + off) = 0
///   atomic:    r2 = 0; lock *(size *)(r1 + off) += r2
[[nodiscard]] program::Program ctx_probe(const CtxRow& row);

/// Builds a program from hand-made slots; aborts the test binary on a structurally bad one.
[[nodiscard]] program::Program build(std::string name, std::vector<isa::Insn> slots);

}  // namespace sockfilter::testing
