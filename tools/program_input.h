// SPDX-License-Identifier: MIT
// Reading a program file in any supported format, detected by content (docs/CLI.md).
#pragma once

#include <string>

#include "program/program.h"
#include "support/result.h"

namespace sockfilter::tools {

/// The formats a program file may have.
enum class ProgramFormat { Auto, Asm, Raw, Elf };

/// Parses "auto", "asm", "raw" or "elf".
[[nodiscard]] Result<ProgramFormat> parse_program_format(const std::string& text);

/// Reads and builds the program in `path` ("-" = standard input). Auto detection: an ELF magic
/// number is an object file; otherwise text without NUL bytes is assembly (either syntax); anything
/// else is raw eBPF bytes. From an object, `program_name` picks the socket program; empty picks
/// the only one and fails, listing them, when there are several.
[[nodiscard]] Result<program::Program> read_program(const std::string& path, ProgramFormat format,
                                                    const std::string& program_name = "");

}  // namespace sockfilter::tools
