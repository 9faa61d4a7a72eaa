// SPDX-License-Identifier: MIT
// Classic instruction records and the ancillary-load table.
#include "cbpf/insn.h"

#include <array>

#include "support/bytes.h"

namespace sockfilter::cbpf {

namespace {

constexpr std::array kAncillaries = {
    Ancillary::Protocol, Ancillary::PktType,  Ancillary::Ifindex, Ancillary::Nlattr,
    Ancillary::NlattrNest, Ancillary::Mark,   Ancillary::Queue,   Ancillary::Hatype,
    Ancillary::Rxhash,   Ancillary::Cpu,      Ancillary::AluXorX, Ancillary::VlanTag,
    Ancillary::VlanTagPresent, Ancillary::PayOffset, Ancillary::Random, Ancillary::VlanTpid,
};

}  // namespace

std::optional<Ancillary> ancillary(std::uint32_t k) {
    if (k < kAdOff) {
        return std::nullopt;
    }
    const std::uint32_t n = k - kAdOff;
    if (n >= kAdMax || n % 4 != 0) {
        return std::nullopt;
    }
    return static_cast<Ancillary>(n);
}

std::string_view ancillary_name(Ancillary a) {
    // The names tcpdump -d prints (libpcap bpf_image); bpf_asm reads them too, except where
    // its lexer spells them differently (docs/CLASSIC.md lists both).
    switch (a) {
        case Ancillary::Protocol: return "proto";
        case Ancillary::PktType: return "type";
        case Ancillary::Ifindex: return "ifidx";
        case Ancillary::Nlattr: return "nla";
        case Ancillary::NlattrNest: return "nlan";
        case Ancillary::Mark: return "mark";
        case Ancillary::Queue: return "queue";
        case Ancillary::Hatype: return "hatype";
        case Ancillary::Rxhash: return "rxhash";
        case Ancillary::Cpu: return "cpu";
        case Ancillary::AluXorX: return "xor_x";
        case Ancillary::VlanTag: return "vlan_tci";
        case Ancillary::VlanTagPresent: return "vlanp";
        case Ancillary::PayOffset: return "poff";
        case Ancillary::Random: return "random";
        case Ancillary::VlanTpid: return "vlan_tpid";
    }
    return "?";
}

std::span<const Ancillary> all_ancillaries() { return kAncillaries; }

Result<Filter> from_bytes(std::span<const std::uint8_t> bytes) {
    if (bytes.size() % kInsnSize != 0) {
        return fail(Errc::InvalidProgram, "classic BPF is a sequence of 8-byte instructions; {} bytes is not a multiple of 8",
                    bytes.size());
    }
    Filter out;
    out.reserve(bytes.size() / kInsnSize);
    for (std::size_t i = 0; i < bytes.size(); i += kInsnSize) {
        const std::uint8_t* p = bytes.data() + i;
        out.push_back(Insn{load_le<std::uint16_t>(p), p[2], p[3], load_le<std::uint32_t>(p + 4)});
    }
    return out;
}

std::vector<std::uint8_t> to_bytes(std::span<const Insn> filter) {
    std::vector<std::uint8_t> out(filter.size() * kInsnSize);
    for (std::size_t i = 0; i < filter.size(); ++i) {
        std::uint8_t* p = out.data() + i * kInsnSize;
        store_le<std::uint16_t>(p, filter[i].code);
        p[2] = filter[i].jt;
        p[3] = filter[i].jf;
        store_le<std::uint32_t>(p + 4, filter[i].k);
    }
    return out;
}

}  // namespace sockfilter::cbpf
