// SPDX-License-Identifier: MIT
// `sockfilter attach PROG --pid P --fd N` and `sockfilter detach --pid P --fd N`: a socket filter on a
// socket another process owns, borrowed through pidfd_getfd. The kernel keeps the program alive
// through the socket after this command exits.
#include <memory>
#include <string>

#include <fmt/core.h>

#include <cerrno>

#include "kernel/classic.h"
#include "kernel/object.h"
#include "kernel/socket.h"
#include "tools/commands.h"
#include "tools/program_input.h"

namespace sockfilter::tools {

namespace {

struct Target {
    int pid = 0;
    int fd = -1;
};

struct AttachArgs {
    std::string program;
    std::string format = "auto";
    std::string program_name;
    Target target;
    bool lock = false;
};

/// The exit code for a failure to reach or change the socket: 3 when the process or descriptor
/// does not exist or is not a socket (the command's input is wrong), 1 when the kernel refuses.
int target_exit_code(const Error& e) {
    if (e.code == Errc::InvalidArgument || e.sys_errno == ESRCH || e.sys_errno == EBADF) {
        return kExitInput;
    }
    return kExitFailure;
}

/// Locks the socket's filter if asked; the exit code.
int lock_if_asked(const AttachArgs& args, int sock) {
    if (!args.lock) {
        return kExitOk;
    }
    auto locked = kernel::lock_filter(sock);
    if (!locked) {
        fmt::print(stderr, "sockfilter attach: fd {} of process {}: {}\n", args.target.fd, args.target.pid,
                   locked.error().render());
        return kExitFailure;
    }
    fmt::print("locked: the filter can no longer be replaced or removed\n");
    return kExitOk;
}

/// A classic program goes to the kernel as it is, with SO_ATTACH_FILTER (no bpf() needed; the
/// kernel converts it itself, and SO_GET_FILTER / dump-filter read it back).
int attach_classic(const AttachArgs& args, const cbpf::Filter& filter, int sock) {
    auto attached = kernel::attach_filter(sock, filter);
    if (!attached) {
        fmt::print(stderr, "sockfilter attach: fd {} of process {}: {}\n", args.target.fd, args.target.pid,
                   attached.error().render());
        return kExitFailure;
    }
    fmt::print("attached the classic filter of {} ({} instructions, SO_ATTACH_FILTER) to fd {} of process {}\n",
               args.program, filter.size(), args.target.fd, args.target.pid);
    return lock_if_asked(args, sock);
}

int attach_main(const AttachArgs& args) {
    auto format = parse_program_format(args.format);
    if (!format) {
        fmt::print(stderr, "sockfilter attach: {}\n", format.error().render());
        return kExitUsage;
    }
    auto input = read_program(args.program, *format, args.program_name);
    if (!input) {
        fmt::print(stderr, "sockfilter attach: {}\n", input.error().render());
        return kExitInput;
    }
    auto sock = kernel::socket_of_process(args.target.pid, args.target.fd);
    if (!sock) {
        fmt::print(stderr, "sockfilter attach: {}\n", sock.error().render());
        return target_exit_code(sock.error());
    }
    if (input->classic) {
        return attach_classic(args, *input->classic, sock->get());
    }
    // Every program, so that tail calls through the object's prog arrays reach them.
    auto loaded = kernel::load_object(input->object);
    if (!loaded) {
        fmt::print(stderr, "sockfilter attach: {}\n", std::move(loaded.error()).with_context(args.program).render());
        return kExitInput;
    }
    const std::string& name = input->program().name();
    auto attached = kernel::attach_bpf(sock->get(), loaded->programs[input->index]);
    if (!attached) {
        fmt::print(stderr, "sockfilter attach: fd {} of process {}: {}\n", args.target.fd, args.target.pid,
                   attached.error().render());
        return kExitFailure;
    }
    fmt::print("attached {} to fd {} of process {}\n", name, args.target.fd, args.target.pid);
    if (const int locked = lock_if_asked(args, sock->get()); locked != kExitOk) {
        return locked;
    }
    for (std::size_t i = 0; i < input->object.maps.size(); ++i) {
        const program::MapSpec& m = input->object.maps[i];
        if (m.type == program::MapType::ProgArray && !m.initial_slots.empty()) {
            fmt::print(stderr,
                       "sockfilter attach: warning: prog array \"{}\" is emptied when this command exits (the "
                       "kernel clears a prog array when its last user reference closes), so tail calls through it "
                       "fall through from then on\n",
                       m.name);
        }
    }
    return kExitOk;
}

int detach_main(const Target& target) {
    auto sock = kernel::socket_of_process(target.pid, target.fd);
    if (!sock) {
        fmt::print(stderr, "sockfilter detach: {}\n", sock.error().render());
        return target_exit_code(sock.error());
    }
    auto done = kernel::detach_filter(sock->get());
    if (!done) {
        fmt::print(stderr, "sockfilter detach: fd {} of process {}: {}\n", target.fd, target.pid,
                   done.error().render());
        return kExitFailure;
    }
    fmt::print("detached the filter of fd {} of process {}\n", target.fd, target.pid);
    return kExitOk;
}

void add_target_options(CLI::App& cmd, Target& target) {
    cmd.add_option("--pid", target.pid, "The process that owns the socket")->required();
    cmd.add_option("--fd", target.fd, "The socket's file descriptor number in that process (see /proc/PID/fd)")
        ->required();
}

}  // namespace

void add_attach_commands(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<AttachArgs>();
    auto* attach = app.add_subcommand("attach", "Load a program into the kernel and attach it to a process's socket");
    attach->add_option("PROG", args->program,
                        "Program: a BPF ELF object, eBPF assembly, raw instruction bytes, or classic BPF (attached "
                        "as it is with SO_ATTACH_FILTER)")
        ->required();
    add_target_options(*attach, args->target);
    attach->add_option("--program", args->program_name, "Program of an ELF object to attach (its function name)");
    attach->add_option("--format", args->format,
                       "Program format: auto, asm, raw, elf, cbpf-listing, cbpf-c, cbpf-decimal, cbpf-bytecode, "
                       "bpf_asm, cbpf-raw")
        ->capture_default_str();
    attach->add_flag("--lock", args->lock, "Lock the filter (SO_LOCK_FILTER): it cannot be replaced or removed");
    attach->footer("Needs bpf() (CAP_BPF; not for classic programs) and ptrace access to the process (same user, or "
                   "CAP_SYS_PTRACE). Exit "
                   "status 3 when the process or descriptor does not exist, is not a socket, or the program does "
                   "not load; 1 when the kernel refuses the attachment.");
    attach->callback([args, &exit_code] { exit_code = attach_main(*args); });

    auto target = std::make_shared<Target>();
    auto* detach = app.add_subcommand("detach", "Remove the filter of a process's socket");
    add_target_options(*detach, *target);
    detach->footer("Exit status 3 when the process or descriptor does not exist or is not a socket; 1 when the "
                   "socket has no filter or its filter is locked.");
    detach->callback([target, &exit_code] { exit_code = detach_main(*target); });
}

}  // namespace sockfilter::tools
