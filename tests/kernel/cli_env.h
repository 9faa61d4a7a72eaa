// SPDX-License-Identifier: MIT
// Running the built `sockfilter` binary from kernel tests, and a temporary folder for the files it
// reads.
#pragma once

#include <string>

namespace sockfilter::testing {

/// What a command printed (standard output and error, interleaved) and its exit status.
struct CliResult {
    int status = -1;  ///< the exit status, or -1 when it did not exit normally
    std::string output;
};

/// Runs `sockfilter ARGS` (ARGS as a shell would split them; the binary is SF_SOCKFILTER).
[[nodiscard]] CliResult run_sockfilter(const std::string& args);

/// A fresh folder under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
public:
    TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();

    /// Writes `text` to the file `name` in the folder; returns its path.
    std::string write(const std::string& name, const std::string& text) const;
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace sockfilter::testing
