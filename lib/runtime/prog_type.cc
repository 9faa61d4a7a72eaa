// SPDX-License-Identifier: MIT
// The socket-filter context: __sk_buff layout (6.18 UAPI), access rules (spec §1.2-1.3) and the
// values reads produce (spec §1.4).
#include "runtime/prog_type.h"

#include <array>
#include <cstring>

#include "support/assert.h"
#include "support/bytes.h"

namespace sockfilter::runtime {

namespace {

using A = FieldAccess;

// Offsets and sizes of include/uapi/linux/bpf.h (6.18) struct __sk_buff; T from spec §1.4.
constexpr std::array kSkBuffFields = {
    CtxField{"len", 0, 4, A::Read, 4},
    CtxField{"pkt_type", 4, 4, A::Read, 1},
    CtxField{"mark", 8, 4, A::Read, 4},
    CtxField{"queue_mapping", 12, 4, A::Read, 2},
    CtxField{"protocol", 16, 4, A::Read, 2},
    CtxField{"vlan_present", 20, 4, A::Read, 4},
    CtxField{"vlan_tci", 24, 4, A::Read, 2},
    CtxField{"vlan_proto", 28, 4, A::Read, 2},
    CtxField{"priority", 32, 4, A::Read, 4},
    CtxField{"ingress_ifindex", 36, 4, A::Read, 4},
    CtxField{"ifindex", 40, 4, A::Read, 4},
    CtxField{"tc_index", 44, 4, A::Read, 2},
    CtxField{"cb", 48, 20, A::ReadWrite, 0},
    CtxField{"hash", 68, 4, A::Read, 4},
    CtxField{"tc_classid", 72, 4, A::Forbidden, 2},
    CtxField{"data", 76, 4, A::Forbidden, 8},
    CtxField{"data_end", 80, 4, A::Forbidden, 8},
    CtxField{"napi_id", 84, 4, A::Read, 4},
    CtxField{"family", 88, 4, A::Forbidden, 2},
    CtxField{"remote_ip4", 92, 4, A::Forbidden, 4},
    CtxField{"local_ip4", 96, 4, A::Forbidden, 4},
    CtxField{"remote_ip6", 100, 16, A::Forbidden, 4},
    CtxField{"local_ip6", 116, 16, A::Forbidden, 4},
    CtxField{"remote_port", 132, 4, A::Forbidden, 4},
    CtxField{"local_port", 136, 4, A::Forbidden, 4},
    CtxField{"data_meta", 140, 4, A::Forbidden, 8},
    CtxField{"flow_keys", 144, 8, A::Forbidden, 8},
    CtxField{"tstamp", 152, 8, A::Forbidden, 8},
    CtxField{"wire_len", 160, 4, A::Forbidden, 4},
    CtxField{"gso_segs", 164, 4, A::Read, 2},
    CtxField{"sk", 168, 8, A::Read, 8},
    CtxField{"gso_size", 176, 4, A::Read, 2},
    CtxField{"tstamp_type", 180, 1, A::Forbidden, 1},
    CtxField{"(padding)", 181, 3, A::Forbidden, 0},
    CtxField{"hwtstamp", 184, 8, A::Forbidden, 8},
};

constexpr std::uint32_t kSkBuffSize = 192;
constexpr std::int32_t kCbOff = 48;
constexpr std::int32_t kCbEnd = 68;
constexpr std::int32_t kSkOff = 168;

const ProgType kSocketFilter{"socket_filter", kSkBuffSize, kSkBuffFields};

bool in(std::int32_t v, std::int32_t lo, std::int32_t hi) { return v >= lo && v <= hi; }

/// The converted value of a 4-byte readable slot (what bpf_convert_ctx_access loads).
std::uint64_t slot_value(const Skb& skb, const CtxField& f) {
    const SkbMeta& m = skb.meta;
    switch (f.off) {
        case 0: return skb.len();
        case 4: return m.pkt_type & 7u;
        case 8: return m.mark;
        case 12: return m.queue_mapping;
        case 16: return m.protocol;
        case 20: return (m.vlan_tci != 0 || m.vlan_proto != 0) ? 1 : 0;
        case 24: return m.vlan_tci;
        case 28: return m.vlan_proto;
        case 32: return m.priority;
        case 36: return m.ingress_ifindex;
        case 40: return m.ifindex;
        case 44: return m.tc_index;
        case 68: return m.hash;
        case 84: return m.napi_id;
        case 164: return m.gso_segs;
        case 176: return m.gso_size;
        default: break;
    }
    SF_UNREACHABLE();
}

std::uint64_t sign_extend(std::uint64_t v, std::uint32_t size) {
    const unsigned shift = 64 - 8 * size;
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(v << shift) >> shift);
}

}  // namespace

const ProgType& socket_filter() { return kSocketFilter; }

const CtxField* ProgType::field_at(std::int32_t off) const {
    for (const CtxField& f : fields) {
        if (off >= f.off && off < f.off + f.size) {
            return &f;
        }
    }
    return nullptr;
}

std::optional<CtxAccess> ProgType::check_access(std::int32_t off, std::uint32_t size, CtxAccessKind kind) const {
    // The order follows sk_filter_is_valid_access then bpf_skb_is_valid_access (spec §1.2).
    if (kind == CtxAccessKind::Atomic) {
        return std::nullopt;
    }
    const bool write = kind == CtxAccessKind::Store || kind == CtxAccessKind::StoreImm;
    const auto isz = static_cast<std::int32_t>(size);
    if (in(off, 72, 83) || in(off, 88, 143) || in(off, 152, 163) || in(off, 184, 191)) {
        return std::nullopt;
    }
    if (write && !in(off, kCbOff, kCbEnd - 1)) {
        return std::nullopt;
    }
    if (off < 0 || off >= static_cast<std::int32_t>(ctx_size) || off % isz != 0) {
        return std::nullopt;
    }
    if (in(off, kCbOff, kCbEnd - 1)) {
        if (off + isz > kCbEnd) {
            return std::nullopt;
        }
        return CtxAccess{field_at(off), false};
    }
    if (in(off, 144, 151)) {
        return std::nullopt;
    }
    if (in(off, kSkOff, kSkOff + 7)) {
        if (write || size != 8 || kind == CtxAccessKind::LoadSx) {
            return std::nullopt;
        }
        return CtxAccess{field_at(off), true};
    }
    if (in(off, 180, 183)) {
        return std::nullopt;
    }
    if (size != 1 && size != 2 && size != 4) {
        return std::nullopt;
    }
    return CtxAccess{field_at(off), false};
}

std::uint64_t read_ctx(const Skb& skb, std::int32_t off, std::uint32_t size, bool sign, std::uint64_t sk_value) {
    if (off >= kCbOff && off < kCbEnd) {
        std::uint64_t v = 0;
        for (std::uint32_t i = 0; i < size; ++i) {
            v |= static_cast<std::uint64_t>(skb.meta.cb[static_cast<std::size_t>(off - kCbOff) + i]) << (8 * i);
        }
        return sign ? sign_extend(v, size) : v;
    }
    if (off == kSkOff) {
        return sk_value;
    }
    const CtxField* f = kSocketFilter.field_at(off);
    SF_ASSERT(f != nullptr && f->access == FieldAccess::Read);
    std::uint64_t v = slot_value(skb, *f);
    if (size < f->target_size) {
        // Narrow load of a wider kernel field: shift the wanted bytes down and mask (little endian).
        v = (v >> (8 * static_cast<unsigned>(off & 3))) & ((std::uint64_t{1} << (8 * size)) - 1);
    }
    return sign ? sign_extend(v, size) : v;
}

void write_ctx_cb(Skb& skb, std::int32_t off, std::uint32_t size, std::uint64_t value) {
    SF_ASSERT(off >= kCbOff && off + static_cast<std::int32_t>(size) <= kCbEnd);
    for (std::uint32_t i = 0; i < size; ++i) {
        skb.meta.cb[static_cast<std::size_t>(off - kCbOff) + i] = static_cast<std::uint8_t>(value >> (8 * i));
    }
}

}  // namespace sockfilter::runtime
