// SPDX-License-Identifier: MIT
// Reading a program file in any supported format, detected by content (docs/CLI.md).
#pragma once

#include <string>

#include "program/object.h"
#include "support/result.h"

namespace sockfilter::tools {

/// The formats a program file may have.
enum class ProgramFormat { Auto, Asm, Raw, Elf };

/// Parses "auto", "asm", "raw" or "elf".
[[nodiscard]] Result<ProgramFormat> parse_program_format(const std::string& text);

/// A program file as read: an object with its maps, and the program chosen from it. Assembly and
/// raw bytes become an object of one program and no maps.
struct ProgramInput {
    program::Object object;
    std::size_t index = 0;

    [[nodiscard]] const program::Program& program() const { return object.programs[index].program; }
};

/// Reads `path` ("-" = standard input). Auto detection: an ELF magic number is an object file;
/// otherwise text without NUL bytes is assembly (either syntax); anything else is raw eBPF bytes.
/// From an object, `program_name` picks the socket program; empty picks the only one and fails,
/// listing them, when there are several.
[[nodiscard]] Result<ProgramInput> read_program(const std::string& path, ProgramFormat format,
                                                const std::string& program_name = "");

}  // namespace sockfilter::tools
