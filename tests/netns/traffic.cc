// SPDX-License-Identifier: MIT
// The frame sender and AF_PACKET receivers of the netns test library.
#include "traffic.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace sockfilter::testing::netns {

namespace {

constexpr int kLinktypeEthernet = 1;
constexpr int kReceiveBuffer = 4 << 20;

Error sys_error(const std::string& what) {
    const int e = errno;
    return Error{Errc::Io, fmt::format("{}: {}", what, std::strerror(e)), {}, {}, e};
}

Result<void> set_int(int fd, int level, int name, int value, const char* what) {
    if (::setsockopt(fd, level, name, &value, sizeof(value)) != 0) {
        return tl::unexpected(sys_error(std::string("setsockopt ") + what));
    }
    return {};
}

}  // namespace

Result<PinnedCpu> PinnedCpu::pin() {
    cpu_set_t old;
    if (::sched_getaffinity(0, sizeof(old), &old) != 0) {
        return tl::unexpected(sys_error("sched_getaffinity"));
    }
    const int cpu = ::sched_getcpu();
    if (cpu < 0) {
        return tl::unexpected(sys_error("sched_getcpu"));
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (::sched_setaffinity(0, sizeof(one), &one) != 0) {
        return tl::unexpected(sys_error(fmt::format("cannot pin the thread to CPU {}", cpu)));
    }
    return PinnedCpu(old);
}

PinnedCpu::~PinnedCpu() {
    if (saved_) {
        (void)::sched_setaffinity(0, sizeof(cpu_set_t), &*saved_);
    }
}

TrafficSender::TrafficSender(kernel::Fd sock, pcap::Writer writer, PinnedCpu pinned, int ifindex,
                             std::size_t max_frames)
    : sock_(std::move(sock)),
      writer_(std::move(writer)),
      ifindex_(ifindex),
      max_frames_(max_frames),
      pinned_(std::move(pinned)) {}

Result<TrafficSender> TrafficSender::open(const Endpoint& from, const std::string& pcap_path,
                                          std::size_t max_frames) {
    auto sock = in(*from.ns, [&]() -> Result<kernel::Fd> {
        // Protocol 0: the socket receives nothing, it only sends.
        kernel::Fd s(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
        if (!s) {
            return tl::unexpected(sys_error("cannot open an AF_PACKET socket in " + from.ns->name()));
        }
        return s;
    });
    if (!sock) {
        return tl::unexpected(std::move(sock.error()));
    }
    auto writer = pcap::Writer::create(pcap_path, kLinktypeEthernet);
    if (!writer) {
        return tl::unexpected(std::move(writer.error()));
    }
    auto pinned = PinnedCpu::pin();
    if (!pinned) {
        return tl::unexpected(std::move(pinned.error()));
    }
    return TrafficSender(std::move(*sock), std::move(*writer), std::move(*pinned), from.ifindex, max_frames);
}

Result<void> TrafficSender::send(std::span<const std::uint8_t> frame) {
    if (sent_ >= max_frames_) {
        return fail(Errc::InvalidArgument, "traffic sender: more than {} frames", max_frames_);
    }
    if (frame.size() < 14) {
        return fail(Errc::InvalidArgument, "traffic sender: a {}-byte frame has no Ethernet header", frame.size());
    }
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    pcap::Frame rec{std::vector<std::uint8_t>(frame.begin(), frame.end()), static_cast<std::uint32_t>(frame.size()),
                    now.tv_sec, now.tv_nsec};
    if (auto r = writer_.write(rec); !r) {
        return r;
    }
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex_;
    to.sll_halen = 6;
    std::memcpy(to.sll_addr, frame.data(), 6);
    const ssize_t n =
        ::sendto(sock_.get(), frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to));
    if (n != static_cast<ssize_t>(frame.size())) {
        return tl::unexpected(sys_error(fmt::format("sending frame {} ({} bytes)", sent_, frame.size())));
    }
    ++sent_;
    return {};
}

Result<void> TrafficSender::close() { return writer_.close(); }

Result<PacketSocket> PacketSocket::open(const Endpoint& at, int type,
                                        const std::function<Result<void>(int)>& before_bind) {
    return in(*at.ns, [&]() -> Result<PacketSocket> {
        // Protocol 0 until bind: no frame is queued before the filter is in place.
        kernel::Fd s(::socket(AF_PACKET, type | SOCK_CLOEXEC, 0));
        if (!s) {
            return tl::unexpected(sys_error("cannot open an AF_PACKET socket in " + at.ns->name()));
        }
        for (auto r : {set_int(s.get(), SOL_PACKET, PACKET_AUXDATA, 1, "PACKET_AUXDATA"),
                       set_int(s.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING"),
                       set_int(s.get(), SOL_SOCKET, SO_RCVBUFFORCE, kReceiveBuffer, "SO_RCVBUFFORCE")}) {
            if (!r) {
                return tl::unexpected(std::move(r.error()));
            }
        }
        if (before_bind) {
            if (auto r = before_bind(s.get()); !r) {
                return tl::unexpected(std::move(r.error()));
            }
        }
        sockaddr_ll addr{};
        addr.sll_family = AF_PACKET;
        addr.sll_protocol = htons(ETH_P_ALL);
        addr.sll_ifindex = at.ifindex;
        if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
            return tl::unexpected(sys_error("cannot bind an AF_PACKET socket to " + at.ifname));
        }
        return PacketSocket(std::move(s));
    });
}

Result<bool> wait_readable(int fd, std::chrono::milliseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    for (;;) {
        const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
        if (n >= 0) {
            return n > 0;
        }
        if (errno != EINTR) {
            return tl::unexpected(sys_error("poll"));
        }
    }
}

Result<std::optional<std::size_t>> receive_one(int fd, std::vector<std::uint8_t>& buf, void* from,
                                               std::size_t from_len, Received* meta) {
    if (buf.size() < 65536) {
        buf.resize(65536);
    }
    sockaddr_ll ll{};
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(tpacket_auxdata))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (meta != nullptr) {
        msg.msg_name = &ll;
        msg.msg_namelen = sizeof(ll);
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
    } else {
        msg.msg_name = from;
        msg.msg_namelen = static_cast<socklen_t>(from_len);
    }
    const ssize_t n = ::recvmsg(fd, &msg, MSG_TRUNC | MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return std::optional<std::size_t>{};
        }
        return tl::unexpected(sys_error("recvmsg"));
    }
    if (static_cast<std::size_t>(n) > buf.size()) {
        return fail(Errc::Io, "recvmsg: a {}-byte packet does not fit the {}-byte buffer", n, buf.size());
    }
    if (meta != nullptr) {
        meta->pkt_type = ll.sll_pkttype;
        meta->vlan_tci.reset();
        bool aux = false;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
                tpacket_auxdata a;
                std::memcpy(&a, CMSG_DATA(c), sizeof(a));
                meta->orig_len = a.tp_len;
                if ((a.tp_status & TP_STATUS_VLAN_VALID) != 0) {
                    meta->vlan_tci = a.tp_vlan_tci;
                }
                aux = true;
            }
        }
        if (!aux) {
            return fail(Errc::Io, "recvmsg: no PACKET_AUXDATA with the frame");
        }
    }
    return std::optional<std::size_t>{static_cast<std::size_t>(n)};
}

Result<std::vector<Received>> PacketSocket::receive(std::size_t count, std::chrono::milliseconds timeout) {
    std::vector<Received> out;
    std::vector<std::uint8_t> buf;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < count) {
        Received r;
        auto n = receive_one(sock_.get(), buf, nullptr, 0, &r);
        if (!n) {
            return tl::unexpected(std::move(n.error()));
        }
        if (*n) {
            r.bytes.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(**n));
            out.push_back(std::move(r));
            continue;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            break;
        }
        if (auto w = wait_readable(sock_.get(), left); !w) {
            return tl::unexpected(std::move(w.error()));
        }
    }
    return out;
}

Result<std::vector<Received>> PacketSocket::drain(std::chrono::milliseconds quiet) {
    std::vector<Received> out;
    for (;;) {
        auto more = receive(SIZE_MAX, quiet);
        if (!more) {
            return more;
        }
        if (more->empty()) {
            return out;
        }
        for (auto& r : *more) {
            out.push_back(std::move(r));
        }
    }
}

}  // namespace sockfilter::testing::netns
