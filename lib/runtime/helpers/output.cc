// SPDX-License-Identifier: MIT
// Records for userspace (spec §5.3): bpf_perf_event_output (skb flavour: the record is the data
// followed by the first BPF_F_CTXLEN_MASK bytes of the packet) and the ring-buffer helpers. Every
// record that reaches userspace is also recorded as an Output of the instance (PerfEvent,
// Ringbuf) so tools can print it; the maps keep their own accounting, so a ring nobody consumes
// fills up and then refuses records as the kernel's does.
#include <algorithm>

#include <fmt/format.h>

#include "runtime/helpers/impl.h"
#include "runtime/instance.h"
#include "runtime/maps/fd_maps.h"
#include "runtime/maps/ringbuf.h"
#include "support/bytes.h"

namespace sockfilter::runtime::helpers {

namespace {

/// BPF_RINGBUF_HDR_SZ bytes precede each record; the low 30 bits of the first u32 are its length.
constexpr std::uint32_t kRecordLenMask = kRingbufDiscardBit - 1;

void record(CallEnv& env, Output::Kind kind, Map& m, std::vector<std::uint8_t> bytes) {
    Output o;
    o.kind = kind;
    o.map = static_cast<std::size_t>(env.instance->index_of(&m));
    o.bytes = std::move(bytes);
    env.instance->emit(std::move(o));
}

RingbufMap* ringbuf_arg(CallEnv& env, std::string_view helper, std::uint64_t handle) {
    Map* m = map_arg(env, helper, 1, handle);
    if (m == nullptr) {
        return nullptr;
    }
    auto* rb = map_as<RingbufMap>(*m);
    if (rb == nullptr) {
        env.fault = fmt::format("{}: R1 is not a ringbuf map", helper);
    }
    return rb;
}

/// The ring whose arena holds the record `sample` points to, or null.
RingbufMap* ring_of(const CallEnv& env, std::uint64_t sample) {
    if (env.instance == nullptr) {
        return nullptr;
    }
    for (std::size_t i = 0; i < env.instance->map_count(); ++i) {
        auto* rb = map_as<RingbufMap>(env.instance->map(i));
        if (rb == nullptr) {
            continue;
        }
        const auto arena = rb->arena();
        const auto lo = reinterpret_cast<std::uintptr_t>(arena.data());
        if (sample >= lo + kRingbufHeaderSize && sample < lo + arena.size()) {
            return rb;
        }
    }
    return nullptr;
}

std::uint64_t commit(CallEnv& env, std::string_view helper, std::uint64_t sample, std::uint64_t flags,
                     bool discard) {
    RingbufMap* rb = ring_of(env, sample);
    auto* data = reinterpret_cast<std::uint8_t*>(static_cast<std::uintptr_t>(sample));
    if (rb == nullptr || !rb->commit(data, flags, discard)) {
        env.fault = fmt::format("{}: R1 ({:#x}) is not a record bpf_ringbuf_reserve returned", helper, sample);
        return 0;
    }
    if (!discard) {
        // A committed record keeps its length in its header and its bytes until consumed.
        const std::uint32_t len = load_le<std::uint32_t>(data - kRingbufHeaderSize) & kRecordLenMask;
        record(env, Output::Kind::Ringbuf, *rb, std::vector<std::uint8_t>(data, data + len));
    }
    return 0;
}

}  // namespace

std::uint64_t perf_event_output(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3,
                                std::uint64_t r4, std::uint64_t r5) {
    constexpr std::string_view kName = "bpf_perf_event_output";
    const Skb* skb = ctx_arg(env, kName, 1, r1);
    if (skb == nullptr) {
        return 0;
    }
    Map* m = map_arg(env, kName, 2, r2);
    if (m == nullptr) {
        return 0;
    }
    auto* perf = map_as<PerfEventArrayMap>(*m);
    if (perf == nullptr) {
        env.fault = fmt::format("{}: R2 is not a perf_event_array map", kName);
        return 0;
    }
    const std::uint8_t* data = readable(env, kName, 4, "data", r4, r5);
    if (data == nullptr) {
        return 0;
    }
    const std::span<const std::uint8_t> packet(skb->bytes.data() + skb->data, skb->len());
    const std::int64_t rc = perf->output(r3, {data, static_cast<std::size_t>(r5)}, packet);
    if (rc == 0) {
        const std::size_t ctx_len = std::min<std::size_t>((r3 & kPerfCtxLenMask) >> 32, packet.size());
        std::vector<std::uint8_t> bytes(data, data + r5);
        bytes.insert(bytes.end(), packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(ctx_len));
        record(env, Output::Kind::PerfEvent, *m, std::move(bytes));
    }
    return ret(rc);
}

std::uint64_t ringbuf_output(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t r4,
                             std::uint64_t) {
    constexpr std::string_view kName = "bpf_ringbuf_output";
    RingbufMap* rb = ringbuf_arg(env, kName, r1);
    if (rb == nullptr) {
        return 0;
    }
    const std::uint8_t* data = readable(env, kName, 2, "data", r2, r3);
    if (data == nullptr) {
        return 0;
    }
    const std::int64_t rc = rb->output(data, r3, r4);
    if (rc == 0) {
        record(env, Output::Kind::Ringbuf, *rb, std::vector<std::uint8_t>(data, data + r3));
    }
    return ret(rc);
}

std::uint64_t ringbuf_reserve(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t r3, std::uint64_t,
                              std::uint64_t) {
    RingbufMap* rb = ringbuf_arg(env, "bpf_ringbuf_reserve", r1);
    if (rb == nullptr) {
        return 0;
    }
    return reinterpret_cast<std::uintptr_t>(rb->reserve(r2, r3));
}

std::uint64_t ringbuf_submit(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t, std::uint64_t,
                             std::uint64_t) {
    return commit(env, "bpf_ringbuf_submit", r1, r2, false);
}

std::uint64_t ringbuf_discard(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t, std::uint64_t,
                              std::uint64_t) {
    return commit(env, "bpf_ringbuf_discard", r1, r2, true);
}

std::uint64_t ringbuf_query(CallEnv& env, std::uint64_t r1, std::uint64_t r2, std::uint64_t, std::uint64_t,
                            std::uint64_t) {
    RingbufMap* rb = ringbuf_arg(env, "bpf_ringbuf_query", r1);
    return rb == nullptr ? 0 : rb->query(r2);
}

}  // namespace sockfilter::runtime::helpers
