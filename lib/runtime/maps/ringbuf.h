// SPDX-License-Identifier: MIT
// BPF_MAP_TYPE_RINGBUF and BPF_MAP_TYPE_USER_RINGBUF (kernel/bpf/ringbuf.c): a byte ring of
// max_entries bytes holding records of an 8-byte header and data rounded up to 8 bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "runtime/maps/map.h"
#include "runtime/maps/map_internal.h"

namespace sockfilter::runtime {

/// Record header bits and sizes (BPF_RINGBUF_*).
inline constexpr std::uint32_t kRingbufBusyBit = 1U << 31;
/// See kRingbufBusyBit.
inline constexpr std::uint32_t kRingbufDiscardBit = 1U << 30;
/// See kRingbufBusyBit.
inline constexpr std::uint32_t kRingbufHeaderSize = 8;
/// bpf_ringbuf_output/submit/discard flags.
inline constexpr std::uint64_t kRbNoWakeup = 1;
/// See kRbNoWakeup.
inline constexpr std::uint64_t kRbForceWakeup = 2;
/// bpf_ringbuf_query flags.
inline constexpr std::uint64_t kRbAvailData = 0;
/// See kRbAvailData.
inline constexpr std::uint64_t kRbRingSize = 1;
/// See kRbAvailData.
inline constexpr std::uint64_t kRbConsPos = 2;
/// See kRbAvailData.
inline constexpr std::uint64_t kRbProdPos = 3;

/// The ring both ring-buffer types share. The arena is the data area, twice max_entries long:
/// a record is always written and read at data + (position & mask), so one that starts near the
/// end continues contiguously past it (the kernel maps the data pages twice for the same
/// effect). Record header: u32 len (with the busy and discard bits), u32 page offset.
class RingbufBase : public Map {
public:
    /// Whether this class implements `type`.
    [[nodiscard]] static bool implements(program::MapType type) {
        return type == program::MapType::Ringbuf || type == program::MapType::UserRingbuf;
    }
    /// ringbuf_map_alloc's checks: key and value size 0, max_entries a power of 2 and a multiple
    /// of the page size.
    [[nodiscard]] static detail::CreateCheck check(const program::MapSpec& spec);

    /// Consumer position (bytes consumed since creation).
    [[nodiscard]] std::uint64_t consumer_pos() const { return consumer_pos_; }
    /// Producer position (bytes reserved since creation).
    [[nodiscard]] std::uint64_t producer_pos() const { return producer_pos_; }
    /// Times a commit or drain would have woken the other side.
    [[nodiscard]] std::uint64_t wakeups() const { return wakeups_; }

    /// -ENOTSUPP: ring buffers have no elements (ringbuf_map_get_next_key).
    [[nodiscard]] std::int64_t get_next_key(const std::uint8_t* key, std::uint8_t* next_key) override;
    /// -ENOTSUPP.
    [[nodiscard]] std::int64_t update(const std::uint8_t* key, const std::uint8_t* value, std::uint64_t flags) override;
    /// -ENOTSUPP.
    [[nodiscard]] std::int64_t remove(const std::uint8_t* key) override;

protected:
    /// Builds the empty ring.
    RingbufBase(const program::MapSpec& spec, const MapOptions& options);

    [[nodiscard]] std::int64_t do_lookup_user(const std::uint8_t* key, std::uint8_t* value) override;

    /// The header of the record at `pos`.
    [[nodiscard]] std::uint8_t* header(std::uint64_t pos) { return arena().data() + (pos & mask_); }
    /// The page offset the kernel stores in a header at ring position `pos`.
    [[nodiscard]] std::uint32_t page_offset(std::uint64_t pos) const;

    std::uint64_t mask_ = 0;
    std::uint64_t consumer_pos_ = 0;
    std::uint64_t producer_pos_ = 0;
    std::uint64_t wakeups_ = 0;
};

/// BPF_MAP_TYPE_RINGBUF: programs produce (reserve/submit/discard, output), userspace consumes.
class RingbufMap final : public RingbufBase {
public:
    /// Whether this class implements `type`.
    [[nodiscard]] static bool implements(program::MapType type) { return type == program::MapType::Ringbuf; }

    /// Builds the empty ring.
    RingbufMap(const program::MapSpec& spec, const MapOptions& options);

    /// bpf_ringbuf_reserve: the record's data (in the arena), or null for flags != 0, a size over
    /// UINT32_MAX/4 or the ring, or no space.
    [[nodiscard]] std::uint8_t* reserve(std::uint64_t size, std::uint64_t flags);
    /// bpf_ringbuf_submit (discard = false) or bpf_ringbuf_discard (true). False when `sample`
    /// is not an uncommitted record reserve returned (the verifier makes that impossible).
    [[nodiscard]] bool commit(std::uint8_t* sample, std::uint64_t flags, bool discard);
    /// bpf_ringbuf_output: -EINVAL (flags), -EAGAIN (no space), or 0.
    [[nodiscard]] std::int64_t output(const std::uint8_t* data, std::uint64_t size, std::uint64_t flags);
    /// bpf_ringbuf_query; unknown flags give 0.
    [[nodiscard]] std::uint64_t query(std::uint64_t flags) const;

    /// The next committed record for userspace (discarded ones are skipped), or nullopt when the
    /// ring is empty or the next record is still reserved. Advances the consumer position.
    [[nodiscard]] std::optional<std::vector<std::uint8_t>> consume();

private:
    std::uint64_t pending_pos_ = 0;
};

/// BPF_MAP_TYPE_USER_RINGBUF: userspace produces (as libbpf's user_ring_buffer), programs drain
/// with bpf_user_ringbuf_drain.
class UserRingbufMap final : public RingbufBase {
public:
    /// Whether this class implements `type`.
    [[nodiscard]] static bool implements(program::MapType type) { return type == program::MapType::UserRingbuf; }

    /// Builds the empty ring.
    UserRingbufMap(const program::MapSpec& spec, const MapOptions& options);

    /// user_ring_buffer__reserve: `sample` = `size` writable bytes; -E2BIG (never fits) or
    /// -ENOSPC (no room now).
    [[nodiscard]] std::int64_t produce_reserve(std::uint32_t size, std::span<std::uint8_t>& sample);
    /// user_ring_buffer__submit (discard = false) or __discard: `sample` from produce_reserve.
    void produce_commit(std::span<std::uint8_t> sample, bool discard);
    /// Reserves, copies and submits `data`.
    [[nodiscard]] std::int64_t produce(std::span<const std::uint8_t> data);

    /// One step of the kernel's drain (__bpf_user_ringbuf_peek): 0 with `sample` set; -ENODATA
    /// (nothing committed); -EAGAIN (a discarded record was skipped); -EINVAL or -E2BIG (the
    /// producer wrote a malformed header). A sample must be released before the next peek.
    [[nodiscard]] std::int64_t peek_sample(std::span<std::uint8_t>& sample);
    /// Consumes the sample peek_sample returned.
    void release_sample(std::span<std::uint8_t> sample);

    /// bpf_user_ringbuf_drain: calls `callback` with each sample until it returns non-zero, the
    /// ring is empty or 131072 samples were handed out; returns the number of samples handed out
    /// (discarded ones excluded), -EINVAL (flags, malformed data), -E2BIG, or -EBUSY when called
    /// from inside a callback.
    [[nodiscard]] std::int64_t drain(std::uint64_t flags, const std::function<std::uint64_t(std::span<std::uint8_t>)>& callback);

private:
    bool draining_ = false;
};

}  // namespace sockfilter::runtime
