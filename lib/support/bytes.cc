// SPDX-License-Identifier: MIT
// Hex parsing and whole-file I/O.
#include "support/bytes.h"

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include <unistd.h>

namespace sockfilter {

namespace {
int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}
}  // namespace

Result<std::vector<std::uint8_t>> parse_hex(std::string_view text) {
    std::vector<std::uint8_t> out;
    int pending = -1;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':') {
            if (pending >= 0) {
                return fail(Errc::Parse, "hex: odd number of digits before column {}", i + 1);
            }
            continue;
        }
        if (c == '0' && i + 1 < text.size() && (text[i + 1] == 'x' || text[i + 1] == 'X') && pending < 0) {
            ++i;
            continue;
        }
        int v = hex_value(c);
        if (v < 0) {
            return fail(Errc::Parse, "hex: unexpected character '{}' at column {}", c, i + 1);
        }
        if (pending < 0) {
            pending = v;
        } else {
            out.push_back(static_cast<std::uint8_t>(pending * 16 + v));
            pending = -1;
        }
    }
    if (pending >= 0) {
        return fail(Errc::Parse, "hex: odd number of digits");
    }
    return out;
}

std::string to_hex(std::span<const std::uint8_t> bytes, std::string_view sep) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * (2 + sep.size()));
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (i != 0) {
            out += sep;
        }
        out += kDigits[bytes[i] >> 4];
        out += kDigits[bytes[i] & 0xf];
    }
    return out;
}

Result<std::vector<std::uint8_t>> read_file(const std::string& path) {
    if (path == "-") {
        std::vector<std::uint8_t> out((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
        return out;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        int e = errno;
        auto err = fail(Errc::Io, "{}: cannot open: {}", path, std::strerror(e));
        err.value().sys_errno = e;
        return err;
    }
    std::vector<std::uint8_t> out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
        return fail(Errc::Io, "{}: read error", path);
    }
    return out;
}

Result<void> write_file_atomic(const std::string& path, std::span<const std::uint8_t> bytes) {
    std::string tmp = path + ".sockfilter-tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr) {
        int e = errno;
        return fail(Errc::Io, "{}: cannot create: {}", path, std::strerror(e));
    }
    bool ok = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    ok = (std::fclose(f) == 0) && ok;
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return fail(Errc::Io, "{}: cannot write: {}", path, std::strerror(e));
    }
    return {};
}

}  // namespace sockfilter
