// SPDX-License-Identifier: MIT
// `sockfilter`: one command, with subcommands, over the libsockfilter components.
#include <cstdio>

#include <fmt/core.h>

#include "tools/commands.h"

int main(int argc, char** argv) {
    using namespace sockfilter::tools;
    CLI::App app{"sockfilter: run, inspect and test Linux BPF socket filters outside the kernel"};
    app.set_version_flag("--version", "sockfilter 0.1.0");
    app.require_subcommand(1);
    app.footer("Run `sockfilter COMMAND --help` for a command's options. Exit codes: 0 success, 1 a run faulted "
               "or a check failed, 2 bad command line, 3 unreadable or invalid input.");
    int exit_code = kExitOk;
    add_run_command(app, exit_code);
    add_asm_commands(app, exit_code);
    add_exec_command(app, exit_code);
    add_inspect_command(app, exit_code);
    add_convert_command(app, exit_code);
    add_dump_filter_command(app, exit_code);
    add_compile_command(app, exit_code);
    add_verify_command(app, exit_code);
    add_load_command(app, exit_code);
    add_probe_command(app, exit_code);
    add_attach_commands(app, exit_code);
    add_diff_command(app, exit_code);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return kExitUsage;
    }
    std::fflush(stdout);
    return exit_code;
}
