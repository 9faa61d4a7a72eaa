// SPDX-License-Identifier: MIT
// The kernel's classic-BPF checks, in the kernel's order, with a reason for each EINVAL.
#include "cbpf/validate.h"

#include <cerrno>
#include <limits>
#include <vector>

#include "cbpf/text.h"

namespace sockfilter::cbpf {

namespace {

using namespace code;

tl::unexpected<Error> reject(std::size_t pc, std::string message) {
    Error e{Errc::Rejected, std::move(message) + " (EINVAL)", InsnIndex{static_cast<std::uint32_t>(pc)}, {}, EINVAL};
    return tl::unexpected<Error>(std::move(e));
}

bool is_cond_jump(std::uint16_t c) { return cls(c) == kJmp && op(c) != kJa; }

/// The kernel's pass over the program: each slot's "written on every path" mask, jumps AND
/// their mask into their targets (check_load_and_stores).
Result<void> check_scratch(std::span<const Insn> f) {
    std::vector<std::uint16_t> masks(f.size(), 0xffff);
    std::uint16_t valid = 0;
    for (std::size_t pc = 0; pc < f.size(); ++pc) {
        valid &= masks[pc];
        const Insn& in = f[pc];
        switch (in.code) {
            case kSt:
            case kStx: valid |= static_cast<std::uint16_t>(1U << in.k); break;
            case kLd | kMem:
            case kLdx | kMem:
                if ((valid & (1U << in.k)) == 0) {
                    return reject(pc, fmt::format("{} reads scratch slot M[{}] before it is stored on every path to "
                                                  "this instruction",
                                                  format_insn(in, pc), in.k));
                }
                break;
            case kJmp | kJa:
                masks[pc + 1 + in.k] &= valid;
                valid = 0xffff;
                break;
            default:
                if (is_cond_jump(in.code)) {
                    masks[pc + 1 + in.jt] &= valid;
                    masks[pc + 1 + in.jf] &= valid;
                    valid = 0xffff;
                }
                break;
        }
    }
    return {};
}

/// The jump-offset check of bpf_convert_filter: each translated jump must fit the 16-bit
/// eBPF offset. Offsets are between the converted positions of the instructions.
Result<void> check_converted_jumps(std::span<const Insn> f) {
    std::vector<std::int64_t> addr(f.size() + 1, 0);
    for (std::size_t i = 0; i < f.size(); ++i) {
        addr[i + 1] = addr[i] + kernel_expansion(f[i]);
    }
    constexpr std::int64_t kMax = std::numeric_limits<std::int16_t>::max();
    for (std::size_t i = 0; i < f.size(); ++i) {
        const Insn& in = f[i];
        if (cls(in.code) != kJmp) {
            continue;
        }
        // BPF_EMIT_JMP: off = addrs[target] - addrs[i] - 1 - (position of the jump in the
        // instruction's translation); the position is 1 after a `w2 = k` for a negative k.
        const std::int64_t tmp = op(in.code) != kJa && src(in.code) == kK && static_cast<std::int32_t>(in.k) < 0;
        auto off = [&](std::size_t target, std::int64_t pos) { return addr[target] - addr[i] - 1 - pos; };
        std::int64_t far = 0;
        if (op(in.code) == kJa) {
            far = off(i + 1 + in.k, 0);
        } else if (in.jf == 0) {
            far = off(i + 1 + in.jt, tmp);
        } else if (in.jt == 0 && op(in.code) != kJset) {
            far = off(i + 1 + in.jf, tmp);
        } else {
            far = std::max(off(i + 1 + in.jt, tmp), off(i + 1 + in.jf, tmp + 1));
        }
        if (far > kMax) {
            return reject(i, fmt::format("{}: after the kernel's conversion to eBPF this jump spans {} instructions, "
                                         "more than a 16-bit offset holds",
                                         format_insn(in, i), far));
        }
    }
    return {};
}

std::uint32_t ld_abs_expansion(std::uint16_t c, std::uint32_t k, bool indirect) {
    const auto off = static_cast<std::int32_t>(k);
    std::uint32_t n = 0;
    if (!indirect && off >= 0) {
        const bool endian = size(c) != kB;
        n += 1 + (off != 0 ? 1 : 0) + 1 + (off <= std::numeric_limits<std::int16_t>::max() ? 1 : 3) +
             (endian ? 1 : 0) + 1;
    }
    n += 3;  // r1 = ctx, r2 = data, r3 = headlen
    n += indirect ? 1 + (k != 0 ? 1 : 0) : 1;
    n += 1 + 3;  // call, if r0 s>= 0, w0 ^= w0, exit
    return n;
}

}  // namespace

bool code_allowed(std::uint16_t c) {
    switch (c) {
        case kAlu | kAdd | kK: case kAlu | kAdd | kX: case kAlu | kSub | kK: case kAlu | kSub | kX:
        case kAlu | kMul | kK: case kAlu | kMul | kX: case kAlu | kDiv | kK: case kAlu | kDiv | kX:
        case kAlu | kMod | kK: case kAlu | kMod | kX: case kAlu | kAnd | kK: case kAlu | kAnd | kX:
        case kAlu | kOr | kK: case kAlu | kOr | kX: case kAlu | kXor | kK: case kAlu | kXor | kX:
        case kAlu | kLsh | kK: case kAlu | kLsh | kX: case kAlu | kRsh | kK: case kAlu | kRsh | kX:
        case kAlu | kNeg:
        case kLd | kW | kAbs: case kLd | kH | kAbs: case kLd | kB | kAbs: case kLd | kW | kLen:
        case kLd | kW | kInd: case kLd | kH | kInd: case kLd | kB | kInd: case kLd | kImm: case kLd | kMem:
        case kLdx | kW | kLen: case kLdx | kB | kMsh: case kLdx | kImm: case kLdx | kMem:
        case kSt: case kStx:
        case kMisc | kTax: case kMisc | kTxa:
        case kRet | kK: case kRet | kA:
        case kJmp | kJa: case kJmp | kJeq | kK: case kJmp | kJeq | kX: case kJmp | kJge | kK:
        case kJmp | kJge | kX: case kJmp | kJgt | kK: case kJmp | kJgt | kX: case kJmp | kJset | kK:
        case kJmp | kJset | kX:
            return true;
        default: return false;
    }
}

std::uint32_t kernel_expansion(const Insn& in) {
    const std::uint16_t c = in.code;
    switch (cls(c)) {
        case kAlu: return (op(c) == kDiv || op(c) == kMod) && src(c) == kX ? 5 : 1;
        case kLd:
            if (mode(c) == kAbs) {
                if (auto a = ancillary(in.k)) {
                    switch (*a) {
                        case Ancillary::Protocol: case Ancillary::PktType: case Ancillary::VlanTpid: return 2;
                        case Ancillary::Ifindex: case Ancillary::Hatype: return 4;
                        case Ancillary::VlanTagPresent: return 3;
                        case Ancillary::PayOffset: case Ancillary::Nlattr: case Ancillary::NlattrNest:
                        case Ancillary::Cpu: case Ancillary::Random: return 4;
                        case Ancillary::Mark: case Ancillary::Queue: case Ancillary::Rxhash: case Ancillary::VlanTag:
                        case Ancillary::AluXorX: return 1;
                    }
                }
                return ld_abs_expansion(c, in.k, false);
            }
            if (mode(c) == kInd) {
                return ld_abs_expansion(c, in.k, true);
            }
            return 1;
        case kLdx:
            return mode(c) == kMsh ? 1 + ld_abs_expansion(kLd | kB | kAbs, in.k, false) + 5 : 1;
        case kJmp: {
            if (op(c) == kJa) {
                return 1;
            }
            const std::uint32_t tmp = src(c) == kK && static_cast<std::int32_t>(in.k) < 0 ? 1 : 0;
            if (in.jf == 0 || (in.jt == 0 && op(c) != kJset)) {
                return tmp + 1;
            }
            return tmp + 2;
        }
        case kRet: return rval(c) == kK ? 2 : 1;
        default: return 1;
    }
}

Result<void> validate(std::span<const Insn> f) {
    if (f.empty() || f.size() > kMaxInsns) {
        Error e{Errc::Rejected,
                fmt::format("a classic program has 1 to {} instructions; this one has {} (EINVAL)", kMaxInsns, f.size()),
                {}, {}, EINVAL};
        return tl::unexpected<Error>(std::move(e));
    }
    const std::size_t len = f.size();
    for (std::size_t pc = 0; pc < len; ++pc) {
        const Insn& in = f[pc];
        const std::uint16_t c = in.code;
        if (!code_allowed(c)) {
            std::string hint;
            if (c == (kRet | kX)) {
                hint = " (ret x: the kernel returns only a constant or A)";
            } else if (c == (kLdx | kW | kAbs)) {
                hint = " (ldx [k]: seccomp only)";
            }
            return reject(pc, fmt::format("opcode {:#04x} is not a classic instruction the kernel accepts{}", c, hint));
        }
        switch (c) {
            case kAlu | kDiv | kK:
            case kAlu | kMod | kK:
                if (in.k == 0) {
                    return reject(pc, fmt::format("{} divides by the constant 0", format_insn(in, pc)));
                }
                break;
            case kAlu | kLsh | kK:
            case kAlu | kRsh | kK:
                if (in.k >= 32) {
                    return reject(pc, fmt::format("{} shifts by {}, 32 or more", format_insn(in, pc), in.k));
                }
                break;
            case kLd | kMem:
            case kLdx | kMem:
            case kSt:
            case kStx:
                if (in.k >= kMemWords) {
                    return reject(pc, fmt::format("{} names scratch slot M[{}]; there are {} (M[0]..M[15])",
                                                  format_insn(in, pc), in.k, kMemWords));
                }
                break;
            case kJmp | kJa:
                if (in.k >= static_cast<std::uint32_t>(len - pc - 1)) {
                    return reject(pc, fmt::format("ja +{} jumps past the last instruction (pc {})", in.k, len - 1));
                }
                break;
            case kLd | kW | kAbs:
            case kLd | kH | kAbs:
            case kLd | kB | kAbs:
                if (in_ancillary_range(in.k) && !ancillary(in.k)) {
                    return reject(pc, fmt::format("{}: SKF_AD_OFF{:+} is not an ancillary load the kernel knows "
                                                  "(0, 4, ..., 60)",
                                                  format_insn(in, pc), static_cast<std::int32_t>(in.k - kAdOff)));
                }
                break;
            default:
                if (is_cond_jump(c) && (pc + in.jt + 1 >= len || pc + in.jf + 1 >= len)) {
                    return reject(pc, fmt::format("{} jumps past the last instruction (pc {})", format_insn(in, pc),
                                                  len - 1));
                }
                break;
        }
    }
    const std::uint16_t last = f[len - 1].code;
    if (last != (kRet | kK) && last != (kRet | kA)) {
        return reject(len - 1, "the last instruction must be ret #k or ret a");
    }
    if (auto r = check_scratch(f); !r) {
        return r;
    }
    return check_converted_jumps(f);
}

}  // namespace sockfilter::cbpf
