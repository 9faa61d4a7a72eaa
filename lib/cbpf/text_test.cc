// SPDX-License-Identifier: MIT
// The classic text formats: round trips, tcpdump's own output, and bad input with its position.
#include <gtest/gtest.h>

#include "cbpf/text.h"

namespace sockfilter::cbpf {
namespace {

// tcpdump -i lo -d/-dd/-ddd 'ip and tcp port 22' (tcpdump 4.99.3, libpcap 1.10.3), cut to the
// first lines plus the returns.
constexpr const char* kListing = R"((000) ldh      [12]
(001) jeq      #0x800           jt 2	jf 8
(002) ldb      [23]
(003) jeq      #0x6             jt 4	jf 8
(004) ldxb     4*([14]&0xf)
(005) ldh      [x + 14]
(006) jeq      #0x16            jt 7	jf 8
(007) ret      #262144
(008) ret      #0
)";

Filter expected() {
    return {{0x28, 0, 0, 12}, {0x15, 0, 6, 0x800}, {0x30, 0, 0, 23}, {0x15, 0, 4, 6}, {0xb1, 0, 0, 14},
            {0x48, 0, 0, 14}, {0x15, 0, 1, 0x16},  {0x06, 0, 0, 262144}, {0x06, 0, 0, 0}};
}

TEST(Text, ReadsTcpdumpListing) {
    auto f = parse_text(kListing, TextFormat::Listing, "f");
    ASSERT_TRUE(f) << f.error().render();
    EXPECT_EQ(*f, expected());
    EXPECT_EQ(write_text(*f, TextFormat::Listing), kListing);
}

TEST(Text, EveryFormatRoundTrips) {
    Filter f = expected();
    f.insert(f.begin(), {{0x20, 0, 0, kAdOff + 0}, {0x30, 0, 0, kAdOff + 48}, {0x20, 0, 0, kAdOff + 40},
                         {0x05, 0, 0, 0}, {0x45, 1, 1, 0x80000000}, {0x87, 0, 0, 0}, {0x07, 0, 0, 0},
                         {0x16, 0, 0, 0}});
    for (TextFormat fm : {TextFormat::Listing, TextFormat::CArray, TextFormat::Decimal, TextFormat::Bytecode,
                          TextFormat::BpfAsm}) {
        const std::string text = write_text(f, fm);
        auto back = parse_text(text, fm, "x");
        ASSERT_TRUE(back) << text_format_name(fm) << ": " << back.error().render() << "\n" << text;
        EXPECT_EQ(*back, f) << text_format_name(fm) << "\n" << text;
        if (fm != TextFormat::BpfAsm) {
            EXPECT_EQ(sniff_text_format(text), fm) << text;
        }
    }
}

TEST(Text, BpfAsmSyntax) {
    constexpr const char* kSrc = R"(; the kernel's bpf_asm syntax
# a comment line
        ldh [12]
        jne #0x806, drop
        ld #len
        ldb #vlan_avail
        ldxb 4*([14]&0xf)
        jlt #10, drop        /* A < 10 */
        jeq %x, keep, drop
keep:   ret #-1
drop:   ret #0
)";
    auto f = parse_text(kSrc, TextFormat::BpfAsm, "a.bpf");
    ASSERT_TRUE(f) << f.error().render();
    const Filter want{{0x28, 0, 0, 12},          {0x15, 0, 6, 0x806}, {0x80, 0, 0, 0}, {0x30, 0, 0, kAdOff + 48},
                      {0xb1, 0, 0, 14},          {0x35, 0, 2, 10},    {0x1d, 0, 1, 0}, {0x06, 0, 0, 0xffffffff},
                      {0x06, 0, 0, 0}};
    EXPECT_EQ(*f, want);
}

std::string error(std::string_view text, TextFormat fm) {
    auto f = parse_text(text, fm, "in");
    EXPECT_FALSE(f);
    return f ? std::string() : f.error().render();
}

TEST(Text, BadInputNamesLineColumnAndReason) {
    EXPECT_EQ(error("(000) ldh [12]\n(002) ret #0\n", TextFormat::Listing),
              "in:2:2: instruction numbered 2 where 1 was expected");
    EXPECT_EQ(error("(000) lol [12]\n", TextFormat::Listing), "in:1:7: unknown mnemonic 'lol'");
    EXPECT_EQ(error("(000) jeq #1 jt 0 jf 1\n(001) ret #0\n", TextFormat::Listing),
              "in:1:17: jump from instruction 0 to 0: classic jumps go forward to an existing instruction");
    EXPECT_EQ(error("{ 0x28, 0, 0, 0x0c },\n{ 0x6, 0, 0 },\n", TextFormat::CArray), "in:2:13: expected ',' before k");
    EXPECT_EQ(error("{ 0x28, 0, 300, 12 },\n", TextFormat::CArray), "in:1:15: jf 300 does not fit its field (at most 255)");
    EXPECT_EQ(error("2\n40 0 0 12\n", TextFormat::Decimal), "in:2: the first line says 2 instructions, 1 follow");
    EXPECT_EQ(error("1\n40 0 x 12\n", TextFormat::Decimal), "in:2:6: expected a number (jf)");
    EXPECT_EQ(error("2,40 0 0 12,6 0 0\n", TextFormat::Bytecode), "in:1:19: expected a number (k)");
    EXPECT_EQ(error("  jeq #1, nowhere\n  ret #0\n", TextFormat::BpfAsm), "in:1:11: no label 'nowhere'");
    EXPECT_EQ(error("  ld [x - 1]\n", TextFormat::BpfAsm), "in:1:9: expected '+' after x");
    EXPECT_EQ(error("  ret #0 #1\n", TextFormat::BpfAsm), "in:1:10: unexpected '#1' after the instruction");
    EXPECT_EQ(error("l1: ret #0\nl1: ret #1\n", TextFormat::BpfAsm), "in:2:1: label 'l1' defined twice");
}

}  // namespace
}  // namespace sockfilter::cbpf
