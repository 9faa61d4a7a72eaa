// SPDX-License-Identifier: MIT
// libFuzzer harness for the assembler: any text either assembles or is a clean error, and whatever
// assembles prints, in both syntaxes, to text that assembles back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "asm/assembler.h"
#include "fuzz_util.h"
#include "support/bytes.h"

namespace sockfilter::fuzz {
namespace {

using assembler::Syntax;

void round_trip(const program::Program& prog, Syntax syntax, bool labels) {
    assembler::DisasmOptions options;
    options.labels = labels;
    const std::string text = assembler::disassemble(prog, syntax, options);
    auto again = assembler::assemble(text, "roundtrip", syntax);
    require(again.has_value(), "disassembly does not assemble",
            text + "\n" + (again ? std::string() : again.error().render()));
    require(again->bytes() == prog.bytes(), "disassembly assembles to other bytes",
            text + "\nbefore: " + to_hex(prog.bytes(), " ") + "\nafter:  " + to_hex(again->bytes(), " "));
}

void check(std::string_view text, Syntax syntax) {
    auto prog = assembler::assemble(text, "fuzz", syntax);
    if (!prog) {
        require(!prog.error().render().empty(), "an error without text");
        return;
    }
    for (const Syntax out : {Syntax::Conformance, Syntax::Kernel}) {
        round_trip(*prog, out, false);
        round_trip(*prog, out, true);
    }
}

}  // namespace
}  // namespace sockfilter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using sockfilter::assembler::Syntax;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    for (const Syntax syntax : {Syntax::Auto, Syntax::Conformance, Syntax::Kernel}) {
        sockfilter::fuzz::check(text, syntax);
    }
    return 0;
}
