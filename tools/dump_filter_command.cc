// SPDX-License-Identifier: MIT
// `sockfilter dump-filter --pid P --fd N`: the classic filter attached to a socket of another
// process, read back with SO_GET_FILTER through a descriptor borrowed with pidfd_getfd.
#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/core.h>

#include "cbpf/text.h"
#include "kernel/classic.h"
#include "kernel/socket.h"
#include "support/bytes.h"
#include "tools/commands.h"

namespace sockfilter::tools {

namespace {

struct DumpFilterOptions {
    int pid = 0;
    int fd = -1;
    std::string to = "listing";
    std::string output = "-";
};

int complain(const std::string& message, int code) {
    fmt::print(stderr, "sockfilter dump-filter: {}\n", message);
    return code;
}

int run_dump_filter(const DumpFilterOptions& o) {
    const bool raw = o.to == "raw";
    auto format = cbpf::parse_text_format(o.to);
    if (!raw && !format) {
        return complain(fmt::format("--to {}: expected listing, c, decimal, bytecode, bpf_asm or raw", o.to),
                        kExitUsage);
    }
    auto sock = kernel::socket_of_process(o.pid, o.fd);
    if (!sock) {
        // A process or descriptor that does not exist, or is no socket, is wrong input; a refusal
        // (ptrace access) is a failure of the job.
        const Error& e = sock.error();
        const bool input = e.code == Errc::InvalidArgument || e.sys_errno == ESRCH || e.sys_errno == EBADF;
        return complain(e.render(), input ? kExitInput : kExitFailure);
    }
    auto got = kernel::get_filter(sock->get());
    if (!got) {
        return complain(fmt::format("fd {} of process {}: {}", o.fd, o.pid, got.error().render()), kExitFailure);
    }
    switch (got->kind) {
        case kernel::SocketFilter::Kind::None:
            return complain(fmt::format("fd {} of process {}: the socket has no filter", o.fd, o.pid), kExitFailure);
        case kernel::SocketFilter::Kind::Ebpf:
            return complain(fmt::format("fd {} of process {}: the socket's filter is an eBPF program (SO_ATTACH_BPF); "
                                        "SO_GET_FILTER returns only classic filters (EACCES)",
                                        o.fd, o.pid),
                            kExitFailure);
        case kernel::SocketFilter::Kind::Classic: break;
    }
    std::vector<std::uint8_t> out;
    if (raw) {
        out = cbpf::to_bytes(got->filter);
    } else {
        const std::string text = cbpf::write_text(got->filter, *format);
        out.assign(text.begin(), text.end());
    }
    if (o.output == "-") {
        if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
            return complain("cannot write to standard output", kExitFailure);
        }
        return kExitOk;
    }
    if (auto w = write_file_atomic(o.output, out); !w) {
        return complain(w.error().render(), kExitFailure);
    }
    return kExitOk;
}

}  // namespace

void add_dump_filter_command(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<DumpFilterOptions>();
    CLI::App* cmd = app.add_subcommand(
        "dump-filter", "Print the classic BPF filter attached to a socket of a process (SO_GET_FILTER)");
    cmd->add_option("--pid", opts->pid, "The process that owns the socket")->required();
    cmd->add_option("--fd", opts->fd, "The socket's file descriptor number in that process (see /proc/PID/fd)")
        ->required();
    cmd->add_option("--to", opts->to, "listing (default), c, decimal, bytecode, bpf_asm, or raw sock_filter records");
    cmd->add_option("-o,--output", opts->output, "Output file ('-' = standard output)");
    cmd->callback([opts, &exit_code] { exit_code = run_dump_filter(*opts); });
}

}  // namespace sockfilter::tools
