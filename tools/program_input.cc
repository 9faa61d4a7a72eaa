// SPDX-License-Identifier: MIT
// Program format detection and loading for the command line.
#include "tools/program_input.h"

#include <algorithm>
#include <filesystem>
#include <string_view>

#include "asm/assembler.h"
#include "cbpf/convert.h"
#include "cbpf/validate.h"
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

namespace {

constexpr std::pair<std::string_view, ProgramFormat> kFormats[] = {
    {"auto", ProgramFormat::Auto},
    {"asm", ProgramFormat::Asm},
    {"raw", ProgramFormat::Raw},
    {"elf", ProgramFormat::Elf},
    {"cbpf-listing", ProgramFormat::CbpfListing},
    {"cbpf-c", ProgramFormat::CbpfC},
    {"cbpf-decimal", ProgramFormat::CbpfDecimal},
    {"cbpf-bytecode", ProgramFormat::CbpfBytecode},
    {"bpf_asm", ProgramFormat::BpfAsm},
    {"cbpf-raw", ProgramFormat::CbpfRaw},
    {"expr", ProgramFormat::Expr},
};

std::optional<cbpf::TextFormat> classic_text(ProgramFormat f) {
    switch (f) {
        case ProgramFormat::CbpfListing: return cbpf::TextFormat::Listing;
        case ProgramFormat::CbpfC: return cbpf::TextFormat::CArray;
        case ProgramFormat::CbpfDecimal: return cbpf::TextFormat::Decimal;
        case ProgramFormat::CbpfBytecode: return cbpf::TextFormat::Bytecode;
        case ProgramFormat::BpfAsm: return cbpf::TextFormat::BpfAsm;
        default: return std::nullopt;
    }
}

ProgramFormat from_text_format(cbpf::TextFormat f) {
    switch (f) {
        case cbpf::TextFormat::Listing: return ProgramFormat::CbpfListing;
        case cbpf::TextFormat::CArray: return ProgramFormat::CbpfC;
        case cbpf::TextFormat::Decimal: return ProgramFormat::CbpfDecimal;
        case cbpf::TextFormat::Bytecode: return ProgramFormat::CbpfBytecode;
        case cbpf::TextFormat::BpfAsm: return ProgramFormat::BpfAsm;
    }
    SF_UNREACHABLE();
}

std::string_view as_text(const std::vector<std::uint8_t>& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

/// The line an error points at (0 when it has none), to report the parse that got further.
std::uint32_t error_line(const Error& e) {
    const auto* p = std::get_if<SourcePos>(&e.where);
    return p == nullptr ? 0 : p->line;
}

/// Classic bytes or text of a known classic format, validated.
Result<cbpf::Filter> parse_classic(const std::vector<std::uint8_t>& bytes, ProgramFormat format, const std::string& shown) {
    auto f = format == ProgramFormat::CbpfRaw ? cbpf::from_bytes(bytes)
                                               : cbpf::parse_text(as_text(bytes), *classic_text(format), shown);
    if (!f) {
        return tl::unexpected(std::move(f.error()));
    }
    if (auto v = cbpf::validate(*f); !v) {
        return tl::unexpected(std::move(v.error()).with_context(shown));
    }
    return f;
}

}  // namespace

Result<ProgramFormat> parse_program_format(const std::string& text) {
    for (const auto& [name, f] : kFormats) {
        if (text == name) {
            return f;
        }
    }
    return fail(Errc::InvalidArgument,
                "unknown program format '{}' (expected auto, asm, raw, elf, cbpf-listing, cbpf-c, cbpf-decimal, "
                "cbpf-bytecode, bpf_asm, cbpf-raw or expr)",
                text);
}

Result<cbpf::Filter> read_classic(const std::string& path, ProgramFormat format) {
    auto bytes = read_file(path);
    if (!bytes) {
        return tl::unexpected(std::move(bytes.error()));
    }
    const std::string shown = path == "-" ? "<stdin>" : path;
    if (format == ProgramFormat::Auto) {
        if (!looks_like_text(*bytes)) {
            format = ProgramFormat::CbpfRaw;
        } else if (auto t = cbpf::sniff_text_format(as_text(*bytes))) {
            format = from_text_format(*t);
        } else {
            format = ProgramFormat::BpfAsm;
        }
    }
    if (format != ProgramFormat::CbpfRaw && !classic_text(format)) {
        // Expr included: a filter expression compiles to eBPF, never to classic BPF.
        return fail(Errc::InvalidArgument, "{}: --format must name a classic format here", shown);
    }
    return parse_classic(*bytes, format, shown);
}

namespace {

/// An object holding one program built from text or bytes.
ProgramInput single(program::Program prog, const std::string& path) {
    ProgramInput in;
    in.object.path = path;
    in.object.programs.push_back(program::ObjectProgram{std::move(prog), {}, {}, {}});
    return in;
}

}  // namespace

Result<ProgramInput> read_program(const std::string& path, ProgramFormat format, const std::string& program_name,
                                  const ExpressionTarget& expr) {
    std::error_code ec;
    const bool is_file = path == "-" || std::filesystem::exists(path, ec);
    if (format == ProgramFormat::Expr || (format == ProgramFormat::Auto && !is_file)) {
        if (!expr.refusal.empty()) {
            return format == ProgramFormat::Expr
                       ? fail(Errc::InvalidArgument, "{}", expr.refusal)
                       : fail(Errc::Io, "'{}' names no file, and {}", path, expr.refusal);
        }
        auto p = filter::compile(path, expr.options);
        if (!p) {
            if (format == ProgramFormat::Expr) {
                return tl::unexpected(std::move(p.error()));
            }
            return fail(Errc::Io, "'{}' is neither a file (none exists by that name) nor a filter expression ({})",
                        path, p.error().render());
        }
        ProgramInput in = single(std::move(*p), "expression");
        in.object.license = "GPL";
        return in;
    }
    auto bytes = read_file(path);
    if (!bytes) {
        return tl::unexpected(std::move(bytes.error()));
    }
    const std::string shown = path == "-" ? "<stdin>" : path;
    if (format == ProgramFormat::Auto) {
        if (is_elf(*bytes)) {
            format = ProgramFormat::Elf;
        } else if (!bytes->empty() && looks_like_text(*bytes)) {
            if (auto t = cbpf::sniff_text_format(as_text(*bytes))) {
                format = from_text_format(*t);
            } else {
                // Assembly text: eBPF or bpf_asm. Some lines read as both (`ja`, `add #1` ...),
                // so both are tried; an input both accept is ambiguous, not guessed.
                auto ebpf = assembler::assemble(as_text(*bytes), shown);
                auto classic = cbpf::parse_text(as_text(*bytes), cbpf::TextFormat::BpfAsm, shown);
                if (ebpf && classic) {
                    return fail(Errc::Format, "{}: the text is both eBPF assembly and classic bpf_asm source; say "
                                              "which with --format asm or --format bpf_asm", shown);
                }
                if (!ebpf && !classic) {
                    // Report the reading that got further into the file.
                    return tl::unexpected(error_line(classic.error()) > error_line(ebpf.error())
                                              ? std::move(classic.error())
                                              : std::move(ebpf.error()));
                }
                format = ebpf ? ProgramFormat::Asm : ProgramFormat::BpfAsm;
            }
        } else {
            format = ProgramFormat::Raw;
        }
    }
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
        case ProgramFormat::CbpfListing:
        case ProgramFormat::CbpfC:
        case ProgramFormat::CbpfDecimal:
        case ProgramFormat::CbpfBytecode:
        case ProgramFormat::BpfAsm:
        case ProgramFormat::CbpfRaw: {
            auto f = parse_classic(*bytes, format, shown);
            if (!f) {
                return tl::unexpected(std::move(f.error()));
            }
            auto p = cbpf::convert(*f, stem(path));
            if (!p) {
                return tl::unexpected(std::move(p.error()).with_context(shown));
            }
            ProgramInput in = single(std::move(*p), path);
            in.object.license = "GPL";
            in.classic = std::move(*f);
            return in;
        }
        case ProgramFormat::Auto:
        case ProgramFormat::Expr: break;
    }
    SF_UNREACHABLE();
}

}  // namespace sockfilter::tools
