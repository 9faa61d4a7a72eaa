// SPDX-License-Identifier: MIT
// The machinery commands share to run an object's programs in the interpreter: one Instance for the
// object's maps, one interpreter per program (so tail calls switch between them), and the
// instruction trace `--trace` prints.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "program/object.h"
#include "runtime/instance.h"
#include "runtime/load.h"
#include "runtime/skb.h"
#include "support/result.h"
#include "tools/program_input.h"
#include "vm/interpreter.h"

namespace sockfilter::tools {

/// Prints each executed instruction with the registers it changed (text, or JSON Lines objects
/// `{"trace":{"index","pc","insn","changed"}}`).
class TracePrinter final : public vm::TraceSink {
public:
    TracePrinter(const program::Program& prog, bool json) : prog_(&prog), json_(json) {}
    /// The packet index JSON steps are tagged with.
    void set_packet(std::uint64_t index) { index_ = index; }
    /// The program the next steps belong to (it changes on a tail call).
    void set_program(const program::Program& prog) { prog_ = &prog; }

    void step(const vm::TraceStep& s) override;

private:
    const program::Program* prog_;
    bool json_;
    std::uint64_t index_ = 0;
};

/// How make_engines builds the instance and loads the programs.
struct EngineOptions {
    std::uint32_t cpus = 1;
    std::uint64_t seed = 0;
    std::string map_init;            ///< a `--map-init` JSON file, or empty
    std::string privilege = "root";  ///< `--privilege`: root, bpf, none
    std::uint64_t budget = vm::Options{}.budget;
};

/// The object's programs loaded against one instance, one interpreter each (tail calls switch).
struct Engines {
    const program::Object* object = nullptr;
    std::unique_ptr<runtime::Instance> instance;
    std::vector<runtime::LoadedProgram> loaded;
    std::vector<std::unique_ptr<vm::Interpreter>> interps;

    /// Sends every interpreter's steps to `tracer` (null: none).
    void set_trace(TracePrinter* tracer);

    /// Runs program `entry` on `skb`, following tail calls; the result and the interpreter that
    /// finished (for its fault message). `tracer`, if given, is told which program runs.
    [[nodiscard]] std::pair<vm::ExecResult, const vm::Interpreter*> execute(std::size_t entry, runtime::Skb& skb,
                                                                            TracePrinter* tracer);
};

/// The runtime privilege a `--privilege` name stands for (the name is validated by the option).
[[nodiscard]] runtime::Privilege privilege_of(const std::string& name);

/// Creates the instance for `input`'s object (its maps, preloaded from `options.map_init`) and
/// loads every program against it. Errors name the map, the `--map-init` file or the program.
[[nodiscard]] Result<Engines> make_engines(const ProgramInput& input, const EngineOptions& options);

}  // namespace sockfilter::tools
