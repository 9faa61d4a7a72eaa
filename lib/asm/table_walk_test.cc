// SPDX-License-Identifier: MIT
// The exhaustive table walk (HOUSE_STYLE §2): every opcode byte with every discriminator value either is a
// row that round-trips encode -> classify -> print -> parse -> encode in both syntaxes, or is rejected by
// isa::classify with its exact message.
#include <fmt/format.h>

#include <array>
#include <limits>

#include <gtest/gtest.h>

#include "asm/assembler.h"

namespace sockfilter::assembler {
namespace {

using isa::Disc;
using isa::Insn;
using isa::Op;

constexpr std::int32_t kImmMin = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t kImmMax = std::numeric_limits<std::int32_t>::max();

enum class Field { Dst, Src, Off, Imm };

void set_field(Insn& in, Field f, std::int64_t v) {
    switch (f) {
        case Field::Dst: in.dst = static_cast<std::uint8_t>(v); break;
        case Field::Src: in.src = static_cast<std::uint8_t>(v); break;
        case Field::Off: in.off = static_cast<std::int16_t>(v); break;
        case Field::Imm: in.imm = static_cast<std::int32_t>(v); break;
    }
}

std::string_view field_name(Field f) {
    switch (f) {
        case Field::Dst: return "dst";
        case Field::Src: return "src";
        case Field::Off: return "off";
        case Field::Imm: return "imm";
    }
    return {};
}

bool is_disc(Disc d, Field f) {
    return (d == Disc::Off && f == Field::Off) || (d == Disc::Imm && f == Field::Imm) ||
           (d == Disc::Src && f == Field::Src);
}

/// The row's canonical slot(s): opcode and discriminator set, everything else 0.
std::vector<Insn> base(Op op) {
    const isa::OpInfo& oi = isa::info(op);
    Insn in{};
    in.opcode = oi.opcode;
    if (oi.disc != Disc::None) {
        set_field(in, oi.disc == Disc::Off ? Field::Off : oi.disc == Disc::Imm ? Field::Imm : Field::Src,
                  oi.disc_value);
    }
    std::vector<Insn> v{in};
    if (isa::width(op) == 2) {
        v.push_back(Insn{});
    }
    return v;
}

/// Whether the row reads `f`: setting it to 1 classifies; otherwise the rejection must be exact.
bool reads(Op op, Field f) {
    if (is_disc(isa::info(op).disc, f)) {
        return false;
    }
    auto s = base(op);
    set_field(s[0], f, 1);
    auto r = isa::classify(s, 0);
    if (r.has_value()) {
        EXPECT_EQ(*r, op);
        return true;
    }
    EXPECT_EQ(r.error().render(), fmt::format("pc 0: opcode {:#04x}: reserved field {} must be 0, is 1",
                                              s[0].opcode, field_name(f)));
    return false;
}

std::vector<std::int64_t> samples(Field f) {
    switch (f) {
        case Field::Dst:
        case Field::Src: return {0, 1, 5, 10};
        case Field::Off: return {0, 1, -1, 4096, 32767, -32768};
        case Field::Imm: return {0, 1, -1, 4096, 4097, -4097, 0x12345678, kImmMax, kImmMin};
    }
    return {};
}

void round_trip(const std::vector<Insn>& s, Op op, int& checked) {
    auto cls = isa::classify(s, 0);
    ASSERT_TRUE(cls.has_value()) << cls.error().render();
    ASSERT_EQ(*cls, op);
    for (Syntax syntax : {Syntax::Conformance, Syntax::Kernel}) {
        const std::string text = format_insn(s, 0, op, syntax);
        for (Syntax parse_as : {syntax, Syntax::Auto}) {
            auto back = assemble_slots(text, "walk.s", parse_as);
            ASSERT_TRUE(back.has_value()) << isa::info(op).name << ": '" << text << "': " << back.error().render();
            EXPECT_EQ(back->slots, s) << isa::info(op).name << ": '" << text << "'";
        }
        ++checked;
    }
}

TEST(TableWalk, EveryRowRoundTripsInBothSyntaxes) {
    int checked = 0;
    for (std::size_t i = 0; i < isa::kNumOps; ++i) {
        const Op op = static_cast<Op>(i);
        const auto canonical = base(op);
        round_trip(canonical, op, checked);
        for (Field f : {Field::Dst, Field::Src, Field::Off, Field::Imm}) {
            if (!reads(op, f)) {
                continue;
            }
            for (std::int64_t v : samples(f)) {
                auto s = canonical;
                set_field(s[0], f, v);
                round_trip(s, op, checked);
            }
            // A register field above r10 is rejected with its exact message.
            if (f == Field::Dst || f == Field::Src) {
                for (std::int64_t r = 11; r < 16; ++r) {
                    auto s = canonical;
                    set_field(s[0], f, r);
                    EXPECT_EQ(isa::classify(s, 0).error().render(),
                              fmt::format("pc 0: opcode {:#04x}: invalid {} register r{}", s[0].opcode,
                                          field_name(f), r));
                }
            }
        }
        if (isa::width(op) == 2) {
            for (std::int64_t hi : samples(Field::Imm)) {
                auto s = canonical;
                s[0].dst = 3;
                s[0].imm = 7;
                s[1].imm = static_cast<std::int32_t>(hi);
                round_trip(s, op, checked);
            }
        }
    }
    RecordProperty("round_trips", checked);
    EXPECT_GT(checked, static_cast<int>(isa::kNumOps) * 2);
}

TEST(TableWalk, EveryOtherDiscriminatorIsRejectedExactly) {
    std::size_t accepted = 0;
    std::size_t rejected = 0;
    for (int opcode = 0; opcode < 256; ++opcode) {
        const isa::OpcodeRows& rows = isa::kOpcodeIndex[static_cast<std::size_t>(opcode)];
        Insn in{};
        in.opcode = static_cast<std::uint8_t>(opcode);
        if (rows.count == 0) {
            std::vector<Insn> s{in, Insn{}};
            EXPECT_EQ(isa::classify(s, 0).error().render(), fmt::format("pc 0: unknown opcode {:#04x}", opcode));
            ++rejected;
            continue;
        }
        const Disc disc = isa::info(rows.ops[0]).disc;
        std::vector<std::int64_t> values;
        switch (disc) {
            case Disc::None: values = {0}; break;
            case Disc::Off:
                for (std::int64_t v = std::numeric_limits<std::int16_t>::min(); v <= std::numeric_limits<std::int16_t>::max();
                     ++v) {
                    values.push_back(v);
                }
                break;
            case Disc::Imm:
                for (std::int64_t v = -1; v <= 0x1ff; ++v) {
                    values.push_back(v);
                }
                values.insert(values.end(), {0x1000, 0x10000, kImmMax, kImmMin});
                break;
            case Disc::Src:
                for (std::int64_t v = 0; v < 16; ++v) {
                    values.push_back(v);
                }
                break;
        }
        for (std::int64_t v : values) {
            Insn probe = in;
            const Field f = disc == Disc::Off ? Field::Off : disc == Disc::Imm ? Field::Imm : Field::Src;
            if (disc != Disc::None) {
                set_field(probe, f, v);
            }
            std::optional<Op> row;
            for (std::size_t r = 0; r < rows.count; ++r) {
                if (disc == Disc::None || isa::info(rows.ops[r]).disc_value == v) {
                    row = rows.ops[r];
                }
            }
            std::vector<Insn> s{probe, Insn{}};
            auto got = isa::classify(s, 0);
            if (row) {
                ASSERT_TRUE(got.has_value()) << got.error().render();
                EXPECT_EQ(*got, *row);
                ++accepted;
                continue;
            }
            std::string expected;
            switch (disc) {
                case Disc::Off: expected = fmt::format("invalid offset {}", v); break;
                case Disc::Imm: expected = fmt::format("invalid immediate {:#x}", static_cast<std::int32_t>(v)); break;
                case Disc::Src: expected = fmt::format("invalid source {}", v); break;
                case Disc::None: break;
            }
            ASSERT_FALSE(got.has_value());
            EXPECT_EQ(got.error().render(), fmt::format("pc 0: opcode {:#04x}: {}", opcode, expected));
            ++rejected;
        }
    }
    EXPECT_EQ(accepted, isa::kNumOps);
    EXPECT_GT(rejected, 0u);
}

}  // namespace
}  // namespace sockfilter::assembler
