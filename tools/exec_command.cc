// SPDX-License-Identifier: MIT
// `sockfilter exec`: the bpf_conformance plugin protocol. The program arrives as hex bytes on
// standard input, the memory as hex bytes in the first argument; r0 is printed in hex. A program
// that fails to load or faults prints the reason and exits 1.
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "runtime/load.h"
#include "support/bytes.h"
#include "tools/commands.h"
#include "vm/interpreter.h"

namespace sockfilter::tools {

namespace {

int exec_main(const std::string& memory_hex) {
    const std::string program_hex((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    auto bytes = parse_hex(program_hex);
    if (!bytes) {
        fmt::print("{}\n", std::move(bytes.error()).with_context("program").render());
        return kExitFailure;
    }
    auto memory = parse_hex(memory_hex);
    if (!memory) {
        fmt::print("{}\n", std::move(memory.error()).with_context("memory").render());
        return kExitFailure;
    }
    auto prog = program::Program::from_bytes("stdin", *bytes);
    if (!prog) {
        fmt::print("{}\n", prog.error().render());
        return kExitFailure;
    }
    auto loaded = runtime::load(*prog, runtime::raw_env());
    if (!loaded) {
        fmt::print("{}\n", loaded.error().render());
        return kExitFailure;
    }
    vm::Interpreter interp(*loaded);
    vm::RunInput input;
    input.mem = *memory;
    const vm::ExecResult r = interp.run(input);
    if (r.status != vm::ExecStatus::Ok) {
        fmt::print("{}\n", interp.fault_message());
        return kExitFailure;
    }
    fmt::print("{:x}\n", r.r0);
    return kExitOk;
}

}  // namespace

void add_exec_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand(
        "exec", "Run a program given as hex on stdin in raw mode (the bpf_conformance plugin protocol)");
    cmd->footer(
        "r1 points to a writable copy of MEMORY, r2 holds its length, helper 5 is the conformance "
        "'unwind' helper. Prints r0 in hex; on a load error or a fault prints the reason and exits 1. "
        "Use scripts/conformance-plugin.sh as bpf_conformance's --plugin_path.");
    auto memory = std::make_shared<std::string>();
    auto options = std::make_shared<std::string>();
    cmd->add_option("MEMORY", *memory, "Memory contents as hex bytes (may be empty)");
    cmd->add_option("OPTIONS", *options, "Plugin options from the conformance runner (none are defined; ignored)");
    cmd->callback([memory, &exit_code] { exit_code = exec_main(*memory); });
}

}  // namespace sockfilter::tools
