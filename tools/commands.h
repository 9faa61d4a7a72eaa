// SPDX-License-Identifier: MIT
// The subcommands of `sockfilter`; each file under tools/ adds one or more to the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>

namespace sockfilter::tools {

/// Exit codes of every command (docs/CLI.md).
enum ExitCode : int {
    kExitOk = 0,        ///< success
    kExitFailure = 1,   ///< the job ran and found a failure (a faulting run, a divergence)
    kExitUsage = 2,     ///< bad command line
    kExitInput = 3,     ///< unreadable or invalid input (program, capture, file)
};

/// Each add_* registers a subcommand; when it runs, it stores its exit code in `exit_code`.
void add_run_command(CLI::App& app, int& exit_code);
void add_asm_commands(CLI::App& app, int& exit_code);  // asm, disasm
void add_exec_command(CLI::App& app, int& exit_code);
void add_inspect_command(CLI::App& app, int& exit_code);
void add_convert_command(CLI::App& app, int& exit_code);
void add_dump_filter_command(CLI::App& app, int& exit_code);
void add_compile_command(CLI::App& app, int& exit_code);
void add_verify_command(CLI::App& app, int& exit_code);
void add_load_command(CLI::App& app, int& exit_code);
void add_probe_command(CLI::App& app, int& exit_code);
void add_attach_commands(CLI::App& app, int& exit_code);  // attach, detach
void add_diff_command(CLI::App& app, int& exit_code);

}  // namespace sockfilter::tools
