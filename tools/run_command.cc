// SPDX-License-Identifier: MIT
// `sockfilter run PROG -r FILE`: the program on every packet of a capture, as a socket of the chosen
// kind would run it; a verdict per packet, a summary, optionally the kept packets as a capture.
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "filter/compile.h"
#include "pcap/reader.h"
#include "pcap/writer.h"
#include "runtime/instance.h"
#include "runtime/maps/ringbuf.h"
#include "runtime/packet.h"
#include "support/bytes.h"
#include "tools/commands.h"
#include "tools/engines.h"
#include "tools/maps_output.h"
#include "tools/program_input.h"
#include "vm/interpreter.h"

namespace sockfilter::tools {

namespace {

struct RunArgs {
    std::string program;
    std::string read;
    std::string packet_hex;
    std::string write;
    std::string socket = "packet";
    std::string ctx;
    std::string format = "auto";
    std::string program_name;
    bool json = false;
    bool trace = false;
    bool maps = false;
    EngineOptions engine;
};

struct Totals {
    std::uint64_t packets = 0;
    std::uint64_t kept = 0;
    std::uint64_t kept_bytes = 0;
    std::uint64_t dropped = 0;
    std::uint64_t skipped = 0;
    std::uint64_t faulted = 0;
};

std::string format_time(std::int64_t sec, std::int64_t nsec) {
    std::time_t t = static_cast<std::time_t>(sec);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return fmt::format("{:02}:{:02}:{:02}.{:09}", tm.tm_hour, tm.tm_min, tm.tm_sec, nsec);
}

void print_error(const Error& e) { fmt::print(stderr, "sockfilter run: {}\n", e.render()); }

/// Bytes of the captured frame a kept length covers: the headers in front of offset 0 stay so the
/// written file parses, and a VLAN tag the kernel moved out is put back as libpcap does.
std::size_t kept_in_frame(const pcap::Frame& frame, const runtime::Skb& skb, std::uint32_t kept) {
    const std::size_t prefix = frame.bytes.size() - skb.len();
    if (skb.data == 0 && prefix > 0 && kept < 12) {
        return kept;
    }
    return std::min(frame.bytes.size(), prefix + kept);
}

struct Runner {
    const RunArgs& args;
    Engines& engines;
    std::size_t entry;
    runtime::SocketKind kind;
    TracePrinter* tracer;
    pcap::Writer* writer;
    Totals totals;

    /// Fires every bpf_timer due at the current virtual time, earliest first, with the kernel's
    /// callback arguments (map, key, value); a faulting callback is reported and firing goes on.
    void fire_timers() {
        runtime::Instance& inst = *engines.instance;
        for (const runtime::DueTimer& due : inst.due_timers(inst.now_ns())) {
            const auto call = inst.start_timer_callback(due);
            if (!call) {
                continue;
            }
            vm::Interpreter& interp = *engines.interps[call->program];
            inst.set_running_program(call->program);
            const vm::ExecResult r = interp.call_function(call->callback, call->map_handle, call->key, call->value, 0, 0);
            inst.finish_timer_callback();
            if (r.status != vm::ExecStatus::Ok) {
                fmt::print(stderr, "timer callback at {}: fault: {}\n", due.expires, interp.fault_message());
            }
        }
    }

    /// Prints what helpers produced during the last packet (trace_printk lines, ring-buffer and
    /// perf-event records, in order), and consumes the ring buffers as a reader would, so that a
    /// long capture does not fill them.
    void outputs() {
        for (std::size_t m = 0; m < engines.instance->map_count(); ++m) {
            if (auto* rb = runtime::map_as<runtime::RingbufMap>(engines.instance->map(m))) {
                while (rb->consume()) {
                }
            }
        }
        for (const runtime::Output& o : engines.instance->take_outputs()) {
            const char* kind = o.kind == runtime::Output::Kind::TracePrintk ? "trace_printk"
                               : o.kind == runtime::Output::Kind::Ringbuf  ? "ringbuf"
                                                                            : "perf_event";
            if (args.json) {
                nlohmann::ordered_json j;
                j["output"] = {{"index", o.packet}, {"kind", kind}};
                if (o.kind == runtime::Output::Kind::TracePrintk) {
                    j["output"]["text"] = o.text;
                } else {
                    j["output"]["map"] = engines.instance->map_name(o.map);
                    j["output"]["data"] = to_hex(o.bytes);
                }
                fmt::print("{}\n", j.dump());
            } else if (o.kind == runtime::Output::Kind::TracePrintk) {
                fmt::print("    trace_printk: {}\n", o.text);
            } else {
                fmt::print("    {} {}: {}\n", kind, engines.instance->map_name(o.map), to_hex(o.bytes, " "));
            }
        }
    }

    /// One packet; returns an error only for output failures.
    Result<void> packet(std::uint64_t index, const pcap::Frame& frame, Result<runtime::Skb> skb) {
        ++totals.packets;
        const std::string time = format_time(frame.ts_sec, frame.ts_nsec);
        nlohmann::ordered_json j;
        j["index"] = index;
        j["ts_sec"] = frame.ts_sec;
        j["ts_nsec"] = frame.ts_nsec;
        j["len"] = frame.orig_len;
        if (!skb) {
            ++totals.skipped;
            const std::string why = skb.error().render();
            if (args.json) {
                j["ret"] = nullptr;
                j["kept"] = 0;
                j["skipped"] = why;
                fmt::print("{}\n", j.dump());
            } else {
                fmt::print("#{} {} {} bytes: not delivered: {}\n", index, time, frame.orig_len, why);
            }
            return {};
        }
        if (tracer != nullptr) {
            tracer->set_packet(index);
        }
        engines.instance->set_packet(index);
        engines.instance->set_now_ns(static_cast<std::uint64_t>(frame.ts_sec) * 1'000'000'000U +
                                     static_cast<std::uint64_t>(frame.ts_nsec));
        fire_timers();
        const auto [r, interp] = engines.execute(entry, *skb, tracer);
        outputs();
        if (r.status != vm::ExecStatus::Ok) {
            ++totals.faulted;
            if (args.json) {
                j["ret"] = nullptr;
                j["kept"] = 0;
                j["error"] = interp->fault_message();
                fmt::print("{}\n", j.dump());
            } else {
                fmt::print("#{} {} {} bytes: fault: {}\n", index, time, frame.orig_len, interp->fault_message());
            }
            return {};
        }
        const auto ret = static_cast<std::uint32_t>(r.r0);
        const std::uint32_t kept = runtime::kept_bytes(*skb, ret);
        if (kept == 0) {
            ++totals.dropped;
        } else {
            ++totals.kept;
            totals.kept_bytes += kept;
        }
        if (args.json) {
            j["ret"] = ret;
            j["kept"] = kept;
            fmt::print("{}\n", j.dump());
        } else if (kept == 0) {
            fmt::print("#{} {} {} bytes: dropped (ret 0)\n", index, time, frame.orig_len);
        } else {
            fmt::print("#{} {} {} bytes: kept {} of {} (ret {:#x})\n", index, time, frame.orig_len, kept, skb->len(),
                       ret);
        }
        if (writer != nullptr && kept != 0) {
            pcap::Frame out = frame;
            out.bytes.resize(kept_in_frame(frame, *skb, kept));
            return writer->write(out);
        }
        return {};
    }

    void summary() const {
        if (args.json) {
            nlohmann::ordered_json j;
            j["summary"] = {{"packets", totals.packets}, {"kept", totals.kept},
                            {"kept_bytes", totals.kept_bytes}, {"dropped", totals.dropped},
                            {"not_delivered", totals.skipped}, {"faulted", totals.faulted}};
            fmt::print("{}\n", j.dump());
            return;
        }
        fmt::print("{} packets: {} kept ({} bytes), {} dropped, {} not delivered to a {} socket, {} faulted\n",
                   totals.packets, totals.kept, totals.kept_bytes, totals.dropped, totals.skipped,
                   runtime::socket_kind_name(kind), totals.faulted);
    }
};

/// How a filter expression given as PROG compiles: for the capture's link type and the socket
/// run simulates. A packet socket of a link type whose header no socket sees (cooked, NULL, LOOP)
/// starts at the network header, as make_skb builds it; test-run starts at the network header of
/// an Ethernet frame. raw, udp and tcp sockets start past the headers the language is about.
ExpressionTarget expression_target(int linktype, runtime::SocketKind kind) {
    ExpressionTarget t;
    auto lt = filter::parse_linktype(std::to_string(linktype));
    if (!lt) {
        t.refusal = lt.error().message;
        return t;
    }
    t.options.linktype = *lt;
    switch (kind) {
        case runtime::SocketKind::Packet: t.options.socket = filter::default_socket(*lt); break;
        case runtime::SocketKind::PacketDgram:
        case runtime::SocketKind::TestRun: t.options.socket = filter::Socket::PacketDgram; break;
        case runtime::SocketKind::Raw:
        case runtime::SocketKind::Udp:
        case runtime::SocketKind::Tcp:
            t.refusal = fmt::format("a filter expression runs on packet, packet-dgram and test-run sockets, not on "
                                    "--socket {} (offset 0 there is past the headers it tests)",
                                    runtime::socket_kind_name(kind));
            break;
    }
    return t;
}

int run_main(const RunArgs& args) {
    auto format = parse_program_format(args.format);
    auto kind = runtime::parse_socket_kind(args.socket);
    auto overrides = runtime::parse_ctx_overrides(args.ctx);
    for (const Error* e : {format ? nullptr : &format.error(), kind ? nullptr : &kind.error(),
                           overrides ? nullptr : &overrides.error()}) {
        if (e != nullptr) {
            print_error(*e);
            return kExitUsage;
        }
    }
    if (args.read.empty() == args.packet_hex.empty()) {
        fmt::print(stderr, "sockfilter run: give exactly one of -r FILE or --packet HEX\n");
        return kExitUsage;
    }
    if (args.engine.cpus == 0 || args.engine.cpus > 1024) {
        fmt::print(stderr, "sockfilter run: --cpus must be 1 to 1024\n");
        return kExitUsage;
    }
    // The capture is opened first: its link type decides how a filter expression compiles.
    std::optional<pcap::Reader> reader;
    if (!args.read.empty()) {
        auto r = pcap::Reader::open(args.read);
        if (!r) {
            print_error(r.error());
            return kExitInput;
        }
        reader.emplace(std::move(*r));
    }
    const auto expr = expression_target(reader ? reader->linktype() : runtime::dlt::kEn10mb, *kind);
    auto input = read_program(args.program, *format, args.program_name, expr);
    if (!input) {
        print_error(input.error());
        return kExitInput;
    }
    auto engines = make_engines(*input, args.engine);
    if (!engines) {
        print_error(std::move(engines.error()).with_context(args.program));
        return kExitInput;
    }
    std::unique_ptr<TracePrinter> tracer;
    if (args.trace) {
        tracer = std::make_unique<TracePrinter>(input->program(), args.json);
        engines->set_trace(tracer.get());
    }
    Runner runner{args, *engines, input->index, *kind, tracer.get(), nullptr, {}};
    auto finish = [&]() {
        runner.summary();
        if (args.maps) {
            const auto btf = BtfFormatter::create(input->object.btf);
            print_maps(*engines->instance, args.json, btf.get());
        }
        return runner.totals.faulted == 0 ? kExitOk : kExitFailure;
    };

    if (!args.packet_hex.empty()) {
        auto bytes = parse_hex(args.packet_hex);
        if (!bytes) {
            print_error(std::move(bytes.error()).with_context("--packet"));
            return kExitInput;
        }
        pcap::Frame frame;
        frame.bytes = *bytes;
        frame.orig_len = static_cast<std::uint32_t>(bytes->size());
        auto skb = runtime::make_skb_from_hex(args.packet_hex, *kind, *overrides);
        if (!skb) {
            print_error(std::move(skb.error()).with_context("--packet"));
            return kExitInput;
        }
        auto done = runner.packet(0, frame, std::move(skb));
        if (!done) {
            print_error(done.error());
            return kExitInput;
        }
        return finish();
    }

    std::optional<pcap::Writer> writer;
    if (!args.write.empty()) {
        auto w = pcap::Writer::create(args.write, reader->linktype(), reader->snaplen());
        if (!w) {
            print_error(w.error());
            return kExitInput;
        }
        writer.emplace(std::move(*w));
        runner.writer = &*writer;
    }
    for (std::uint64_t index = 0;; ++index) {
        auto frame = reader->next();
        if (!frame) {
            print_error(frame.error());
            return kExitInput;
        }
        if (!frame->has_value()) {
            break;
        }
        const pcap::Frame& f = **frame;
        auto done = runner.packet(index, f, runtime::make_skb(f.bytes, reader->linktype(), *kind, *overrides));
        if (!done) {
            print_error(done.error());
            return kExitInput;
        }
    }
    if (writer) {
        auto closed = writer->close();
        if (!closed) {
            print_error(closed.error());
            return kExitInput;
        }
    }
    return finish();
}

}  // namespace

void add_run_command(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<RunArgs>();
    auto* cmd = app.add_subcommand("run", "Run a socket filter on every packet of a capture");
    cmd->add_option("PROG", args->program,
                    "Program: a BPF ELF object, eBPF assembly (either syntax), raw instruction bytes, classic BPF, or a "
                    "tcpdump filter expression (an argument that names no file; quote it)")
        ->required();
    auto* read = cmd->add_option("-r,--read", args->read, "Capture to read (pcap or pcapng)");
    cmd->add_option("--packet", args->packet_hex, "One Ethernet frame as hex, instead of -r")->excludes(read);
    cmd->add_option("-w,--write", args->write, "Write the kept packets, trimmed as the kernel would, to this pcap");
    cmd->add_option("--socket", args->socket,
                    "Socket the packets arrive on: packet, packet-dgram, raw, udp, tcp, test-run")
        ->capture_default_str();
    cmd->add_option("--ctx", args->ctx, "Metadata a capture does not carry: mark=1,ifindex=3,cb0=7,...");
    cmd->add_option("--format", args->format,
                    "Program format: auto, asm, raw, elf, expr (a filter expression; auto takes an argument that "
                    "names no file as one), cbpf-listing, cbpf-c, cbpf-decimal, cbpf-bytecode, bpf_asm, cbpf-raw")
        ->capture_default_str();
    cmd->add_option("--program", args->program_name, "Program of an ELF object to run (its function name)");
    cmd->add_flag("--maps", args->maps, "Print every map's contents after the run");
    cmd->add_option("--map-init", args->engine.map_init,
                    "Preload maps from JSON: {\"map\": [{\"key\": \"hex\", \"value\": \"hex\"}, ...], ...}");
    cmd->add_option("--privilege", args->engine.privilege,
                    "The loader's privilege, which decides the helpers a program may call: root (CAP_BPF and "
                    "CAP_PERFMON), bpf (CAP_BPF only), none (unprivileged)")
        ->check(CLI::IsMember({"root", "bpf", "none"}))
        ->capture_default_str();
    cmd->add_option("--seed", args->engine.seed, "Seed of bpf_get_prandom_u32 and hash maps")->capture_default_str();
    cmd->add_option("--cpus", args->engine.cpus, "Simulated CPUs (per-CPU maps keep this many values)")
        ->capture_default_str();
    cmd->add_option("--budget", args->engine.budget, "Instructions one run may execute")->capture_default_str();
    cmd->add_flag("--json", args->json, "JSON Lines: one object per packet, then a summary object");
    cmd->add_flag("--trace", args->trace, "Print every executed instruction and the registers it changed");
    cmd->footer(
        "Per packet: index (from 0), time (UTC), length, and the verdict: dropped, or kept N bytes. "
        "Exit status 1 if any run faulted.");
    cmd->callback([args, &exit_code] { exit_code = run_main(*args); });
}

}  // namespace sockfilter::tools
