// SPDX-License-Identifier: MIT
// Reading the context-access csv files and building their probe programs.
#include "ctx_rows.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace sockfilter::testing {

using isa::Op;

std::string shared_dir() {
    if (const char* dir = std::getenv("SF_SHARED_DIR"); dir != nullptr && *dir != '\0') {
        return dir;
    }
    return SF_DEFAULT_SHARED_DIR;
}

isa::Insn I(Op op, std::uint8_t dst, std::uint8_t src, std::int16_t off, std::int32_t imm) {
    return isa::encode_op(op, dst, src, off, imm);
}

void lddw(std::vector<isa::Insn>& out, std::uint8_t dst, std::uint64_t value) {
    isa::Insn lo = I(Op::Lddw, dst);
    lo.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(value));
    isa::Insn hi{};
    hi.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(value >> 32));
    out.push_back(lo);
    out.push_back(hi);
}

Result<std::vector<CtxRow>> read_ctx_csv(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        return fail(Errc::Io, "cannot open {}", path);
    }
    std::vector<CtxRow> rows;
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (n == 1 || line.empty()) {
            continue;  // header
        }
        std::vector<std::string> f;
        std::size_t pos = 0;
        for (int i = 0; i < 4; ++i) {
            const std::size_t comma = line.find(',', pos);
            if (comma == std::string::npos) {
                return fail(Errc::Format, "{}:{}: expected 5 fields", path, n);
            }
            f.push_back(line.substr(pos, comma - pos));
            pos = comma + 1;
        }
        std::string msg = line.substr(pos);
        if (msg.size() >= 2 && msg.front() == '"' && msg.back() == '"') {
            msg = msg.substr(1, msg.size() - 2);
        }
        CtxRow r;
        r.kind = f[0];
        r.size = static_cast<std::uint32_t>(std::stoul(f[1]));
        r.off = std::stoi(f[2]);
        r.accepted = f[3] == "OK";
        r.msg = msg;
        r.line = n;
        rows.push_back(std::move(r));
    }
    return rows;
}

Op ctx_op(const std::string& kind, std::uint32_t size) {
    struct Entry {
        const char* kind;
        std::uint32_t size;
        Op op;
    };
    static constexpr Entry kTable[] = {
        {"ldx", 1, Op::Ldx8},     {"ldx", 2, Op::Ldx16},   {"ldx", 4, Op::Ldx32},   {"ldx", 8, Op::Ldx64},
        {"ldsx", 1, Op::Ldsx8},   {"ldsx", 2, Op::Ldsx16}, {"ldsx", 4, Op::Ldsx32}, {"stx", 1, Op::Stx8},
        {"stx", 2, Op::Stx16},    {"stx", 4, Op::Stx32},   {"stx", 8, Op::Stx64},   {"st", 1, Op::St8},
        {"st", 2, Op::St16},      {"st", 4, Op::St32},     {"st", 8, Op::St64},     {"atomic", 4, Op::AtomicAdd32},
        {"atomic", 8, Op::AtomicAdd64},
    };
    for (const Entry& e : kTable) {
        if (kind == e.kind && size == e.size) {
            return e.op;
        }
    }
    std::fprintf(stderr, "no operation for ctx row kind %s size %u\n", kind.c_str(), size);
    std::abort();
}

program::Program ctx_probe(const CtxRow& row) {
    const Op op = ctx_op(row.kind, row.size);
    const auto off = static_cast<std::int16_t>(row.off);
    std::vector<isa::Insn> s;
    if (row.kind == "ldx" || row.kind == "ldsx") {
        s.push_back(I(op, 2, 1, off));
    } else if (row.kind == "st") {
        s.push_back(I(op, 1, 0, off, 0));
    } else {
        s.push_back(I(Op::Mov64Imm, 2, 0, 0, 0));
        s.push_back(I(op, 1, 2, off));
    }
    s.push_back(I(Op::Mov64Imm, 0, 0, 0, 0));
    s.push_back(I(Op::Exit));
    return build(row.kind + "_" + std::to_string(row.size), std::move(s));
}

program::Program build(std::string name, std::vector<isa::Insn> slots) {
    auto p = program::Program::from_slots(std::move(name), std::move(slots));
    if (!p) {
        std::fprintf(stderr, "bad hand-built program: %s\n", p.error().render().c_str());
        std::abort();
    }
    return std::move(*p);
}

}  // namespace sockfilter::testing
