// SPDX-License-Identifier: MIT
// Shared pieces of the libFuzzer harnesses: the invariant check that turns a broken promise into a
// crash libFuzzer records, and the fixed packet the engine fuzzers run on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

#include "runtime/load.h"
#include "runtime/packet.h"
#include "vm/interpreter.h"

namespace sockfilter::fuzz {

/// Instructions one fuzzed run may execute: enough for every seed, small enough that a loop
/// costs microseconds.
inline constexpr std::uint64_t kBudget = 10'000;

/// Every socket kind make_skb knows.
inline constexpr runtime::SocketKind kSocketKinds[] = {
    runtime::SocketKind::Packet, runtime::SocketKind::PacketDgram, runtime::SocketKind::Raw,
    runtime::SocketKind::Udp,    runtime::SocketKind::Tcp,         runtime::SocketKind::TestRun,
};

/// Aborts (a crash libFuzzer saves as an artifact) when a promise of the code under test is broken.
inline void require(bool ok, std::string_view what, std::string_view detail = {}) {
    if (!ok) {
        std::fprintf(stderr, "fuzz invariant broken: %.*s\n%.*s\n", static_cast<int>(what.size()), what.data(),
                     static_cast<int>(detail.size()), detail.data());
        std::abort();
    }
}

/// A 60-byte Ethernet/IPv4/TCP frame (198.18.0.2:40000 -> 198.18.0.1:80, SYN) with checksums left 0.
inline std::vector<std::uint8_t> tcp_frame() {
    return {
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,  // Ethernet
        0x45, 0x00, 0x00, 0x2c, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,              // IPv4
        0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x01,                                      // addresses
        0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,              // TCP ports, seq, ack
        0x60, 0x02, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,                                      // offset 24, SYN
        0x02, 0x04, 0x05, 0xb4, 0x00, 0x00,                                                  // MSS option, padding
    };
}

/// Checks what make_skb promises of an skb it built: offset 0 and the headers lie inside the bytes.
inline void check_skb(const runtime::Skb& skb) {
    const auto n = static_cast<std::int64_t>(skb.bytes.size());
    require(skb.data <= skb.bytes.size(), "skb->data is past the end of the bytes");
    require(skb.network_header >= 0 && skb.network_header <= n, "the network header is outside the bytes");
    require(skb.mac_header == runtime::kNoHeader || (skb.mac_header >= 0 && skb.mac_header <= n),
            "the MAC header is outside the bytes");
}

/// Runs `interp` (built in checked mode for a program of `size` slots) once on `input` and checks
/// what every run promises: the reported pc is inside the program and a fault, and only a fault,
/// says why.
inline void run_checked(vm::Interpreter& interp, std::size_t size, vm::RunInput& input) {
    const vm::ExecResult r = interp.run(input);
    require(r.pc < size, "pc of the result is outside the program", interp.fault_message());
    require((r.status == vm::ExecStatus::Ok) == interp.fault_message().empty(),
            "a fault without a message, or a message after an Ok run", interp.fault_message());
}

/// run_checked on a copy of `skb` (the program may write cb[]).
inline void run_checked(vm::Interpreter& interp, std::size_t size, const runtime::Skb& skb) {
    runtime::Skb copy = skb;
    vm::RunInput input;
    input.skb = &copy;
    run_checked(interp, size, input);
}

}  // namespace sockfilter::fuzz
