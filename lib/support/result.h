// SPDX-License-Identifier: MIT
// Result<T>, Error and Location: how every component reports bad input (HOUSE_STYLE §3).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <tl/expected.hpp>

namespace sockfilter {

/// What kind of failure an Error is; stable, tests may switch on it.
enum class Errc {
    InvalidArgument,  ///< a bad flag value or option combination
    Parse,            ///< text that does not parse (assembly, hex, expressions)
    InvalidProgram,   ///< bytes that do not form a valid program
    Rejected,         ///< a program refused at load (context access, structure)
    Io,               ///< a file that cannot be opened, read or written
    Format,           ///< a file whose contents are not of the expected format
    NotSupported,     ///< a feature this machine or build cannot provide
    Kernel,           ///< a bpf(2) or socket call failed
};

/// An instruction index (slot number, as the kernel counts: lddw takes two).
struct InsnIndex {
    std::uint32_t pc = 0;
};

/// A position in a text file; line and column count from 1.
struct SourcePos {
    std::string file;
    std::uint32_t line = 0;
    std::uint32_t col = 0;
};

/// A position in an ELF object.
struct ElfPos {
    std::string section;
    std::uint64_t offset = 0;
};

/// Where an error happened: nowhere in particular, or one of the positions above.
using Location = std::variant<std::monostate, InsnIndex, SourcePos, ElfPos>;

/// A failure with its location and the context layers added on the way out (outermost first).
struct Error {
    Errc code = Errc::InvalidArgument;
    std::string message;
    Location where;
    std::vector<std::string> context;
    int sys_errno = 0;

    /// Renders "ctx1: ctx2: <location>: message", e.g. `section "socket": pc 3: unknown opcode 0x8f`.
    [[nodiscard]] std::string render() const;

    /// Adds an outer context layer (it is printed first).
    [[nodiscard]] Error with_context(std::string outer) &&;
};

/// The value or the error; tl::expected until the project moves to C++23's std::expected.
template <class T>
using Result = tl::expected<T, Error>;

/// Builds an error value for a `return`, formatting the message.
template <class... Args>
[[nodiscard]] tl::unexpected<Error> fail(Errc code, Location where, fmt::format_string<Args...> f, Args&&... args) {
    return tl::unexpected<Error>(Error{code, fmt::format(f, std::forward<Args>(args)...), std::move(where), {}, 0});
}

/// Builds an error with no particular location.
template <class... Args>
[[nodiscard]] tl::unexpected<Error> fail(Errc code, fmt::format_string<Args...> f, Args&&... args) {
    return fail(code, Location{}, f, std::forward<Args>(args)...);
}

/// Renders a location alone ("pc 3", "file.s:2:5", "section .text+0x10"); empty for none.
[[nodiscard]] std::string render_location(const Location& where);

}  // namespace sockfilter
