// SPDX-License-Identifier: MIT
// Builds the per-syntax lookup indexes from the isa table.
#include "asm/tables.h"

#include <algorithm>

namespace sockfilter::assembler::detail {

namespace {

using isa::Format;
using isa::Op;

void add_unique(std::vector<std::string>& v, std::string_view s) {
    if (std::find(v.begin(), v.end(), s) == v.end()) {
        v.emplace_back(s);
    }
}

Tables build() {
    Tables t;
    for (std::size_t i = 0; i < isa::kNumOps; ++i) {
        const Op op = static_cast<Op>(i);
        const isa::OpInfo& oi = isa::kOps[i];
        const std::string conf(oi.conf);
        t.conf[conf].push_back(op);
        const bool alu = oi.format == Format::AluImm || oi.format == Format::AluReg || oi.format == Format::Neg;
        if (alu && !oi.alu32()) {
            t.conf[conf + "64"].push_back(op);
        }
        if (oi.format == Format::Endian && conf.starts_with("bswap")) {
            t.conf[conf.substr(1)].push_back(op);
        }
        if (oi.format == Format::Callx) {
            t.conf["call"].push_back(op);
            t.conf["call helper"].push_back(op);
        }
        if (oi.format == Format::CallHelper) {
            t.conf["call helper"].push_back(op);
        }
        if (oi.format == Format::CallKfunc) {
            t.conf["call runtime"].push_back(op);
        }

        switch (oi.format) {
            case Format::Lddw:
                t.lddw_by_src[static_cast<std::size_t>(oi.disc_value)] = op;
                break;
            case Format::AluImm:
            case Format::AluReg:
                add_unique(t.alu_ops, oi.ktok);
                break;
            case Format::JmpImm:
            case Format::JmpReg:
                add_unique(t.jmp_ops, oi.ktok);
                break;
            case Format::Endian:
                t.endian.emplace(std::string(oi.ktok), op);
                break;
            default:
                break;
        }
        if (oi.format != Format::Lddw) {
            const std::uint8_t size = oi.format == Format::Atomic ? oi.size : 0;
            t.kernel.emplace(std::make_tuple(oi.format, std::string(oi.ktok), oi.alu32(), size), op);
        }
    }
    // Conformance words that never start a kernel-syntax line decide the syntax of a file.
    for (const auto& [mnemonic, rows] : t.conf) {
        const bool shared = mnemonic == "exit" || mnemonic == "call" || mnemonic == "callx" ||
                            mnemonic.starts_with("call ") || mnemonic.starts_with("lock");
        if (!shared) {
            t.conf_only.insert(mnemonic);
        }
    }
    return t;
}

}  // namespace

std::optional<isa::Op> Tables::find(isa::Format f, std::string_view ktok, bool alu32, std::uint8_t size) const {
    auto it = kernel.find(std::make_tuple(f, std::string(ktok), alu32, size));
    if (it == kernel.end()) {
        return std::nullopt;
    }
    return it->second;
}

const Tables& tables() {
    static const Tables t = build();
    return t;
}

}  // namespace sockfilter::assembler::detail
