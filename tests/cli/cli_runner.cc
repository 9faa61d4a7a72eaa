// SPDX-License-Identifier: MIT
// Runs one command-line case: `cli_runner CASE.test SOCKFILTER EXAMPLES_DIR [-v]`.
//
// A case file has sections: `-- file NAME` (text written into a fresh working directory),
// `-- hexfile NAME` (bytes given as hex), `-- run` (one shell command line; `sockfilter` and
// `{examples}` are substituted), `-- exit` (the expected exit status), and `-- stdout` /
// `-- stderr` (lines that must each occur in that stream, in order). `-- absent NAME` asserts a
// file was not created (nothing half-written).
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "runner/sections.h"
#include "support/bytes.h"

namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
        s.replace(pos, from.size(), to);
    }
    return s;
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> lines_of(const std::string& body) {
    std::vector<std::string> out;
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) {
            out.push_back(line);
        }
    }
    return out;
}

/// Every expected line occurs in `text`, in order.
bool contains_in_order(const std::string& text, const std::vector<std::string>& expected, std::string& missing) {
    std::size_t pos = 0;
    for (const auto& e : expected) {
        std::size_t at = text.find(e, pos);
        if (at == std::string::npos) {
            missing = e;
            return false;
        }
        pos = at + e.size();
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace sockfilter;
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s CASE.test SOCKFILTER EXAMPLES_DIR [-v]\n", argv[0]);
        return 2;
    }
    const bool verbose = argc > 4 && std::strcmp(argv[4], "-v") == 0;
    auto file = testing::read_sections(argv[1]);
    if (!file) {
        fmt::print("FAIL: {}\n", file.error().render());
        return 1;
    }
    char tmpl[] = "/tmp/sockfilter-cli-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
        std::perror("mkdtemp");
        return 1;
    }
    const std::filesystem::path dir = tmpl;
    std::string command;
    int expected_exit = 0;
    std::vector<std::string> want_out, want_err, absent;
    for (const auto& s : file->sections) {
        if (s.name.rfind("file ", 0) == 0) {
            std::ofstream(dir / s.name.substr(5), std::ios::binary) << s.body;
        } else if (s.name.rfind("hexfile ", 0) == 0) {
            auto bytes = parse_hex(s.body);
            if (!bytes) {
                fmt::print("FAIL: {}: {}\n", s.name, bytes.error().render());
                return 1;
            }
            std::ofstream(dir / s.name.substr(8), std::ios::binary)
                .write(reinterpret_cast<const char*>(bytes->data()), static_cast<std::streamsize>(bytes->size()));
        } else if (s.name == "run") {
            command = lines_of(s.body).at(0);
        } else if (s.name == "exit") {
            expected_exit = std::atoi(s.body.c_str());
        } else if (s.name == "stdout") {
            want_out = lines_of(s.body);
        } else if (s.name == "stderr") {
            want_err = lines_of(s.body);
        } else if (s.name.rfind("absent ", 0) == 0) {
            absent.push_back(s.name.substr(7));
        }
    }
    command = replace_all(command, "{examples}", argv[3]);
    command = replace_all(command, "sockfilter ", std::string(argv[2]) + " ");
    const std::string shell = fmt::format("cd '{}' && ( {} ) >stdout.txt 2>stderr.txt", dir.string(), command);
    const int status = std::system(shell.c_str());
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    const std::string out = slurp(dir / "stdout.txt");
    const std::string err = slurp(dir / "stderr.txt");
    bool ok = true;
    std::string missing;
    if (code != expected_exit) {
        fmt::print("FAIL: exit status {}, expected {}\n", code, expected_exit);
        ok = false;
    }
    if (!contains_in_order(out, want_out, missing)) {
        fmt::print("FAIL: stdout lacks: {}\n", missing);
        ok = false;
    }
    if (!contains_in_order(err, want_err, missing)) {
        fmt::print("FAIL: stderr lacks: {}\n", missing);
        ok = false;
    }
    for (const auto& a : absent) {
        if (std::filesystem::exists(dir / a)) {
            fmt::print("FAIL: {} was created\n", a);
            ok = false;
        }
    }
    if (!ok || verbose) {
        fmt::print("command: {}\n--- stdout\n{}--- stderr\n{}", command, out, err);
    }
    std::filesystem::remove_all(dir);
    return ok ? 0 : 1;
}
