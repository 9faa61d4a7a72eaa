// SPDX-License-Identifier: MIT
// Validation messages, interpreter semantics (spec §7.3-§7.5) and conversion details.
#include <gtest/gtest.h>

#include "cbpf/convert.h"
#include "cbpf/interpreter.h"
#include "cbpf/validate.h"
#include "runtime/helpers.h"
#include "runtime/load.h"
#include "runtime/prog_type.h"
#include "vm/interpreter.h"

namespace sockfilter::cbpf {
namespace {

using namespace code;

Insn I(std::uint16_t c, std::uint32_t k = 0, std::uint8_t jt = 0, std::uint8_t jf = 0) { return Insn{c, jt, jf, k}; }

std::string reject(const Filter& f) {
    auto r = validate(f);
    EXPECT_FALSE(r);
    return r ? std::string() : r.error().render();
}

TEST(Validate, TheKernelsRejectionsWithReasons) {
    EXPECT_EQ(reject({}), "a classic program has 1 to 4096 instructions; this one has 0 (EINVAL)");
    EXPECT_EQ(reject(Filter(4097, I(kRet | kK))), "a classic program has 1 to 4096 instructions; this one has 4097 (EINVAL)");
    EXPECT_EQ(reject({I(kLd | kImm, 1)}), "pc 0: the last instruction must be ret #k or ret a (EINVAL)");
    EXPECT_EQ(reject({I(kAlu | kDiv | kK, 0), I(kRet | kA)}), "pc 0: div      #0 divides by the constant 0 (EINVAL)");
    EXPECT_EQ(reject({I(kAlu | kLsh | kK, 32), I(kRet | kA)}), "pc 0: lsh      #32 shifts by 32, 32 or more (EINVAL)");
    EXPECT_EQ(reject({I(kLd | kMem, 16), I(kRet | kA)}),
              "pc 0: ld       M[16] names scratch slot M[16]; there are 16 (M[0]..M[15]) (EINVAL)");
    EXPECT_EQ(reject({I(kLd | kMem, 0), I(kRet | kA)}),
              "pc 0: ld       M[0] reads scratch slot M[0] before it is stored on every path to this instruction "
              "(EINVAL)");
    EXPECT_EQ(reject({I(kJmp | kJa, 1), I(kRet | kA)}), "pc 0: ja +1 jumps past the last instruction (pc 1) (EINVAL)");
    EXPECT_EQ(reject({I(kJmp | kJeq | kK, 0, 1, 0), I(kRet | kA)}),
              "pc 0: jeq      #0x0             jt 2\tjf 1 jumps past the last instruction (pc 1) (EINVAL)");
    EXPECT_EQ(reject({I(kLd | kW | kAbs, kAdOff + 64), I(kRet | kA)}),
              "pc 0: ld       [-4032]: SKF_AD_OFF+64 is not an ancillary load the kernel knows (0, 4, ..., 60) (EINVAL)");
    EXPECT_EQ(reject({I(0xff), I(kRet | kA)}), "pc 0: opcode 0xff is not a classic instruction the kernel accepts (EINVAL)");
    EXPECT_EQ(reject({I(kRet | kX)}),
              "pc 0: opcode 0x0e is not a classic instruction the kernel accepts (ret x: the kernel returns only a "
              "constant or A) (EINVAL)");
    EXPECT_EQ(reject({I(kLdx | kW | kAbs), I(kRet | kA)}),
              "pc 0: opcode 0x21 is not a classic instruction the kernel accepts (ldx [k]: seccomp only) (EINVAL)");
}

TEST(Validate, AcceptsWhatTheKernelAccepts) {
    EXPECT_TRUE(validate(Filter{I(kSt, 0), I(kLd | kMem, 0), I(kRet | kA)}));
    EXPECT_TRUE(validate(Filter{I(kAlu | kDiv | kX), I(kRet | kA)}));
    EXPECT_TRUE(validate(Filter(4096, I(kRet | kK))));
    // A store on one path only: rejected; on both: accepted.
    EXPECT_FALSE(validate(Filter{I(kJmp | kJeq | kK, 0, 0, 1), I(kSt, 2), I(kLd | kMem, 2), I(kRet | kA)}));
    EXPECT_TRUE(validate(Filter{I(kSt, 2), I(kJmp | kJeq | kK, 0, 0, 1), I(kSt, 2), I(kLd | kMem, 2), I(kRet | kA)}));
}

TEST(Validate, ConvertedJumpRangeAsTheKernel) {
    // ja over 4000 MSH loads: each converts to 20 eBPF instructions, 80000 > 32767.
    Filter f;
    f.push_back(I(kJmp | kJa, 4000));
    for (int i = 0; i < 4000; ++i) f.push_back(I(kLdx | kB | kMsh, 14));
    f.push_back(I(kRet | kA));
    auto r = validate(f);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("more than a 16-bit offset holds"), std::string::npos);
}

class Run : public ::testing::Test {
protected:
    std::uint32_t run(const Filter& f, const runtime::Skb& skb) {
        EXPECT_TRUE(validate(f));
        return Interpreter(f, *inst_).run(skb);
    }
    std::unique_ptr<runtime::Instance> inst_ = *runtime::Instance::create({}, {}, {});
};

runtime::Skb packet(std::vector<std::uint8_t> bytes) {
    runtime::Skb skb;
    skb.bytes = std::move(bytes);
    skb.mac_header = runtime::kNoHeader;
    return skb;
}

TEST_F(Run, SpecSection7Measurements) {
    runtime::Skb none = packet(std::vector<std::uint8_t>(100, 0x61));
    none.meta.ifindex = 0;  // AF_UNIX: no device
    EXPECT_EQ(run({I(kLd | kImm, 5), I(kLd | kW | kAbs, kAdOff + 8), I(kRet | kK, 77)}, none), 5u);
    EXPECT_EQ(run({I(kLd | kImm, 5), I(kLd | kW | kAbs, kAdOff + 28), I(kRet | kK, 77)}, none), 5u);
    EXPECT_EQ(run({I(kLd | kImm, 3), I(kLdx | kImm, 6), I(kLd | kW | kAbs, kAdOff + 40), I(kRet | kA)}, none), 5u);
    EXPECT_EQ(run({I(kLd | kB | kAbs, static_cast<std::uint32_t>(kLlOff + 3)), I(kRet | kK, 1)}, none), 0u);
    EXPECT_EQ(run({I(kLd | kB | kAbs, 100), I(kRet | kK, 1)}, none), 0u);
    EXPECT_EQ(run({I(kLdx | kImm, 99), I(kLd | kH | kInd, 0), I(kRet | kK, 1)}, none), 0u);
    EXPECT_EQ(run({I(kLdx | kImm, 98), I(kLd | kH | kInd, 0), I(kRet | kA)}, none), 0x6161u);
    EXPECT_EQ(run({I(kLd | kImm, 0xffffffff), I(kAlu | kAdd | kK, 31), I(kRet | kA)}, none), 30u);
    EXPECT_EQ(run({I(kLd | kImm, 80), I(kJmp | kJgt | kK, 0xfffffff0, 0, 1), I(kRet | kK, 1), I(kRet | kK, 2)}, none), 2u);
    EXPECT_EQ(run({I(kLd | kImm, 7), I(kAlu | kDiv | kX), I(kRet | kK, 9)}, none), 0u);
    EXPECT_EQ(run({I(kLd | kImm, 7), I(kAlu | kMod | kX), I(kRet | kK, 9)}, none), 0u);
}

TEST_F(Run, PayloadOffsetOfIpv4Tcp) {
    std::vector<std::uint8_t> f(14 + 20 + 32, 0);
    f[12] = 0x08;
    f[14] = 0x46;  // IHL 6: 24-byte header
    f[14 + 9] = 6;
    f[14 + 24 + 12] = 0x80;  // data offset 8 words
    runtime::Skb skb = packet(f);
    skb.mac_header = 0;
    skb.network_header = 14;
    skb.meta.protocol = 0x0008;
    EXPECT_EQ(payload_offset(skb), 14u + 24 + 32);
}

// test_bpf's LD_NLATTR and LD_NLATTR_NEST with the little-endian packets the x86-64 kernel runs.
TEST_F(Run, NlattrLittleEndian) {
    const Filter find{I(kLdx | kImm, 2), I(kMisc | kTxa), I(kLdx | kImm, 3), I(kLd | kW | kAbs, kAdOff + 12),
                      I(kRet | kA)};
    runtime::Skb skb = packet({0xff, 0xff, 4, 0, 2, 0, 4, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    EXPECT_EQ(run(find, skb), 6u);
    skb.bytes.resize(4);
    EXPECT_EQ(run(find, skb), 0u);
    // Nested: the attribute at 2 (len 12) holds type 2 at 6 and type 3 at 10.
    const Filter nest{I(kLd | kImm, 2), I(kLdx | kImm, 3), I(kLd | kW | kAbs, kAdOff + 16), I(kRet | kA)};
    runtime::Skb n = packet({0xff, 0xff, 12, 0, 1, 0, 4, 0, 2, 0, 4, 0, 3, 0, 0, 0, 0, 0, 0, 0});
    EXPECT_EQ(run(nest, n), 10u);
}

TEST(Convert, RefusesAncillariesWithoutAnEquivalent) {
    auto p = convert(Filter{I(kLd | kW | kAbs, kAdOff + 28), I(kLd | kB | kAbs, kAdOff + 52), I(kRet | kA)});
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, Errc::NotSupported);
    EXPECT_NE(p.error().message.find("pc 0 (ld       [hatype]), pc 1 (ldb      [poff])"), std::string::npos)
        << p.error().message;
}

TEST(Convert, DivisionByZeroXEndsWithZeroAndDeadCodeIsDropped) {
    const Filter f{I(kLd | kImm, 7), I(kAlu | kDiv | kX), I(kRet | kK, 9), I(kRet | kK, 3)};
    auto p = convert(f);
    ASSERT_TRUE(p) << p.error().render();
    // prologue 3 + ld 1 + check 3 + div 1 + ret 2; the unreachable `ret #3` is gone.
    EXPECT_EQ(p->size(), 10u);
    auto inst = *runtime::Instance::create({}, {}, {});
    vm::Interpreter engine(runtime::LoadedProgram{&*p, runtime::socket_filter_env()}, vm::Options{});
    runtime::Skb skb = packet({1, 2, 3});
    vm::RunInput in;
    in.skb = &skb;
    EXPECT_EQ(engine.run(in).r0, 0u);
}

}  // namespace
}  // namespace sockfilter::cbpf
