// SPDX-License-Identifier: MIT
// The classic interpreter (the kernel's ___bpf_prog_run semantics after conversion, spec §7.5).
#include "cbpf/interpreter.h"

#include <array>

#include "support/assert.h"
#include "support/bytes.h"

namespace sockfilter::cbpf {

namespace {

using namespace code;

/// A packet load of `size` bytes at `k`: true and the big-endian value, or false when the load
/// fails and the filter returns 0.
inline bool load(const runtime::Skb& skb, std::int32_t k, std::uint32_t size, std::uint32_t& out) {
    const std::int64_t pos = runtime::packet_load_pos(skb, k, size);
    if (pos < 0) {
        return false;
    }
    const std::uint8_t* p = skb.bytes.data() + pos;
    out = size == 4 ? load_be<std::uint32_t>(p) : size == 2 ? load_be<std::uint16_t>(p) : p[0];
    return true;
}

std::uint16_t swab16(std::uint16_t v) { return static_cast<std::uint16_t>((v >> 8) | (v << 8)); }

}  // namespace

std::uint32_t Interpreter::run(const runtime::Skb& skb) const {
    std::uint32_t a = 0;
    std::uint32_t x = 0;
    std::array<std::uint32_t, kMemWords> mem{};
    const Insn* const code = filter_.data();
    std::size_t pc = 0;
    for (;;) {
        SF_ASSERT(pc < filter_.size());
        const Insn& in = code[pc++];
        switch (in.code) {
            case kAlu | kAdd | kK: a += in.k; break;
            case kAlu | kAdd | kX: a += x; break;
            case kAlu | kSub | kK: a -= in.k; break;
            case kAlu | kSub | kX: a -= x; break;
            case kAlu | kMul | kK: a *= in.k; break;
            case kAlu | kMul | kX: a *= x; break;
            case kAlu | kDiv | kK: a /= in.k; break;
            case kAlu | kDiv | kX:
                if (x == 0) {
                    return 0;
                }
                a /= x;
                break;
            case kAlu | kMod | kK: a %= in.k; break;
            case kAlu | kMod | kX:
                if (x == 0) {
                    return 0;
                }
                a %= x;
                break;
            case kAlu | kAnd | kK: a &= in.k; break;
            case kAlu | kAnd | kX: a &= x; break;
            case kAlu | kOr | kK: a |= in.k; break;
            case kAlu | kOr | kX: a |= x; break;
            case kAlu | kXor | kK: a ^= in.k; break;
            case kAlu | kXor | kX: a ^= x; break;
            case kAlu | kLsh | kK: a <<= in.k; break;
            case kAlu | kLsh | kX: a <<= (x & 31); break;
            case kAlu | kRsh | kK: a >>= in.k; break;
            case kAlu | kRsh | kX: a >>= (x & 31); break;
            case kAlu | kNeg: a = 0U - a; break;
            case kLd | kW | kAbs:
            case kLd | kH | kAbs:
            case kLd | kB | kAbs:
                if (in_ancillary_range(in.k)) [[unlikely]] {
                    const auto& m = skb.meta;
                    switch (*ancillary(in.k)) {
                        case Ancillary::Protocol: a = swab16(m.protocol); break;
                        case Ancillary::PktType: a = m.pkt_type & 7U; break;
                        case Ancillary::Ifindex:
                            if (m.ifindex == 0) {
                                return a;
                            }
                            a = m.ifindex;
                            break;
                        case Ancillary::Hatype:
                            if (m.ifindex == 0) {
                                return a;
                            }
                            a = m.dev_type;
                            break;
                        case Ancillary::Nlattr: a = nlattr(skb, a, x); break;
                        case Ancillary::NlattrNest: a = nlattr_nest(skb, a, x); break;
                        case Ancillary::Mark: a = m.mark; break;
                        case Ancillary::Queue: a = m.queue_mapping; break;
                        case Ancillary::Rxhash: a = m.hash; break;
                        case Ancillary::Cpu: a = instance_->cpu(); break;
                        case Ancillary::AluXorX: a ^= x; break;
                        case Ancillary::VlanTag: a = m.vlan_tci; break;
                        case Ancillary::VlanTagPresent: a = (m.vlan_tci != 0 || m.vlan_proto != 0) ? 1 : 0; break;
                        case Ancillary::PayOffset: a = payload_offset(skb); break;
                        case Ancillary::Random: a = instance_->prandom_u32(); break;
                        case Ancillary::VlanTpid: a = swab16(m.vlan_proto); break;
                    }
                    break;
                }
                if (!load(skb, static_cast<std::int32_t>(in.k), code::bytes(in.code), a)) {
                    return 0;
                }
                break;
            case kLd | kW | kInd:
            case kLd | kH | kInd:
            case kLd | kB | kInd:
                if (!load(skb, static_cast<std::int32_t>(x + in.k), code::bytes(in.code), a)) {
                    return 0;
                }
                break;
            case kLd | kW | kLen: a = skb.len(); break;
            case kLdx | kW | kLen: x = skb.len(); break;
            case kLd | kImm: a = in.k; break;
            case kLdx | kImm: x = in.k; break;
            case kLd | kMem: a = mem[in.k]; break;
            case kLdx | kMem: x = mem[in.k]; break;
            case kLdx | kB | kMsh: {
                std::uint32_t b = 0;
                if (!load(skb, static_cast<std::int32_t>(in.k), 1, b)) {
                    return 0;
                }
                x = (b & 0xf) << 2;
                break;
            }
            case kSt: mem[in.k] = a; break;
            case kStx: mem[in.k] = x; break;
            case kMisc | kTax: x = a; break;
            case kMisc | kTxa: a = x; break;
            case kRet | kK: return in.k;
            case kRet | kA: return a;
            case kJmp | kJa: pc += in.k; break;
            case kJmp | kJeq | kK: pc += a == in.k ? in.jt : in.jf; break;
            case kJmp | kJeq | kX: pc += a == x ? in.jt : in.jf; break;
            case kJmp | kJgt | kK: pc += a > in.k ? in.jt : in.jf; break;
            case kJmp | kJgt | kX: pc += a > x ? in.jt : in.jf; break;
            case kJmp | kJge | kK: pc += a >= in.k ? in.jt : in.jf; break;
            case kJmp | kJge | kX: pc += a >= x ? in.jt : in.jf; break;
            case kJmp | kJset | kK: pc += (a & in.k) != 0 ? in.jt : in.jf; break;
            case kJmp | kJset | kX: pc += (a & x) != 0 ? in.jt : in.jf; break;
            default: SF_UNREACHABLE();
        }
    }
}

}  // namespace sockfilter::cbpf
