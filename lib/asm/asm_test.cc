// SPDX-License-Identifier: MIT
// Tests of both syntaxes: forms, detection, labels, llvm-objdump spellings and exact error messages.
#include "asm/assembler.h"

#include <gtest/gtest.h>

namespace sockfilter::assembler {
namespace {

using isa::Insn;

std::vector<Insn> slots(std::string_view text, Syntax syntax = Syntax::Auto) {
    auto a = assemble_slots(text, "t.s", syntax);
    EXPECT_TRUE(a.has_value()) << a.error().render();
    return a ? a->slots : std::vector<Insn>{};
}

Insn one(std::string_view text, Syntax syntax = Syntax::Auto) {
    auto s = slots(text, syntax);
    EXPECT_EQ(s.size(), 1u) << text;
    return s.empty() ? Insn{} : s[0];
}

std::string error(std::string_view text, Syntax syntax = Syntax::Auto) {
    auto a = assemble(text, "t.s", syntax);
    EXPECT_FALSE(a.has_value()) << text;
    return a ? std::string() : a.error().render();
}

TEST(Asm, ConformanceForms) {
    EXPECT_EQ(one("add32 %r1, 2"), (Insn{0x04, 1, 0, 0, 2}));
    EXPECT_EQ(one("add64 %r1, %r2"), (Insn{0x0f, 1, 2, 0, 0}));
    EXPECT_EQ(one("mov %r0, %r1"), (Insn{0xbf, 0, 1, 0, 0}));
    EXPECT_EQ(one("mov32 %r0, 0xffffff80"), (Insn{0xb4, 0, 0, 0, -128}));
    EXPECT_EQ(one("neg %r1"), (Insn{0x87, 1, 0, 0, 0}));
    EXPECT_EQ(one("be16 %r0"), (Insn{0xdc, 0, 0, 0, 16}));
    EXPECT_EQ(one("le64 %r0"), (Insn{0xd4, 0, 0, 0, 64}));
    EXPECT_EQ(one("bswap32 %r0"), (Insn{0xd7, 0, 0, 0, 32}));
    EXPECT_EQ(one("swap16 %r0"), (Insn{0xd7, 0, 0, 0, 16}));
    EXPECT_EQ(one("movsx832 %r0, %r1"), (Insn{0xbc, 0, 1, 8, 0}));
    EXPECT_EQ(one("sdiv %r0, 3"), (Insn{0x37, 0, 0, 1, 3}));
    EXPECT_EQ(one("smod32 %r0, %r4"), (Insn{0x9c, 0, 4, 1, 0}));
    EXPECT_EQ(one("ldxw %r0, [%r1+4]"), (Insn{0x61, 0, 1, 4, 0}));
    EXPECT_EQ(one("ldxsb %r0, [%r1]"), (Insn{0x91, 0, 1, 0, 0}));
    EXPECT_EQ(one("stw [%r1+2], 0x44332211"), (Insn{0x62, 1, 0, 2, 0x44332211}));
    EXPECT_EQ(one("stxdw [%r10-8], %r1"), (Insn{0x7b, 10, 1, -8, 0}));
    EXPECT_EQ(one("lock add [%r10-8], %r1"), (Insn{0xdb, 10, 1, -8, 0x00}));
    EXPECT_EQ(one("lock fetch add32 [%r10-4], %r1"), (Insn{0xc3, 10, 1, -4, 0x01}));
    EXPECT_EQ(one("lock xchg [%r10-8], %r1"), (Insn{0xdb, 10, 1, -8, 0xe1}));
    EXPECT_EQ(one("lock cmpxchg32 [%r10-8], %r1"), (Insn{0xc3, 10, 1, -8, 0xf1}));
    EXPECT_EQ(one("ja +3"), (Insn{0x05, 0, 0, 3, 0}));
    EXPECT_EQ(one("ja32 -2"), (Insn{0x06, 0, 0, 0, -2}));
    EXPECT_EQ(one("jeq %r1, 5, +1"), (Insn{0x15, 1, 0, 1, 5}));
    EXPECT_EQ(one("jsgt32 %r1, %r2, -1"), (Insn{0x6e, 1, 2, -1, 0}));
    EXPECT_EQ(one("call 5"), (Insn{0x85, 0, 0, 0, 5}));
    EXPECT_EQ(one("call %r2"), (Insn{0x8d, 2, 0, 0, 0}));
    EXPECT_EQ(one("callx %r2"), (Insn{0x8d, 2, 0, 0, 0}));
    EXPECT_EQ(one("call kfunc 1234"), (Insn{0x85, 0, 2, 0, 1234}));
    EXPECT_EQ(one("call runtime 7, 2"), (Insn{0x85, 0, 2, 2, 7}));
    EXPECT_EQ(one("exit"), (Insn{0x95, 0, 0, 0, 0}));
    EXPECT_EQ(one("ldabsw 12"), (Insn{0x20, 0, 0, 0, 12}));
    EXPECT_EQ(one("ldindb %r7, 2"), (Insn{0x50, 0, 7, 0, 2}));
    EXPECT_EQ(slots("lddw %r0, 0x1122334455667788"),
              (std::vector<Insn>{{0x18, 0, 0, 0, 0x55667788}, {0, 0, 0, 0, 0x11223344}}));
    EXPECT_EQ(slots("lddw %r1, map_fd(3)"), (std::vector<Insn>{{0x18, 1, 1, 0, 3}, {}}));
    EXPECT_EQ(slots("lddw %r1, map_value(3, 8)"), (std::vector<Insn>{{0x18, 1, 2, 0, 3}, {0, 0, 0, 0, 8}}));
    EXPECT_EQ(slots("lddw %r1, map_idx(0)"), (std::vector<Insn>{{0x18, 1, 5, 0, 0}, {}}));
    EXPECT_EQ(slots("lddw %r1, map_idx_value(0, 8)"), (std::vector<Insn>{{0x18, 1, 6, 0, 0}, {0, 0, 0, 0, 8}}));
    EXPECT_EQ(slots("lddw %r1, btf_id(42)"), (std::vector<Insn>{{0x18, 1, 3, 0, 42}, {}}));
    EXPECT_EQ(slots("lddw %r1, func(f)\nexit\nf:\nexit"),
              (std::vector<Insn>{{0x18, 1, 4, 0, 2}, {}, {0x95, 0, 0, 0, 0}, {0x95, 0, 0, 0, 0}}));
}

TEST(Asm, KernelForms) {
    EXPECT_EQ(one("r0 = *(u32 *)(r1 + 4)"), (Insn{0x61, 0, 1, 4, 0}));
    EXPECT_EQ(one("w0 = *(u8 *)(r1 + 4)"), (Insn{0x71, 0, 1, 4, 0}));
    EXPECT_EQ(one("r0 = *(s8 *)(r1 + 4)"), (Insn{0x91, 0, 1, 4, 0}));
    EXPECT_EQ(one("r0 = *(u64 *)(r1 +0)"), (Insn{0x79, 0, 1, 0, 0}));
    EXPECT_EQ(one("*(u32 *)(r10 - 4) = 5"), (Insn{0x62, 10, 0, -4, 5}));
    EXPECT_EQ(one("*(u64 *)(r10 -8) = r1"), (Insn{0x7b, 10, 1, -8, 0}));
    EXPECT_EQ(one("*(u32 *)(r10 - 8) = w1"), (Insn{0x63, 10, 1, -8, 0}));
    EXPECT_EQ(one("r0 += r1"), (Insn{0x0f, 0, 1, 0, 0}));
    EXPECT_EQ(one("w0 += 5"), (Insn{0x04, 0, 0, 0, 5}));
    EXPECT_EQ(one("r0 s/= r1"), (Insn{0x3f, 0, 1, 1, 0}));
    EXPECT_EQ(one("r0 s%= 3"), (Insn{0x97, 0, 0, 1, 3}));
    EXPECT_EQ(one("r0 s>>= 3"), (Insn{0xc7, 0, 0, 0, 3}));
    EXPECT_EQ(one("w1 <<= 24"), (Insn{0x64, 1, 0, 0, 24}));
    EXPECT_EQ(one("r2 += -4"), (Insn{0x07, 2, 0, 0, -4}));
    EXPECT_EQ(one("r0 = -r0"), (Insn{0x87, 0, 0, 0, 0}));
    EXPECT_EQ(one("w0 = -w0"), (Insn{0x84, 0, 0, 0, 0}));
    EXPECT_EQ(one("r0 = -1"), (Insn{0xb7, 0, 0, 0, -1}));
    EXPECT_EQ(one("w0 = w1"), (Insn{0xbc, 0, 1, 0, 0}));
    EXPECT_EQ(one("r0 = (s8)r1"), (Insn{0xbf, 0, 1, 8, 0}));
    EXPECT_EQ(one("w0 = (s16)w1"), (Insn{0xbc, 0, 1, 16, 0}));
    EXPECT_EQ(one("r0 = be16 r0"), (Insn{0xdc, 0, 0, 0, 16}));
    EXPECT_EQ(one("r0 = le32 r0"), (Insn{0xd4, 0, 0, 0, 32}));
    EXPECT_EQ(one("r0 = bswap64 r0"), (Insn{0xd7, 0, 0, 0, 64}));
    EXPECT_EQ(one("goto +3"), (Insn{0x05, 0, 0, 3, 0}));
    EXPECT_EQ(one("gotol +3"), (Insn{0x06, 0, 0, 0, 3}));
    EXPECT_EQ(one("if r1 > 5 goto +3"), (Insn{0x25, 1, 0, 3, 5}));
    EXPECT_EQ(one("if w1 s< w2 goto -2"), (Insn{0xce, 1, 2, -2, 0}));
    EXPECT_EQ(one("if r1 & 0x10 goto +1"), (Insn{0x45, 1, 0, 1, 0x10}));
    EXPECT_EQ(one("if w2 == 0 goto +2 <LBB0_2>"), (Insn{0x16, 2, 0, 2, 0}));
    EXPECT_EQ(one("if r0 != 0x0 goto pc+1"), (Insn{0x55, 0, 0, 1, 0}));
    EXPECT_EQ(one("call 5"), (Insn{0x85, 0, 0, 0, 5}));
    EXPECT_EQ(one("call bpf_map_lookup_elem#1"), (Insn{0x85, 0, 0, 0, 1}));
    EXPECT_EQ(one("call pc+3"), (Insn{0x85, 0, 1, 0, 3}));
    EXPECT_EQ(one("call -4", Syntax::Kernel), (Insn{0x85, 0, 1, 0, -4}));
    EXPECT_EQ(one("call helper -4", Syntax::Kernel), (Insn{0x85, 0, 0, 0, -4}));
    EXPECT_EQ(one("callx r2"), (Insn{0x8d, 2, 0, 0, 0}));
    EXPECT_EQ(one("exit", Syntax::Kernel), (Insn{0x95, 0, 0, 0, 0}));
    EXPECT_EQ(slots("r0 = 0x1122334455667788 ll"),
              (std::vector<Insn>{{0x18, 0, 0, 0, 0x55667788}, {0, 0, 0, 0, 0x11223344}}));
    EXPECT_EQ(slots("r2 = 73588229205 ll"), (std::vector<Insn>{{0x18, 2, 0, 0, 0x22334455}, {0, 0, 0, 0, 0x11}}));
    EXPECT_EQ(slots("r1 = 0 ll"), (std::vector<Insn>{{0x18, 1, 0, 0, 0}, {}}));
    EXPECT_EQ(slots("r1 = map[fd:3]"), (std::vector<Insn>{{0x18, 1, 1, 0, 3}, {}}));
    EXPECT_EQ(slots("r1 = map[fd:3]+8"), (std::vector<Insn>{{0x18, 1, 2, 0, 3}, {0, 0, 0, 0, 8}}));
    EXPECT_EQ(slots("r1 = map[fd:3][0]+8"), (std::vector<Insn>{{0x18, 1, 2, 0, 3}, {0, 0, 0, 0, 8}}));
    EXPECT_EQ(slots("r1 = map[idx:0]"), (std::vector<Insn>{{0x18, 1, 5, 0, 0}, {}}));
    EXPECT_EQ(slots("r1 = map[idx:0]+8"), (std::vector<Insn>{{0x18, 1, 6, 0, 0}, {0, 0, 0, 0, 8}}));
    EXPECT_EQ(slots("r1 = btf_id(42)"), (std::vector<Insn>{{0x18, 1, 3, 0, 42}, {}}));
    EXPECT_EQ(one("r0 = *(u8 *)skb[12]"), (Insn{0x30, 0, 0, 0, 12}));
    EXPECT_EQ(one("r0 = *(u16 *)skb[r7 + 2]"), (Insn{0x48, 0, 7, 0, 2}));
    EXPECT_EQ(one("r0 = *(u8 *)skb[r8]"), (Insn{0x50, 0, 8, 0, 0}));
    EXPECT_EQ(one("lock *(u64 *)(r1 + 0) += r2"), (Insn{0xdb, 1, 2, 0, 0x00}));
    EXPECT_EQ(one("lock *(u32 *)(r1 + 0) |= w2"), (Insn{0xc3, 1, 2, 0, 0x40}));
    EXPECT_EQ(one("lock *(u64 *)(r6 + 40) ^= r2"), (Insn{0xdb, 6, 2, 40, 0xa0}));
    EXPECT_EQ(one("r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)"), (Insn{0xdb, 1, 2, 0, 0x01}));
    EXPECT_EQ(one("w2 = atomic_fetch_and((u32 *)(r1 + 0), w2)"), (Insn{0xc3, 1, 2, 0, 0x51}));
    EXPECT_EQ(one("r2 = xchg_64(r1 + 0, r2)"), (Insn{0xdb, 1, 2, 0, 0xe1}));
    EXPECT_EQ(one("w2 = xchg32_32(r1 + 0, w2)"), (Insn{0xc3, 1, 2, 0, 0xe1}));
    EXPECT_EQ(one("r0 = cmpxchg_64(r1 + 0, r0, r2)"), (Insn{0xdb, 1, 2, 0, 0xf1}));
    EXPECT_EQ(one("w0 = cmpxchg32_32(r1 + 0, w0, w2)"), (Insn{0xc3, 1, 2, 0, 0xf1}));
    EXPECT_EQ(one("r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)"), (Insn{0xdb, 1, 2, 0, 0x01}));
    EXPECT_EQ(one("r2 = atomic64_xchg((u64 *)(r1 -8), r2)"), (Insn{0xdb, 1, 2, -8, 0xe1}));
    EXPECT_EQ(one("r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)"), (Insn{0xdb, 1, 2, 0, 0xf1}));
    EXPECT_EQ(one("r0 = atomic_cmpxchg((u32 *)(r1 +0), r0, r2)"), (Insn{0xc3, 1, 2, 0, 0xf1}));
}

TEST(Asm, LabelsCommentsAndPrefixes) {
    const auto s = slots(
        "# leading comment\n"
        "start: mov %r0, 0   # trailing comment\n"
        "  jeq %r1, 5, done\n"
        "ja start\n"
        "done:\n"
        "exit\n");
    EXPECT_EQ(s, (std::vector<Insn>{{0xb7, 0, 0, 0, 0}, {0x15, 1, 0, 1, 5}, {0x05, 0, 0, -3, 0}, {0x95, 0, 0, 0, 0}}));
    // `exit` names the first exit instruction unless defined.
    EXPECT_EQ(slots("jne %r0, %r1, exit\nmov %r0, 1\nexit\n")[0], (Insn{0x5d, 0, 1, 1, 0}));
    // Kernel syntax: `;` and `//` comments, slot-number prefixes and objdump symbol lines.
    const auto k = slots(
        "   0: r0 = 0 ; set\n"
        "   1: if r1 == 0 goto LBB0_2 // skip\n"
        "   2: r0 = 1\n"
        "0000000000000018 <LBB0_2>:\n"
        "   3: exit\n");
    EXPECT_EQ(k, (std::vector<Insn>{{0xb7, 0, 0, 0, 0}, {0x15, 1, 0, 1, 0}, {0xb7, 0, 0, 0, 1}, {0x95, 0, 0, 0, 0}}));
    EXPECT_EQ(slots("call local f\nexit\nf: exit\n")[0], (Insn{0x85, 0, 1, 0, 1}));
    EXPECT_EQ(slots("call f\nexit\nf: exit\n", Syntax::Kernel)[0], (Insn{0x85, 0, 1, 0, 1}));
}

TEST(Asm, SourcePositions) {
    auto p = assemble("mov %r0, 0\n\n  lddw %r1, 5\nexit\n", "p.s");
    ASSERT_TRUE(p.has_value()) << p.error().render();
    EXPECT_EQ(p->source(1)->line, 3u);
    EXPECT_EQ(p->source(1)->col, 3u);
    EXPECT_EQ(p->source(2)->line, 3u);
    EXPECT_EQ(p->source(3)->line, 4u);
    EXPECT_EQ(p->source(3)->file, "p.s");
    EXPECT_EQ(error("mov %r0, 0\nja +5\nexit\n"), "t.s:2:1: jump out of range from insn 1 to 7");
}

TEST(Asm, Detection) {
    EXPECT_EQ(detect_syntax("mov %r0, 1\nexit"), Syntax::Conformance);
    EXPECT_EQ(detect_syntax("exit\nja +1"), Syntax::Conformance);
    EXPECT_EQ(detect_syntax("ldabsw 12"), Syntax::Conformance);
    EXPECT_EQ(detect_syntax("label:\n  r0 = 1\nexit"), Syntax::Kernel);
    EXPECT_EQ(detect_syntax("goto +1"), Syntax::Kernel);
    EXPECT_EQ(detect_syntax("callx r1"), Syntax::Kernel);
    EXPECT_EQ(detect_syntax("exit\ncall 1"), Syntax::Conformance);
    EXPECT_EQ(detect_syntax(""), Syntax::Conformance);
}

TEST(Asm, ErrorMessages) {
    EXPECT_EQ(error("mov %r0, 1\nfoo %r1, 2\nexit\n"), "t.s:2:1: unknown mnemonic 'foo'");
    EXPECT_EQ(error("mov %r11, 1\n"), "t.s:1:5: expected a register %r0-%r10, found '%r11'");
    EXPECT_EQ(error("r11 = 1\n"), "t.s:1:1: expected a register r0-r10 or w0-w10, found 'r11'");
    EXPECT_EQ(error("r1 = r11\n"), "t.s:1:6: expected a register r0-r10, found 'r11'");
    EXPECT_EQ(error("add %r1,\n"), "t.s:1:9: expected a 32-bit immediate, found end of line");
    EXPECT_EQ(error("add %r1\n"), "t.s:1:8: expected ',', found end of line");
    EXPECT_EQ(error("mov %r0, 4294967296\n"), "t.s:1:10: expected a 32-bit immediate, found 4294967296");
    EXPECT_EQ(error("mov %r0, -2147483649\n"), "t.s:1:10: expected a 32-bit immediate, found -2147483649");
    EXPECT_EQ(error("w0 = 4294967296\n"), "t.s:1:6: expected a 32-bit immediate, found 4294967296");
    EXPECT_EQ(error("ja nowhere\nexit\n"), "t.s:1:4: undefined label 'nowhere'");
    EXPECT_EQ(error("a:\nexit\na: exit\n"), "t.s:3:1: duplicate label 'a' (first defined at line 1)");
    EXPECT_EQ(error("exit now\n"), "t.s:1:6: expected end of line, found 'now'");
    EXPECT_EQ(error("r0 = 1 2\n"), "t.s:1:8: expected end of line, found '2'");
    EXPECT_EQ(error("ldxw %r0, [%r1+32768]\n"), "t.s:1:15: expected a 16-bit offset, found +32768");
    EXPECT_EQ(error("ja +40000\n"), "t.s:1:4: expected a 16-bit offset, found +40000");
    EXPECT_EQ(error("r0 = *(u32 *)(r1 - 32769)\n"), "t.s:1:18: expected a 16-bit offset, found -32769");
    EXPECT_EQ(error("mov %r0, 0x\n"), "t.s:1:10: expected a 32-bit immediate, found malformed number '0x'");
    EXPECT_EQ(error("mov %r0, 1 @\n"), "t.s:1:12: unexpected character '@'");
    EXPECT_EQ(error("r0 ~ 1\n"), "t.s:1:4: expected an assignment operator (=, +=, ...), found '~'");
    EXPECT_EQ(error("r0 = -r1\n"), "t.s:1:7: expected 'r0' (neg works in place), found 'r1'");
    EXPECT_EQ(error("w0 += r1\n"), "t.s:1:7: expected a register w0-w10, found 'r1'");
    EXPECT_EQ(error("frob r1\n", Syntax::Kernel), "t.s:1:1: unknown instruction 'frob'");
    EXPECT_EQ(error("lddw %r1, map_fd(3\n"), "t.s:1:19: expected ')', found end of line");
    EXPECT_EQ(error("r0 = *(u8 *)skb[12]\nr1 = *(u8 *)skb[12]\n"),
              "t.s:2:1: packet loads (skb[...]) always load into r0");
    EXPECT_EQ(error("\n"), "empty program");
}

TEST(Asm, FarLabel) {
    std::string text = "ja far\n";
    for (int i = 0; i < 40000; ++i) {
        text += "mov %r0, 0\n";
    }
    text += "far: exit\n";
    EXPECT_EQ(error(text), "t.s:1:4: expected a target within 16-bit offset range, found label 'far' at +40000");
    // ja32 reaches it.
    text.replace(0, 2, "ja32");
    EXPECT_TRUE(assemble(text, "t.s").has_value());
}

TEST(Asm, NeverCrashes) {
    // Every prefix of a varied text and some hostile bytes either assemble or return an error.
    const std::string text =
        "lddw %r1, map_value(3, 8)\nlock fetch add32 [%r10-4], %r1\nr0 = atomic_fetch_add((u64 *)(r1 + 0), r0)\n"
        "r1 = map[fd:3][0]+8\nif w1 s< w2 goto -2 <x>\ncall bpf_x#1\nr0 = *(u16 *)skb[r7 + 2]\n\x01\xff%%[[((";
    for (std::size_t n = 0; n <= text.size(); ++n) {
        (void)assemble_slots(text.substr(0, n), "t.s", Syntax::Conformance);
        (void)assemble_slots(text.substr(0, n), "t.s", Syntax::Kernel);
        (void)assemble(text.substr(0, n), "t.s");
    }
    SUCCEED();
}

TEST(Asm, TokenSoupNeverCrashes) {
    // Lines of random tokens from both syntaxes: each assembles or fails with a positioned error.
    static constexpr std::string_view kTokens[] = {
        "r0", "w1", "%r2", "%", "r11", "=", "+=", "s>>=", "-", "+", "*", "(", ")", "[", "]", ",", ":", "#", "u32",
        "s8", "skb", "map", "fd", "idx", "lock", "fetch", "add", "add32", "lddw", "ldxw", "call", "local", "kfunc",
        "pc", "goto", "if", "ll", "exit", "xchg_64", "atomic_fetch_add", "cmpxchg32_32", "map_value", "func",
        "0", "1", "-1", "0x", "0xffffffffffffffff", "99999999999999999999", "32768", "L1", "L1:", "<", ">", "be16"};
    std::uint64_t state = 0x9e3779b97f4a7c15ULL;
    auto next = [&state] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    for (int line = 0; line < 20000; ++line) {
        std::string text;
        const std::size_t n = 1 + next() % 9;
        for (std::size_t i = 0; i < n; ++i) {
            text += kTokens[next() % std::size(kTokens)];
            text += (next() % 3 == 0) ? "" : " ";
        }
        for (Syntax syntax : {Syntax::Conformance, Syntax::Kernel}) {
            auto a = assemble_slots(text, "soup.s", syntax);
            if (!a) {
                EXPECT_EQ(a.error().code, Errc::Parse) << text;
                EXPECT_TRUE(std::holds_alternative<SourcePos>(a.error().where)) << text;
            }
        }
    }
}

TEST(Disasm, Options) {
    auto p = assemble("mov %r0, 0\njeq %r1, 5, +2\nlddw %r0, 1\nexit\n", "p.s");
    ASSERT_TRUE(p.has_value()) << p.error().render();
    EXPECT_EQ(disassemble(*p, Syntax::Kernel), "r0 = 0\nif r1 == 5 goto +2\nr0 = 0x1 ll\nexit\n");
    EXPECT_EQ(disassemble(*p, Syntax::Conformance, {.pc = true}),
              "   0: mov %r0, 0\n   1: jeq %r1, 5, +2\n   2: lddw %r0, 0x1\n   4: exit\n");
    EXPECT_EQ(disassemble(*p, Syntax::Kernel, {.labels = true}),
              "r0 = 0\nif r1 == 5 goto L4\nr0 = 0x1 ll\nL4:\nexit\n");
    const std::string listing = disassemble(*p, Syntax::Kernel, {.pc = true, .labels = true});
    auto back = assemble(listing, "l.s");
    ASSERT_TRUE(back.has_value()) << back.error().render();
    EXPECT_EQ(back->bytes(), p->bytes());
}

TEST(Disasm, AtomicAndPseudoSpellings) {
    auto text = [](std::string_view src) {
        auto a = assemble_slots(src, "t.s");
        EXPECT_TRUE(a.has_value()) << a.error().render();
        return format_insn(a->slots, 0, *isa::classify(a->slots, 0), Syntax::Kernel);
    };
    EXPECT_EQ(text("lock add32 [%r1+0], %r2"), "lock *(u32 *)(r1 + 0) += w2");
    EXPECT_EQ(text("lock fetch or [%r1-8], %r2"), "r2 = atomic_fetch_or((u64 *)(r1 - 8), r2)");
    EXPECT_EQ(text("lock xchg32 [%r1+4], %r2"), "w2 = xchg32_32(r1 + 4, w2)");
    EXPECT_EQ(text("lock cmpxchg [%r1+0], %r2"), "r0 = cmpxchg_64(r1 + 0, r0, r2)");
    EXPECT_EQ(text("lddw %r1, map_fd(3)"), "r1 = map[fd:3]");
    EXPECT_EQ(text("lddw %r1, map_fd(3, 9)"), "r1 = map_fd(3, 9)");
    EXPECT_EQ(text("lddw %r1, map_value(3, 0)"), "r1 = map[fd:3]+0");
    EXPECT_EQ(text("lddw %r1, map_idx_value(2, 4294967295)"), "r1 = map[idx:2]+4294967295");
    EXPECT_EQ(text("lddw %r1, btf_id(42)"), "r1 = btf_id(42)");
    EXPECT_EQ(text("lddw %r1, func(+3)"), "r1 = func(+3)");
    EXPECT_EQ(text("ldindh %r7, -2"), "r0 = *(u16 *)skb[r7 - 2]");
    EXPECT_EQ(text("call local -4"), "call pc-4");
    EXPECT_EQ(text("call -4"), "call helper -4");
    EXPECT_EQ(text("call kfunc 99, 3"), "call kfunc 99, 3");
}

}  // namespace
}  // namespace sockfilter::assembler
