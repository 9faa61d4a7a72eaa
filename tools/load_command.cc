// SPDX-License-Identifier: MIT
// `sockfilter load PROG --pin PATH`: loads a program (with its object's maps and the other programs
// its prog arrays name) and pins it in bpffs, where bpftool or `sockfilter attach` can open it.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "kernel/bpf.h"
#include "kernel/features.h"
#include "kernel/object.h"
#include "kernel/pin.h"
#include "tools/commands.h"
#include "tools/program_input.h"

namespace sockfilter::tools {

namespace {

struct LoadArgs {
    std::string program;
    std::string program_name;
    std::string format = "auto";
    std::string pin;
};

void print_error(const Error& e) { fmt::print(stderr, "sockfilter load: {}\n", e.render()); }

int load(const LoadArgs& args) {
    auto format = parse_program_format(args.format);
    if (!format) {
        print_error(format.error());
        return kExitUsage;
    }
    auto input = read_program(args.program, *format, args.program_name);
    if (!input) {
        print_error(input.error());
        return kExitInput;
    }
    // Every program of the object, so that prog arrays hold their tail-call targets.
    kernel::ObjectLoadOptions opts;
    opts.load.log_level = 0;
    auto loaded = kernel::load_object(input->object, opts);
    if (!loaded) {
        print_error(std::move(loaded.error()).with_context(args.program));
        return kExitFailure;
    }
    const kernel::Fd& prog = loaded->programs[input->index];
    const std::string& name = input->program().name();
    auto pinned = kernel::pin(prog, args.pin);
    if (!pinned) {
        print_error(std::move(pinned.error()).with_context(fmt::format("program {}", name)));
        return kExitFailure;
    }
    // The kernel empties a prog array when its last user reference goes away, which would leave
    // the pinned program's tail calls without targets once this command exits; pinning each prog
    // array beside the program (PATH_MAP) keeps them. On failure nothing stays pinned.
    std::vector<std::string> pinned_paths{args.pin};
    for (std::size_t m = 0; m < input->object.maps.size(); ++m) {
        const program::MapSpec& spec = input->object.maps[m];
        if (spec.type != program::MapType::ProgArray || spec.initial_slots.empty()) {
            continue;
        }
        const std::string path = args.pin + "_" + spec.name;
        if (auto r = kernel::pin(loaded->maps[m].fd, path); !r) {
            for (const auto& p : pinned_paths) {
                ::unlink(p.c_str());
            }
            print_error(std::move(r.error()).with_context(fmt::format("prog array '{}'", spec.name)));
            return kExitFailure;
        }
        pinned_paths.push_back(path);
    }
    auto info = kernel::program_info(prog);
    if (!info) {
        print_error(info.error());
        return kExitFailure;
    }
    if (pinned->mounted_bpffs) {
        fmt::print("mounted a bpf filesystem at {}\n", kernel::kBpffsPath);
    }
    fmt::print("{}: program {} id {} pinned\n", args.pin, name, info->id);
    for (std::size_t i = 1; i < pinned_paths.size(); ++i) {
        fmt::print("{}: its prog array pinned\n", pinned_paths[i]);
    }
    return kExitOk;
}

}  // namespace

void add_load_command(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<LoadArgs>();
    CLI::App* cmd = app.add_subcommand("load", "Load a program into the kernel and pin it in bpffs for other tools "
                                               "to attach");
    cmd->add_option("PROG", args->program, "Program: ELF object, assembly, raw bytes, classic BPF, or a filter "
                                           "expression")->required();
    cmd->add_option("--pin", args->pin, "Where to pin the program, on a bpf filesystem (e.g. /sys/fs/bpf/myfilter)")
        ->required();
    cmd->add_option("--program", args->program_name, "Program of an ELF object to pin (its function name)");
    cmd->add_option("--format", args->format,
                    "Program format: auto, asm, raw, elf, expr, cbpf-listing, cbpf-c, cbpf-decimal, cbpf-bytecode, "
                    "bpf_asm, cbpf-raw")
        ->capture_default_str();
    cmd->callback([args, &exit_code] { exit_code = load(*args); });
}

}  // namespace sockfilter::tools
