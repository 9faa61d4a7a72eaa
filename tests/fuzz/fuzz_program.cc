// SPDX-License-Identifier: MIT
// libFuzzer harness for the engine against any program: raw instruction bytes are validated,
// loaded for socket filters and for raw mode, and whatever loads runs in checked mode. Checked
// mode must hold against every program: no access outside the given regions (ASan watches) and
// a status and pc for every run.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "fuzz_util.h"
#include "program/program.h"

namespace sockfilter::fuzz {
namespace {

/// Bytes raw mode gives the program (r1, r2 = 64); a heap buffer of exactly this size, so ASan
/// reports an access one byte past it.
constexpr std::size_t kRawMemSize = 64;

const runtime::Skb& fixed_skb() {
    static const runtime::Skb skb = [] {
        auto made = runtime::make_skb(tcp_frame(), runtime::dlt::kEn10mb, runtime::SocketKind::Packet);
        require(made.has_value(), "the fixed frame does not make an skb");
        return *made;
    }();
    return skb;
}

void run_skb(const runtime::LoadedProgram& prog) {
    auto interp = std::make_unique<vm::Interpreter>(prog, vm::Options{kBudget, true});
    run_checked(*interp, prog.program->size(), fixed_skb());
}

void run_raw(const runtime::LoadedProgram& prog) {
    auto interp = std::make_unique<vm::Interpreter>(prog, vm::Options{kBudget, true});
    std::vector<std::uint8_t> mem(kRawMemSize);
    for (std::size_t i = 0; i < mem.size(); ++i) {
        mem[i] = static_cast<std::uint8_t>(i * 7 + 1);
    }
    vm::RunInput input;
    input.mem = mem;
    run_checked(*interp, prog.program->size(), input);
}

}  // namespace
}  // namespace sockfilter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sockfilter;
    auto prog = program::Program::from_bytes("fuzz", std::span<const std::uint8_t>(data, size));
    if (!prog) {
        return 0;
    }
    if (auto loaded = runtime::load(*prog, runtime::socket_filter_env())) {
        fuzz::run_skb(*loaded);
    }
    if (auto loaded = runtime::load(*prog, runtime::raw_env())) {
        fuzz::run_raw(*loaded);
    }
    return 0;
}
