// SPDX-License-Identifier: MIT
// libFuzzer harness for make_skb and the packet side of the engine: the first byte picks a link
// type, the rest is the frame; every sk_buff built from it (one per socket kind) runs fixed
// programs in checked mode that read every readable context and ctx->sk field at every allowed
// size, and LD_ABS/LD_IND at offsets around every header boundary and the packet's end.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "asm/assembler.h"
#include "fuzz_util.h"
#include "runtime/prog_type.h"

namespace sockfilter::fuzz {
namespace {

constexpr std::int32_t kNetOff = -0x100000;  // SKF_NET_OFF
constexpr std::int32_t kLlOff = -0x200000;   // SKF_LL_OFF
constexpr std::int32_t kAdOff = -0x1000;     // SKF_AD_OFF (classic BPF only: eBPF terminates)

/// The link types the first input byte chooses from: every one make_skb knows and one it does not.
constexpr int kLinktypes[] = {
    runtime::dlt::kNull,  runtime::dlt::kEn10mb,   runtime::dlt::kRaw,  runtime::dlt::kRawOpenBsd,
    runtime::dlt::kLinktypeRaw, runtime::dlt::kLoop, runtime::dlt::kLinuxSll, runtime::dlt::kIpv4,
    runtime::dlt::kIpv6,  runtime::dlt::kLinuxSll2, 147 /* DLT_USER0: not supported */,
};

std::string_view width(std::uint32_t size) {
    switch (size) {
        case 1: return "8";
        case 2: return "16";
        case 4: return "32";
        default: return "64";
    }
}

/// Every context load the socket-filter type allows (plain and sign-extending, every size and
/// offset), then every ctx->sk load check_sock_access allows when ctx->sk is not NULL, then a
/// store to each cb[] word.
std::string ctx_program() {
    const runtime::ProgType& type = runtime::socket_filter();
    std::string text = "r6 = r1\n";
    for (std::int32_t off = 0; off < static_cast<std::int32_t>(type.ctx_size); ++off) {
        for (const std::uint32_t size : {1u, 2u, 4u, 8u}) {
            if (type.check_access(off, size, runtime::CtxAccessKind::Load)) {
                text += fmt::format("r0 = *(u{} *)(r6 + {})\n", width(size), off);
            }
            if (size < 8 && type.check_access(off, size, runtime::CtxAccessKind::LoadSx)) {
                text += fmt::format("r0 = *(s{} *)(r6 + {})\n", width(size), off);
            }
        }
    }
    text += "r2 = *(u64 *)(r6 + 168)\nif r2 == 0 goto nosk\n";
    for (std::int32_t off = 0; off < static_cast<std::int32_t>(vm::kSockWindow); ++off) {
        for (const std::uint32_t size : {1u, 2u, 4u, 8u}) {
            if (runtime::check_sock_access(off, size)) {
                text += fmt::format("r0 = *(u{} *)(r2 + {})\n", width(size), off);
            }
        }
    }
    text += "nosk:\n";
    for (std::int32_t off = 48; off < 68; off += 4) {
        text += fmt::format("*(u32 *)(r6 + {}) = r0\n", off);
    }
    return text + "r0 = *(u32 *)(r6 + 48)\nexit\n";
}

/// LD_ABS at `off`, byte then half then word (a load out of range ends the program).
std::string abs_program(std::int32_t off) {
    return fmt::format("r6 = r1\nr0 = *(u8 *)skb[{0}]\nr0 = *(u16 *)skb[{0}]\nr0 = *(u32 *)skb[{0}]\nexit\n", off);
}

/// LD_IND with r7 = `index` (text of a value or an instruction setting r7) and displacement `imm`.
std::string ind_program(const std::string& set_r7, std::int32_t imm) {
    return fmt::format("r6 = r1\n{0}\nr0 = *(u8 *)skb[r7 + {1}]\nr0 = *(u16 *)skb[r7 + {1}]\n"
                       "r0 = *(u32 *)skb[r7 + {1}]\nexit\n",
                       set_r7, imm);
}

std::vector<std::string> program_texts() {
    std::vector<std::string> texts{ctx_program()};
    for (const std::int32_t off : {0, 1, 12, 13, 14, 20, 22, 23, 33, 39, 40, 53, 54, 59, 60, 1513, 1514, 65535,
                                   0x7fffffff, -1, kNetOff, kNetOff + 9, kNetOff + 40, kNetOff - 1, kLlOff,
                                   kLlOff + 12, kLlOff + 13, kLlOff - 1, kAdOff}) {
        texts.push_back(abs_program(off));
    }
    for (const char* set_r7 : {"r7 = 0", "r7 = 13", "r7 = *(u32 *)(r6 + 0)", "r7 = 0xffffffff",
                               "r7 = -1", "r7 = 0x80000000", "r7 = 0x7fffffff ll"}) {
        for (const std::int32_t imm : {0, 1, -1, -4, 14, kNetOff, kLlOff}) {
            texts.push_back(ind_program(set_r7, imm));
        }
    }
    return texts;
}

/// The fixed programs, loaded once for the socket-filter environment, each with its interpreter.
class Programs {
public:
    Programs() {
        for (const std::string& text : program_texts()) {
            auto prog = assembler::assemble(text, "fuzz_packet", assembler::Syntax::Kernel);
            require(prog.has_value(), "a fixed program does not assemble", prog ? text : prog.error().render());
            programs_.push_back(std::move(*prog));
            auto loaded = runtime::load(programs_.back(), runtime::socket_filter_env());
            require(loaded.has_value(), "a fixed program does not load", loaded ? text : loaded.error().render());
            interps_.push_back(std::make_unique<vm::Interpreter>(*loaded, vm::Options{kBudget, true}));
        }
    }

    void run_all(const runtime::Skb& skb) {
        for (std::size_t i = 0; i < interps_.size(); ++i) {
            run_checked(*interps_[i], programs_[i].size(), skb);
        }
    }

private:
    std::deque<program::Program> programs_;  // a deque: the interpreters point into it
    std::vector<std::unique_ptr<vm::Interpreter>> interps_;
};

}  // namespace
}  // namespace sockfilter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sockfilter;
    static fuzz::Programs programs;
    if (size == 0) {
        return 0;
    }
    const int linktype = fuzz::kLinktypes[data[0] % std::size(fuzz::kLinktypes)];
    const std::span<const std::uint8_t> frame(data + 1, size - 1);
    for (const runtime::SocketKind kind : fuzz::kSocketKinds) {
        if (auto skb = runtime::make_skb(frame, linktype, kind)) {
            fuzz::check_skb(*skb);
            programs.run_all(*skb);
        }
    }
    return 0;
}
