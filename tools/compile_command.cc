// SPDX-License-Identifier: MIT
// `sockfilter compile EXPR`: a tcpdump filter expression compiled to an eBPF socket filter
// (lib/filter), printed as assembly (-d), a C array of struct bpf_insn (-dd) or decimal (-ddd), or
// written as an ELF object (-o) that libbpf and `bpftool prog load` accept.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/core.h>

#include "asm/assembler.h"
#include "elf/writer.h"
#include "filter/compile.h"
#include "support/bytes.h"
#include "tools/commands.h"

namespace sockfilter::tools {
namespace {

struct CompileOptions {
    std::string expr;
    std::string linktype = "EN10MB";
    std::string socket;
    std::uint32_t snaplen = 262144;
    std::string output;
    int dump = 0;
    bool stats = false;
};

int run_compile(const CompileOptions& o) {
    auto lt = filter::parse_linktype(o.linktype);
    if (!lt) {
        fmt::print(stderr, "sockfilter: {}\n", lt.error().render());
        return kExitUsage;
    }
    filter::Options opt;
    opt.linktype = *lt;
    opt.socket = filter::default_socket(*lt);
    opt.snaplen = o.snaplen;
    if (!o.socket.empty()) {
        auto s = filter::parse_socket(o.socket);
        if (!s) {
            fmt::print(stderr, "sockfilter: {}\n", s.error().render());
            return kExitUsage;
        }
        opt.socket = *s;
    }
    auto prog = filter::compile(o.expr, opt);
    if (!prog) {
        fmt::print(stderr, "sockfilter: {}\n", prog.error().render());
        return kExitInput;
    }
    const auto slots = prog->slots();
    if (!o.output.empty()) {
        program::Object obj;
        obj.path = o.output;
        obj.license = "GPL";
        obj.programs.push_back(program::ObjectProgram{*prog, "socket", {}});
        auto bytes = elf::write_object(obj);
        if (!bytes) {
            fmt::print(stderr, "sockfilter: {}\n", bytes.error().render());
            return kExitFailure;
        }
        if (auto w = write_file_atomic(o.output, *bytes); !w) {
            fmt::print(stderr, "sockfilter: {}\n", w.error().render());
            return kExitFailure;
        }
    }
    switch (o.output.empty() ? std::max(o.dump, 1) : o.dump) {
        case 0: break;
        case 1: fmt::print("{}", assembler::disassemble(*prog, assembler::Syntax::Kernel, {.pc = true})); break;
        case 2:
            for (const auto& s : slots) {
                fmt::print("{{ .code = 0x{:02x}, .dst_reg = {}, .src_reg = {}, .off = {}, .imm = {:#x} }},\n", s.opcode,
                           s.dst, s.src, s.off, static_cast<std::uint32_t>(s.imm));
            }
            break;
        default:
            fmt::print("{}\n", slots.size());
            for (const auto& s : slots) {
                fmt::print("{} {} {} {} {}\n", s.opcode, s.dst, s.src, s.off, s.imm);
            }
            break;
    }
    if (o.stats) {
        fmt::print(stderr, "{} instructions ({} bytes) for {} on a {} socket\n", slots.size(), slots.size() * 8,
                   filter::linktype_name(opt.linktype), opt.socket == filter::Socket::Packet ? "packet" : "packet-dgram");
    }
    return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
}

}  // namespace

void add_compile_command(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<CompileOptions>();
    auto* cmd = app.add_subcommand("compile", "Compile a tcpdump filter expression to an eBPF socket filter");
    cmd->add_option("EXPR", opts->expr, "The filter expression (pcap-filter(7); one argument, quote it)")->required();
    cmd->add_option("-y,--linktype", opts->linktype,
                    "Link type of the packets: EN10MB (default), LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP");
    cmd->add_option("--socket", opts->socket,
                    "packet (offset 0 = link header; default for EN10MB, RAW, IPV4, IPV6) or packet-dgram (network "
                    "header; default for the others)");
    cmd->add_option("-s,--snaplen", opts->snaplen, "What a match returns: the bytes to keep (default 262144)");
    cmd->add_option("-o,--output", opts->output,
                    "Write an ELF object (section \"socket\", program \"filter\", license GPL) that libbpf and "
                    "bpftool prog load accept; nothing is printed unless -d is given too");
    cmd->add_flag("-d", opts->dump, "Print the program: -d assembly (default), -dd C array, -ddd decimal");
    cmd->add_flag("--stats", opts->stats, "Print the instruction count on standard error");
    cmd->callback([opts, &exit_code] { exit_code = run_compile(*opts); });
}

}  // namespace sockfilter::tools
