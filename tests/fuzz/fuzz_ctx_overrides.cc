// SPDX-License-Identifier: MIT
// libFuzzer harness for the small text inputs of `sockfilter run`: `--ctx key=value,...`,
// `--packet HEX` and the socket kind name. Each parses or fails cleanly; what parses is used.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "support/bytes.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sockfilter;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto overrides = runtime::parse_ctx_overrides(text)) {
        runtime::SkbMeta meta;
        overrides->apply(meta);
    } else {
        fuzz::require(!overrides.error().render().empty(), "an error without text");
    }
    if (auto bytes = parse_hex(text)) {
        fuzz::require(bytes->size() * 2 <= text.size(), "more bytes than hex digits");
        for (const runtime::SocketKind kind : fuzz::kSocketKinds) {
            if (auto skb = runtime::make_skb_from_hex(text, kind)) {
                fuzz::check_skb(*skb);
            }
        }
    }
    (void)runtime::parse_socket_kind(text);
    return 0;
}
