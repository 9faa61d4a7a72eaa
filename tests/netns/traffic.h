// SPDX-License-Identifier: MIT
// Sending crafted frames from one end of a veth pair (and recording them in a pcap file, so the
// same packets can be given to `sockfilter run -r`), and receiving frames with AF_PACKET sockets
// that report each frame's original length and the VLAN tag the kernel took out of it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <sched.h>

#include "kernel/fd.h"
#include "netns.h"
#include "pcap/writer.h"
#include "support/result.h"

namespace sockfilter::testing::netns {

/// While alive, the calling thread runs only on the CPU it was on when this was made; the
/// destructor restores its affinity. A veth queues each frame on the sending CPU's backlog, so
/// frames sent from one CPU arrive in the order they were sent, and a TCP exchange run from one
/// pinned thread has its segments processed in the order a capture sees them.
class PinnedCpu {
public:
    [[nodiscard]] static Result<PinnedCpu> pin();

    PinnedCpu(PinnedCpu&& other) noexcept : saved_(other.saved_) { other.saved_.reset(); }
    PinnedCpu& operator=(PinnedCpu&&) = delete;
    PinnedCpu(const PinnedCpu&) = delete;
    PinnedCpu& operator=(const PinnedCpu&) = delete;
    ~PinnedCpu();

private:
    explicit PinnedCpu(const cpu_set_t& saved) : saved_(saved) {}
    std::optional<cpu_set_t> saved_;
};

/// Writes frames out of one end of a veth pair through an AF_PACKET socket, and each frame, as
/// sent, to a pcap file (EN10MB). At most `max_frames` frames: traffic of a test is bounded. While
/// the sender is open the calling thread stays on the CPU it was on, so the receiving end gets the
/// frames in the order they were sent (veth queues a frame on the sending CPU's backlog).
class TrafficSender {
public:
    /// The default bound on frames per sender.
    static constexpr std::size_t kMaxFrames = 1000;

    /// Opens the socket inside `from`'s namespace, bound to its device, and starts the pcap file.
    [[nodiscard]] static Result<TrafficSender> open(const Endpoint& from, const std::string& pcap_path,
                                                    std::size_t max_frames = kMaxFrames);

    TrafficSender(TrafficSender&&) noexcept = default;
    TrafficSender& operator=(TrafficSender&&) = delete;
    TrafficSender(const TrafficSender&) = delete;
    TrafficSender& operator=(const TrafficSender&) = delete;
    /// Restores the thread's CPU affinity; an unclosed pcap file is discarded.
    ~TrafficSender() = default;

    /// Sends one frame and records it. Fails past max_frames or when the kernel refuses the frame.
    [[nodiscard]] Result<void> send(std::span<const std::uint8_t> frame);

    /// Finishes the pcap file.
    [[nodiscard]] Result<void> close();

    /// Frames sent so far.
    [[nodiscard]] std::size_t sent() const { return sent_; }

private:
    TrafficSender(kernel::Fd sock, pcap::Writer writer, PinnedCpu pinned, int ifindex, std::size_t max_frames);

    kernel::Fd sock_;
    pcap::Writer writer_;
    int ifindex_ = 0;
    std::size_t max_frames_ = 0;
    std::size_t sent_ = 0;
    PinnedCpu pinned_;
};

/// One frame an AF_PACKET socket received.
struct Received {
    std::vector<std::uint8_t> bytes;     ///< what recv returned (the filter may have trimmed it)
    std::uint32_t orig_len = 0;          ///< tp_len of PACKET_AUXDATA: the length before trimming
    std::uint8_t pkt_type = 0;           ///< sll_pkttype (PACKET_HOST, PACKET_BROADCAST, ...)
    std::optional<std::uint16_t> vlan_tci;  ///< the tag the kernel took out of the frame, if any
};

/// An AF_PACKET socket (SOCK_RAW or SOCK_DGRAM) on one end of a veth pair, made inside its
/// namespace. It ignores frames that end sends itself (PACKET_IGNORE_OUTGOING), so it sees only
/// what arrives. `before_bind` runs on the socket before it is bound (a filter attached there
/// sees every frame the socket could receive); the socket takes no frame before then.
class PacketSocket {
public:
    [[nodiscard]] static Result<PacketSocket> open(const Endpoint& at, int type,
                                                   const std::function<Result<void>(int)>& before_bind = {});

    /// Receives until `count` frames have come or `timeout` passes, whichever is first.
    [[nodiscard]] Result<std::vector<Received>> receive(std::size_t count, std::chrono::milliseconds timeout);

    /// Receives every frame that comes until none has come for `quiet`.
    [[nodiscard]] Result<std::vector<Received>> drain(std::chrono::milliseconds quiet);

    /// The socket.
    [[nodiscard]] int fd() const { return sock_.get(); }

private:
    explicit PacketSocket(kernel::Fd sock) : sock_(std::move(sock)) {}
    kernel::Fd sock_;
};

/// Reads one pending datagram or frame from `fd` with recvmsg(MSG_TRUNC | MSG_DONTWAIT) into
/// `buf` (grown as needed); returns its length, or nullopt when nothing is pending. Also used for
/// UDP sockets, where `from` receives the source address.
[[nodiscard]] Result<std::optional<std::size_t>> receive_one(int fd, std::vector<std::uint8_t>& buf,
                                                             void* from = nullptr, std::size_t from_len = 0,
                                                             Received* meta = nullptr);

/// Waits up to `timeout` for `fd` to become readable; false on timeout.
[[nodiscard]] Result<bool> wait_readable(int fd, std::chrono::milliseconds timeout);

}  // namespace sockfilter::testing::netns
