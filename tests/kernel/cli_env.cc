// SPDX-License-Identifier: MIT
// run_sockfilter through popen; TempDir through mkdtemp and std::filesystem.
#include "cli_env.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace sockfilter::testing {

CliResult run_sockfilter(const std::string& args) {
    CliResult out;
    const std::string cmd = std::string("'") + SF_SOCKFILTER + "' " + args + " 2>&1";
    FILE* pipe = ::popen(cmd.c_str(), "r");
    if (pipe == nullptr) {
        out.output = "cannot run " + cmd;
        return out;
    }
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) {
        out.output.append(buf, n);
    }
    const int status = ::pclose(pipe);
    out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

TempDir::TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base != nullptr ? base : "/tmp") + "/sockfilter-test-XXXXXX";
    if (::mkdtemp(templ.data()) != nullptr) {
        path_ = templ;
    }
}

TempDir::~TempDir() {
    if (!path_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
    const std::string file = path_ + "/" + name;
    std::ofstream(file) << text;
    return file;
}

}  // namespace sockfilter::testing
