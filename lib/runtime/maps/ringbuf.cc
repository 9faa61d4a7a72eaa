// SPDX-License-Identifier: MIT
// Ring buffers: the kernel's reservation, commit and drain rules over one byte ring.
#include "runtime/maps/ringbuf.h"

#include <bit>
#include <cerrno>
#include <cstring>

#include "support/assert.h"
#include "support/bytes.h"

namespace sockfilter::runtime {

namespace {

constexpr std::uint32_t kPageSize = 4096;
/// Pages of struct bpf_ringbuf before the data area (bookkeeping, consumer and producer pages);
/// the kernel stores the header's page offset from the struct's start.
constexpr std::uint32_t kDataPageOffset = 3;
constexpr std::uint64_t kMaxRecord = UINT32_MAX / 4;
constexpr std::uint32_t kDynptrMaxSize = (1U << 24) - 1;
constexpr std::uint32_t kMaxUserSamples = 128 * 1024;

std::uint64_t record_len(std::uint64_t size) { return detail::round8(size + kRingbufHeaderSize); }

}  // namespace

detail::CreateCheck RingbufBase::check(const program::MapSpec& spec) {
    if (auto r = detail::check_flag_mask(spec.map_flags, kMapNumaNode)) {
        return r;
    }
    if (spec.key_size != 0 || spec.value_size != 0) {
        return detail::Refusal{EINVAL, fmt::format("key_size and value_size must be 0 (got {}, {})", spec.key_size,
                                                   spec.value_size)};
    }
    if (!std::has_single_bit(spec.max_entries) || spec.max_entries % kPageSize != 0) {
        return detail::Refusal{EINVAL, fmt::format("max_entries (the ring size) must be a power of 2 and a multiple "
                                                   "of {} (got {})", kPageSize, spec.max_entries)};
    }
    return std::nullopt;
}

RingbufBase::RingbufBase(const program::MapSpec& spec, const MapOptions& options)
    : Map(spec, options, std::size_t{spec.max_entries} * 2), mask_(spec.max_entries - 1U) {}

std::uint32_t RingbufBase::page_offset(std::uint64_t pos) const {
    return kDataPageOffset + static_cast<std::uint32_t>((pos & mask_) / kPageSize);
}

std::int64_t RingbufBase::get_next_key(const std::uint8_t*, std::uint8_t*) { return -kEnotsupp; }

std::int64_t RingbufBase::update(const std::uint8_t*, const std::uint8_t*, std::uint64_t) { return -kEnotsupp; }

std::int64_t RingbufBase::remove(const std::uint8_t*) { return -kEnotsupp; }

std::int64_t RingbufBase::do_lookup_user(const std::uint8_t*, std::uint8_t*) { return -kEnotsupp; }

RingbufMap::RingbufMap(const program::MapSpec& spec, const MapOptions& options) : RingbufBase(spec, options) {}

std::uint8_t* RingbufMap::reserve(std::uint64_t size, std::uint64_t flags) {
    if (flags != 0 || size > kMaxRecord) {
        return nullptr;
    }
    const std::uint64_t len = record_len(size);
    if (len > mask_ + 1) {
        return nullptr;
    }
    // Skip the committed records at the start of the pending region.
    std::uint64_t pend = pending_pos_;
    while (pend < producer_pos_) {
        const auto hdr_len = load_le<std::uint32_t>(header(pend));
        if ((hdr_len & kRingbufBusyBit) != 0) {
            break;
        }
        pend += record_len(hdr_len & ~kRingbufDiscardBit);
    }
    pending_pos_ = pend;
    const std::uint64_t new_prod = producer_pos_ + len;
    if (new_prod - consumer_pos_ > mask_ || new_prod - pend > mask_) {
        return nullptr;
    }
    std::uint8_t* hdr = header(producer_pos_);
    store_le<std::uint32_t>(hdr, static_cast<std::uint32_t>(size) | kRingbufBusyBit);
    store_le<std::uint32_t>(hdr + 4, page_offset(producer_pos_));
    producer_pos_ = new_prod;
    return hdr + kRingbufHeaderSize;
}

bool RingbufMap::commit(std::uint8_t* sample, std::uint64_t flags, bool discard) {
    std::uint8_t* base = arena().data();
    if (sample < base + kRingbufHeaderSize || sample > base + mask_ + 1) {
        return false;
    }
    std::uint8_t* hdr = sample - kRingbufHeaderSize;
    const auto rec_pos = static_cast<std::uint64_t>(hdr - base);
    const auto len = load_le<std::uint32_t>(hdr);
    if (rec_pos % 8 != 0 || (len & kRingbufBusyBit) == 0) {
        return false;
    }
    // A busy header inside the pending region can only be one reserve wrote and nobody committed.
    bool pending = false;
    for (std::uint64_t pos = pending_pos_; pos < producer_pos_;
         pos += record_len(load_le<std::uint32_t>(header(pos)) & ~(kRingbufBusyBit | kRingbufDiscardBit))) {
        if ((pos & mask_) == rec_pos) {
            pending = true;
            break;
        }
    }
    if (!pending) {
        return false;
    }
    store_le<std::uint32_t>(hdr, (len ^ kRingbufBusyBit) | (discard ? kRingbufDiscardBit : 0));
    if ((flags & kRbForceWakeup) != 0 || ((consumer_pos_ & mask_) == rec_pos && (flags & kRbNoWakeup) == 0)) {
        ++wakeups_;
    }
    return true;
}

std::int64_t RingbufMap::output(const std::uint8_t* data, std::uint64_t size, std::uint64_t flags) {
    if ((flags & ~(kRbNoWakeup | kRbForceWakeup)) != 0) {
        return -EINVAL;
    }
    std::uint8_t* rec = reserve(size, 0);
    if (rec == nullptr) {
        return -EAGAIN;
    }
    if (size != 0) {
        std::memcpy(rec, data, size);
    }
    const bool ok = commit(rec, flags, false);
    SF_ASSERT(ok);
    return 0;
}

std::uint64_t RingbufMap::query(std::uint64_t flags) const {
    switch (flags) {
    case kRbAvailData:
        return producer_pos_ - consumer_pos_;
    case kRbRingSize:
        return mask_ + 1;
    case kRbConsPos:
        return consumer_pos_;
    case kRbProdPos:
        return producer_pos_;
    default:
        return 0;
    }
}

std::optional<std::vector<std::uint8_t>> RingbufMap::consume() {
    while (consumer_pos_ < producer_pos_) {
        const std::uint8_t* hdr = header(consumer_pos_);
        const auto len = load_le<std::uint32_t>(hdr);
        if ((len & kRingbufBusyBit) != 0) {
            return std::nullopt;
        }
        const std::uint32_t size = len & ~kRingbufDiscardBit;
        consumer_pos_ += record_len(size);
        if ((len & kRingbufDiscardBit) == 0) {
            return std::vector<std::uint8_t>(hdr + kRingbufHeaderSize, hdr + kRingbufHeaderSize + size);
        }
    }
    return std::nullopt;
}

UserRingbufMap::UserRingbufMap(const program::MapSpec& spec, const MapOptions& options)
    : RingbufBase(spec, options) {}

std::int64_t UserRingbufMap::produce_reserve(std::uint32_t size, std::span<std::uint8_t>& sample) {
    const std::uint64_t ring = mask_ + 1;
    const std::uint64_t total = record_len(size);
    if (total > ring) {
        return -E2BIG;
    }
    if (ring - (producer_pos_ - consumer_pos_) < total) {
        return -ENOSPC;
    }
    std::uint8_t* hdr = header(producer_pos_);
    store_le<std::uint32_t>(hdr, size | kRingbufBusyBit);
    store_le<std::uint32_t>(hdr + 4, 0);
    sample = std::span<std::uint8_t>(arena().data() + ((producer_pos_ + kRingbufHeaderSize) & mask_), size);
    producer_pos_ += total;
    return 0;
}

void UserRingbufMap::produce_commit(std::span<std::uint8_t> sample, bool discard) {
    const auto off = static_cast<std::uint64_t>(sample.data() - arena().data());
    SF_ASSERT(off <= mask_);
    std::uint8_t* hdr = arena().data() + ((off - kRingbufHeaderSize) & mask_);
    const auto len = load_le<std::uint32_t>(hdr);
    SF_ASSERT((len & kRingbufBusyBit) != 0);
    store_le<std::uint32_t>(hdr, (len & ~kRingbufBusyBit) | (discard ? kRingbufDiscardBit : 0));
}

std::int64_t UserRingbufMap::produce(std::span<const std::uint8_t> data) {
    std::span<std::uint8_t> sample;
    if (const auto rc = produce_reserve(static_cast<std::uint32_t>(data.size()), sample); rc != 0) {
        return rc;
    }
    if (!data.empty()) {
        std::memcpy(sample.data(), data.data(), data.size());
    }
    produce_commit(sample, false);
    return 0;
}

std::int64_t UserRingbufMap::peek_sample(std::span<std::uint8_t>& sample) {
    if (producer_pos_ % 8 != 0) {
        return -EINVAL;
    }
    if (consumer_pos_ >= producer_pos_) {
        return -ENODATA;
    }
    const auto hdr_len = load_le<std::uint32_t>(header(consumer_pos_));
    const std::uint32_t flags = hdr_len & (kRingbufBusyBit | kRingbufDiscardBit);
    const std::uint32_t sample_len = hdr_len & ~flags;
    const std::uint64_t total = record_len(sample_len);
    if (total > producer_pos_ - consumer_pos_) {
        return -EINVAL;
    }
    if (total > mask_ + 1 || sample_len > kDynptrMaxSize) {
        return -E2BIG;
    }
    if ((flags & kRingbufDiscardBit) != 0) {
        consumer_pos_ += total;
        return -EAGAIN;
    }
    if ((flags & kRingbufBusyBit) != 0) {
        return -ENODATA;
    }
    sample = std::span<std::uint8_t>(arena().data() + ((consumer_pos_ + kRingbufHeaderSize) & mask_), sample_len);
    return 0;
}

void UserRingbufMap::release_sample(std::span<std::uint8_t> sample) {
    consumer_pos_ += record_len(sample.size());
}

std::int64_t UserRingbufMap::drain(std::uint64_t flags,
                                   const std::function<std::uint64_t(std::span<std::uint8_t>)>& callback) {
    if ((flags & ~(kRbNoWakeup | kRbForceWakeup)) != 0) {
        return -EINVAL;
    }
    if (draining_) {
        return -EBUSY;
    }
    draining_ = true;
    std::int64_t samples = 0;
    std::int64_t discarded = 0;
    std::int64_t error = 0;
    std::uint64_t ret = 0;
    for (; samples < kMaxUserSamples && ret == 0; ++samples) {
        std::span<std::uint8_t> sample;
        const std::int64_t err = peek_sample(sample);
        if (err == -ENODATA) {
            break;
        }
        if (err == -EAGAIN) {
            ++discarded;
            continue;
        }
        if (err != 0) {
            error = err;
            break;
        }
        ret = callback(sample);
        release_sample(sample);
    }
    draining_ = false;
    if ((flags & kRbForceWakeup) != 0 || ((flags & kRbNoWakeup) == 0 && samples > 0)) {
        ++wakeups_;
    }
    return error != 0 ? error : samples - discarded;
}

}  // namespace sockfilter::runtime
