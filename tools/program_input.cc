// SPDX-License-Identifier: MIT
// Program format detection and loading for the command line.
#include "tools/program_input.h"

#include <algorithm>
#include <filesystem>
#include <string_view>

#include "asm/assembler.h"
#include "elf/elf.h"
#include "support/assert.h"
#include "support/bytes.h"

namespace sockfilter::tools {

namespace {

bool is_elf(const std::vector<std::uint8_t>& b) {
    return b.size() >= 4 && b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F';
}

bool looks_like_text(const std::vector<std::uint8_t>& b) {
    return std::all_of(b.begin(), b.end(), [](std::uint8_t c) { return c == '\n' || c == '\r' || c == '\t' || (c >= 0x20 && c != 0x7f); });
}

std::string stem(const std::string& path) {
    return path == "-" ? std::string("stdin") : std::filesystem::path(path).stem().string();
}

}  // namespace

Result<ProgramFormat> parse_program_format(const std::string& text) {
    if (text == "auto") {
        return ProgramFormat::Auto;
    }
    if (text == "asm") {
        return ProgramFormat::Asm;
    }
    if (text == "raw") {
        return ProgramFormat::Raw;
    }
    if (text == "elf") {
        return ProgramFormat::Elf;
    }
    return fail(Errc::InvalidArgument, "unknown program format '{}' (expected auto, asm, raw or elf)", text);
}

namespace {

/// An object holding one program built from text or bytes.
ProgramInput single(program::Program prog, const std::string& path) {
    ProgramInput in;
    in.object.path = path;
    in.object.programs.push_back(program::ObjectProgram{std::move(prog), {}, {}});
    return in;
}

}  // namespace

Result<ProgramInput> read_program(const std::string& path, ProgramFormat format, const std::string& program_name) {
    auto bytes = read_file(path);
    if (!bytes) {
        return tl::unexpected(std::move(bytes.error()));
    }
    if (format == ProgramFormat::Auto) {
        if (is_elf(*bytes)) {
            format = ProgramFormat::Elf;
        } else if (!bytes->empty() && looks_like_text(*bytes)) {
            format = ProgramFormat::Asm;
        } else {
            format = ProgramFormat::Raw;
        }
    }
    const std::string shown = path == "-" ? "<stdin>" : path;
    switch (format) {
        case ProgramFormat::Elf: {
            auto obj = elf::read_object(*bytes, shown);
            if (!obj) {
                return tl::unexpected(std::move(obj.error()));
            }
            auto chosen = elf::select_program(*obj, program_name);
            if (!chosen) {
                return tl::unexpected(std::move(chosen.error()));
            }
            ProgramInput in;
            in.index = static_cast<std::size_t>(*chosen - obj->programs.data());
            in.object = std::move(*obj);
            return in;
        }
        case ProgramFormat::Asm: {
            std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
            auto p = assembler::assemble(text, shown);
            if (!p) {
                return tl::unexpected(std::move(p.error()));
            }
            return single(std::move(*p), path);
        }
        case ProgramFormat::Raw: {
            auto p = program::Program::from_bytes(stem(path), *bytes);
            if (!p) {
                return tl::unexpected(std::move(p.error()).with_context(path));
            }
            return single(std::move(*p), path);
        }
        case ProgramFormat::Auto: break;
    }
    SF_UNREACHABLE();
}

}  // namespace sockfilter::tools
