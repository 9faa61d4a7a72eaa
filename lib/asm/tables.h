// SPDX-License-Identifier: MIT
// Lookup indexes over isa::kOps for both syntaxes, built once from the table (internal to lib/asm).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "isa/isa.h"

namespace sockfilter::assembler::detail {

/// The indexes; every mnemonic and operator here comes from the `conf` and `ktok` columns.
struct Tables {
    /// Conformance mnemonic (one to three words, e.g. "lock fetch add32") -> candidate rows. Besides the
    /// `conf` column it holds the aliases `<alu op>64` (`add64`), `swapNN` for `bswapNN`, `call` and
    /// `call helper` for callx, and `call runtime` for kfunc calls (the suite's own spellings).
    std::unordered_map<std::string, std::vector<isa::Op>> conf;
    /// Conformance mnemonics that only the conformance syntax uses (for syntax detection).
    std::unordered_set<std::string> conf_only;

    /// Kernel-syntax rows by (format, ktok, alu32, size), where size is 0 except for atomics (whose ktok is
    /// the same for both widths); lddw rows are in `lddw_by_src`.
    std::map<std::tuple<isa::Format, std::string, bool, std::uint8_t>, isa::Op> kernel;
    /// lddw row by pseudo source (src field), nullopt where no row exists.
    std::array<std::optional<isa::Op>, 16> lddw_by_src{};
    /// Assignment operators of ALU rows (`+=`, `s>>=`, `=`).
    std::vector<std::string> alu_ops;
    /// Comparison operators of conditional jump rows (`==`, `s<`, `&`).
    std::vector<std::string> jmp_ops;
    /// Byte-swap mnemonics (`be16`, `le32`, `bswap64`) -> row.
    std::unordered_map<std::string, isa::Op> endian;

    /// The kernel row of (format, ktok, alu32, size), or nullopt.
    [[nodiscard]] std::optional<isa::Op> find(isa::Format f, std::string_view ktok, bool alu32,
                                              std::uint8_t size) const;
};

/// The indexes (built on first use).
[[nodiscard]] const Tables& tables();

}  // namespace sockfilter::assembler::detail
