// SPDX-License-Identifier: MIT
// Engines: the instance, the loaded programs and their interpreters; the trace printer.
#include "tools/engines.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "asm/assembler.h"
#include "runtime/helpers.h"
#include "tools/maps_output.h"

namespace sockfilter::tools {

void TracePrinter::step(const vm::TraceStep& s) {
    const std::string text =
        assembler::format_insn(prog_->slots(), s.pc, prog_->op(s.pc), assembler::Syntax::Kernel);
    if (json_) {
        nlohmann::ordered_json changed = nlohmann::ordered_json::object();
        for (int r = 0; r <= 10; ++r) {
            if (s.before[r] != s.after[r]) {
                changed[fmt::format("r{}", r)] = fmt::format("{:#x}", s.after[r]);
            }
        }
        nlohmann::ordered_json j;
        j["trace"] = {{"index", index_}, {"pc", s.pc}, {"insn", text}, {"changed", changed}};
        fmt::print("{}\n", j.dump());
        return;
    }
    std::string line = fmt::format("    {:4}: {:<40}", s.pc, text);
    for (int r = 0; r <= 10; ++r) {
        if (s.before[r] != s.after[r]) {
            line += fmt::format(" r{}={:#x}", r, s.after[r]);
        }
    }
    fmt::print("{}\n", line);
}

void Engines::set_trace(TracePrinter* tracer) {
    for (auto& interp : interps) {
        interp->set_trace(tracer);
    }
}

std::pair<vm::ExecResult, const vm::Interpreter*> Engines::execute(std::size_t entry, runtime::Skb& skb,
                                                                   TracePrinter* tracer) {
    vm::RunInput in;
    in.skb = &skb;
    std::size_t cur = entry;
    for (;;) {
        vm::Interpreter& interp = *interps[cur];
        instance->set_running_program(cur);
        if (tracer != nullptr) {
            tracer->set_program(object->programs[cur].program);
        }
        const vm::ExecResult r = interp.run(in);
        if (r.status != vm::ExecStatus::TailCall) {
            return {r, &interp};
        }
        cur = static_cast<std::size_t>(r.r0);
    }
}

runtime::Privilege privilege_of(const std::string& name) {
    return name == "none" ? runtime::Privilege::None
           : name == "bpf" ? runtime::Privilege::Bpf
                           : runtime::Privilege::Root;
}

Result<Engines> make_engines(const ProgramInput& input, const EngineOptions& options) {
    Engines e;
    e.object = &input.object;
    std::vector<std::string> names;
    for (const auto& p : input.object.programs) {
        names.push_back(p.program.name());
    }
    runtime::InstanceOptions io;
    io.cpus = options.cpus;
    io.seed = options.seed;
    auto inst = runtime::Instance::create(input.object.maps, names, io);
    if (!inst) {
        return tl::unexpected(std::move(inst.error()));
    }
    e.instance = std::move(*inst);
    if (!options.map_init.empty()) {
        auto done = init_maps(*e.instance, options.map_init);
        if (!done) {
            return tl::unexpected(std::move(done.error()).with_context("--map-init"));
        }
    }
    runtime::Environment env = runtime::socket_filter_env();
    env.helpers = &runtime::socket_filter_helpers(privilege_of(options.privilege));
    env.instance = e.instance.get();
    env.kfuncs = input.object.kfuncs;
    vm::Options vo;
    vo.budget = options.budget;
    e.loaded.reserve(input.object.programs.size());
    for (const auto& p : input.object.programs) {
        auto loaded = runtime::load(p.program, env);
        if (!loaded) {
            return tl::unexpected(std::move(loaded.error()).with_context(p.program.name()));
        }
        e.loaded.push_back(*loaded);
        e.interps.push_back(std::make_unique<vm::Interpreter>(e.loaded.back(), vo));
    }
    return e;
}

}  // namespace sockfilter::tools
