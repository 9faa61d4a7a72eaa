// SPDX-License-Identifier: MIT
// `sockfilter diff PROG -r FILE`: every packet through BPF_PROG_TEST_RUN and through the interpreter
// with the test-run socket kind; the return values compared packet by packet and, after the run,
// every map's contents. The first divergence is reported with our trace of that packet.
#include <sched.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "kernel/ctx_in.h"
#include "kernel/map_io.h"
#include "kernel/object.h"
#include "pcap/reader.h"
#include "runtime/helpers/catalog.h"
#include "runtime/maps/dump.h"
#include "runtime/packet.h"
#include "support/bytes.h"
#include "tools/commands.h"
#include "tools/engines.h"
#include "tools/maps_output.h"
#include "tools/program_input.h"

namespace sockfilter::tools {

namespace {

using program::MapType;

struct DiffArgs {
    std::string program;
    std::string read;
    std::string ctx;
    std::string format = "auto";
    std::string program_name;
    std::string map_init;
    std::uint64_t seed = 0;
    std::uint64_t budget = vm::Options{}.budget;
    bool json = false;
};

void print_error(const Error& e) { fmt::print(stderr, "sockfilter diff: {}\n", e.render()); }

/// Helpers whose result depends on state the kernel and sockfilter do not share (a random
/// generator, clocks, the calling task, global counters), so a program calling them can diverge
/// legitimately (docs/SEMANTICS.md, "sockfilter diff").
const std::set<std::string_view>& nondeterministic_helpers() {
    static const std::set<std::string_view> names{
        "bpf_get_prandom_u32",    "bpf_ktime_get_ns",          "bpf_ktime_get_boot_ns",
        "bpf_ktime_get_coarse_ns", "bpf_ktime_get_tai_ns",     "bpf_jiffies64",
        "bpf_get_socket_cookie",  "bpf_get_current_pid_tgid",  "bpf_get_current_uid_gid",
        "bpf_get_current_cgroup_id", "bpf_get_current_ancestor_cgroup_id", "bpf_get_cgroup_classid",
        "bpf_get_numa_node_id",   "bpf_timer_start",           "bpf_get_netns_cookie",
    };
    return names;
}

/// The nondeterministic helpers any program of the object calls, by name.
std::vector<std::string> nondeterministic_calls(const program::Object& obj) {
    constexpr std::uint8_t kCall = 0x85;  // BPF_JMP | BPF_CALL; src 0 = helper id in imm
    std::set<std::string> found;
    for (const auto& p : obj.programs) {
        for (const isa::Insn& insn : p.program.slots()) {
            if (insn.opcode == kCall && insn.src == 0) {
                const std::string_view name = runtime::helper_name(insn.imm);
                if (nondeterministic_helpers().contains(name)) {
                    found.emplace(name);
                }
            }
        }
    }
    return {found.begin(), found.end()};
}

/// Says which nondeterministic helpers the program calls, if any, under a divergence report.
void print_note(const std::vector<std::string>& suspects) {
    if (!suspects.empty()) {
        fmt::print("note: the program calls {}, whose results differ legitimately between the kernel and sockfilter "
                   "(docs/SEMANTICS.md, \"sockfilter diff\")\n",
                   fmt::join(suspects, ", "));
    }
}

/// One side's outcome for one packet: a return value, a fault (ours only), or a refusal to run
/// the packet at all (BPF_PROG_TEST_RUN's EINVAL, make_skb's error).
struct Outcome {
    enum class Kind { Ret, Fault, Refused };
    Kind kind = Kind::Refused;
    std::uint32_t ret = 0;
    std::string why;  ///< Fault, Refused: the message

    static Outcome value(std::uint32_t r) { return {Kind::Ret, r, {}}; }
    static Outcome fault(std::string why) { return {Kind::Fault, 0, std::move(why)}; }
    static Outcome refused(std::string why) { return {Kind::Refused, 0, std::move(why)}; }

    /// Whether two outcomes agree: the same return value, or both refused the packet.
    [[nodiscard]] bool agrees(const Outcome& o) const { return kind == o.kind && (kind != Kind::Ret || ret == o.ret); }
    [[nodiscard]] std::string text() const {
        switch (kind) {
            case Kind::Ret: return fmt::format("returned {:#x}", ret);
            case Kind::Fault: return "faulted: " + why;
            case Kind::Refused: return "refused the packet: " + why;
        }
        return why;
    }
    [[nodiscard]] nlohmann::ordered_json json() const {
        switch (kind) {
            case Kind::Ret: return nlohmann::ordered_json{{"ret", ret}};
            case Kind::Fault: return nlohmann::ordered_json{{"fault", why}};
            case Kind::Refused: return nlohmann::ordered_json{{"refused", why}};
        }
        return {};
    }
};

/// A map left out of the comparison, and why.
struct Skipped {
    std::string map;
    std::string why;
};

/// Why map `spec` cannot be compared, or empty when it can (LRU capacity is checked separately).
std::string not_comparable(const program::MapSpec& spec) {
    switch (spec.type) {
        case MapType::PerfEventArray: return "perf-event array: its records go to perf buffers, not map state";
        case MapType::Ringbuf:
        case MapType::UserRingbuf: return "ring buffer: its records are for a reader, not map state";
        case MapType::ProgArray:
        case MapType::ArrayOfMaps:
        case MapType::HashOfMaps: return "its values are kernel object ids, which have no counterpart here";
        case MapType::BloomFilter: return "a bloom filter cannot be enumerated";
        case MapType::CgrpStorage: return "cgroup storage is keyed by cgroup fd in the kernel";
        default: return {};
    }
}

/// The state both sides run with.
struct Sides {
    ProgramInput input;
    kernel::LoadedObject kernel;
    Engines ours;
    std::vector<MapInit> inits;
};

class Differ {
public:
    Differ(const DiffArgs& args, runtime::CtxOverrides overrides, std::uint32_t cpus, std::uint32_t cpu)
        : args_(args), overrides_(std::move(overrides)), cpus_(cpus), cpu_(cpu) {}

    /// Our engines for `input`, on the pinned CPU, with the --map-init entries written.
    Result<Engines> our_engines(const ProgramInput& input, const std::vector<MapInit>* inits) const {
        EngineOptions eo;
        eo.cpus = cpus_;
        eo.seed = args_.seed;
        eo.budget = args_.budget;
        auto e = make_engines(input, eo);
        if (!e) {
            return tl::unexpected(std::move(e.error()));
        }
        e->instance->set_cpu(cpu_);
        if (inits != nullptr) {
            auto done = apply_map_init(*e->instance, *inits);
            if (!done) {
                return tl::unexpected(std::move(done.error()).with_context(args_.map_init));
            }
        }
        return e;
    }

    /// Our outcome for packet `index`.
    Outcome run_ours(Engines& e, std::size_t entry, std::uint64_t index, const pcap::Frame& frame, runtime::Skb skb,
                     TracePrinter* tracer) const {
        e.instance->set_packet(index);
        e.instance->set_now_ns(static_cast<std::uint64_t>(frame.ts_sec) * 1'000'000'000U +
                               static_cast<std::uint64_t>(frame.ts_nsec));
        const auto [r, interp] = e.execute(entry, skb, tracer);
        // Helper outputs (trace_printk, ring-buffer records) are not compared.
        [[maybe_unused]] const auto outputs = e.instance->take_outputs();
        if (r.status != vm::ExecStatus::Ok) {
            return Outcome::fault(interp->fault_message());
        }
        return Outcome::value(static_cast<std::uint32_t>(r.r0));
    }

    /// The kernel's outcome for `data`.
    Outcome run_kernel(const kernel::Fd& prog, std::span<const std::uint8_t> data) const {
        auto r = kernel::test_run(prog, data, kernel::test_run_ctx(overrides_));
        if (!r) {
            return Outcome::refused(r.error().render());
        }
        return Outcome::value(r->retval);
    }

private:
    const DiffArgs& args_;
    runtime::CtxOverrides overrides_;
    std::uint32_t cpus_;
    std::uint32_t cpu_;
};

/// Pins this thread to the CPU it runs on, so that BPF_PROG_TEST_RUN's per-CPU map slots and
/// bpf_get_smp_processor_id are those of one known CPU, which our instance then simulates.
Result<std::uint32_t> pin_to_current_cpu() {
    const int cpu = sched_getcpu();
    if (cpu < 0) {
        return fail(Errc::NotSupported, "sched_getcpu failed");
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<unsigned>(cpu), &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        return fail(Errc::NotSupported, "cannot pin to CPU {} (sched_setaffinity)", cpu);
    }
    return static_cast<std::uint32_t>(cpu);
}

struct Report {
    std::uint64_t packets = 0;
    std::uint64_t agreed = 0;
    std::uint64_t not_run = 0;  ///< both sides refused the packet
    std::vector<std::string> compared;
    std::vector<Skipped> skipped;
};

nlohmann::ordered_json hex_or_null(const std::optional<std::vector<std::uint8_t>>& v) {
    return v ? nlohmann::ordered_json(to_hex(*v)) : nlohmann::ordered_json();
}

/// Compares every map after the run; prints the first difference and returns false, or true.
bool compare_maps(Sides& s, const DiffArgs& args, std::uint32_t cpus, Report& report,
                  const std::vector<std::string>& suspects) {
    const auto& specs = s.input.object.maps;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const program::MapSpec& spec = specs[i];
        if (std::string why = not_comparable(spec); !why.empty()) {
            report.skipped.push_back({spec.name, why});
            continue;
        }
        runtime::Map& ours = s.ours.instance->map(i);
        const kernel::Fd& theirs = s.kernel.maps[i].fd;
        const bool ordered = spec.type == MapType::Queue || spec.type == MapType::Stack;
        auto kernel_entries = ordered ? kernel::drain_values(theirs) : kernel::read_entries(theirs);
        if (!kernel_entries) {
            report.skipped.push_back({spec.name, "the kernel's map cannot be read: " + kernel_entries.error().render()});
            continue;
        }
        std::vector<runtime::MapEntry> our_entries = ordered ? runtime::drain_values(ours) : runtime::read_entries(ours);
        if (spec.type == MapType::LruHash || spec.type == MapType::LruPercpuHash) {
            // Below capacity both LRUs hold every element; at capacity the kernel's approximate
            // LRU evicts other elements than ours (docs/SEMANTICS.md, Maps). With
            // BPF_F_NO_COMMON_LRU each CPU has its own share, and diff runs on one CPU.
            const bool per_cpu_lists = (spec.map_flags & program::kMapNoCommonLru) != 0;
            const std::size_t capacity = per_cpu_lists ? (spec.max_entries + cpus - 1) / cpus : spec.max_entries;
            const std::size_t most = std::max(our_entries.size(), kernel_entries->size());
            if (most >= capacity) {
                report.skipped.push_back(
                    {spec.name, fmt::format("LRU map at capacity ({} of {} entries): the kernel's approximate LRU "
                                            "evicts other elements than ours",
                                            most, capacity)});
                continue;
            }
        }
        auto mismatch = runtime::compare_entries(our_entries, *kernel_entries, ordered);
        if (!mismatch) {
            report.compared.push_back(spec.name);
            continue;
        }
        auto value = [](const std::optional<std::vector<std::uint8_t>>& v) {
            return v ? to_hex(*v, " ") : std::string("(none)");
        };
        const std::string where = ordered ? fmt::format("value #{}", mismatch->position)
                                          : fmt::format("key {}", to_hex(mismatch->key, " "));
        if (args.json) {
            nlohmann::ordered_json j;
            j["divergence"] = {{"map", spec.name},
                               {"where", where},
                               {"kernel", hex_or_null(mismatch->second)},
                               {"sockfilter", hex_or_null(mismatch->first)},
                               {"nondeterministic_helpers", suspects}};
            fmt::print("{}\n", j.dump());
        } else {
            fmt::print("map \"{}\" differs after {} packets at {}:\n    kernel:     {}\n    sockfilter: {}\n", spec.name,
                       report.packets, where, value(mismatch->second), value(mismatch->first));
            print_note(suspects);
        }
        return false;
    }
    return true;
}

int diff_main(const DiffArgs& args) {
    auto format = parse_program_format(args.format);
    auto overrides = runtime::parse_ctx_overrides(args.ctx);
    if (!format || !overrides) {
        print_error(format ? overrides.error() : format.error());
        return kExitUsage;
    }
    if (auto settable = runtime::check_test_run_overrides(*overrides); !settable) {
        print_error(std::move(settable.error()).with_context("--ctx"));
        return kExitUsage;
    }
    auto input = read_program(args.program, *format, args.program_name);
    if (!input) {
        print_error(input.error());
        return kExitInput;
    }
    auto cpus = kernel::possible_cpus();
    auto cpu = cpus ? pin_to_current_cpu() : Result<std::uint32_t>(tl::unexpected(cpus.error()));
    if (!cpu) {
        print_error(cpu.error());
        return kExitFailure;
    }
    Differ differ(args, *overrides, *cpus, *cpu);
    Sides s{std::move(*input), {}, {}, {}};
    auto ours = differ.our_engines(s.input, nullptr);
    if (!ours) {
        print_error(std::move(ours.error()).with_context(args.program));
        return kExitInput;
    }
    s.ours = std::move(*ours);
    if (!args.map_init.empty()) {
        auto inits = read_map_init(*s.ours.instance, args.map_init);
        if (!inits) {
            print_error(std::move(inits.error()).with_context("--map-init"));
            return kExitInput;
        }
        s.inits = std::move(*inits);
        if (auto done = apply_map_init(*s.ours.instance, s.inits); !done) {
            print_error(std::move(done.error()).with_context(args.map_init).with_context("--map-init"));
            return kExitInput;
        }
    }
    auto loaded = kernel::load_object(s.input.object);
    if (!loaded) {
        print_error(std::move(loaded.error()).with_context(args.program));
        return kExitInput;
    }
    s.kernel = std::move(*loaded);
    for (const MapInit& init : s.inits) {
        for (std::size_t i = 0; i < init.entries.size(); ++i) {
            const runtime::MapEntry& e = init.entries[i];
            if (auto done = kernel::write_entry(s.kernel.maps[init.map].fd, e.key, e.value); !done) {
                print_error(std::move(done.error())
                                .with_context(fmt::format("map \"{}\" entry {} in the kernel",
                                                          s.input.object.maps[init.map].name, i))
                                .with_context("--map-init"));
                return kExitInput;
            }
        }
    }
    const kernel::Fd& prog = s.kernel.programs[s.input.index];
    const std::vector<std::string> suspects = nondeterministic_calls(s.input.object);

    auto capture = pcap::read_capture(args.read);
    if (!capture) {
        print_error(capture.error());
        return kExitInput;
    }
    const std::vector<pcap::Frame>& frames = capture->frames;
    const int linktype = capture->linktype;
    Report report;
    for (std::uint64_t index = 0; index < frames.size(); ++index) {
        const pcap::Frame& f = frames[index];
        ++report.packets;
        auto skb = runtime::make_skb(f.bytes, linktype, runtime::SocketKind::TestRun, *overrides);
        Outcome mine;
        Outcome theirs;
        if (skb) {
            theirs = differ.run_kernel(prog, skb->bytes);
            mine = differ.run_ours(s.ours, s.input.index, index, f, *skb, nullptr);
        } else if (linktype == runtime::dlt::kEn10mb) {
            // We refuse the frame as test-run would: check that the kernel does.
            theirs = differ.run_kernel(prog, f.bytes);
            mine = Outcome::refused(skb.error().render());
        } else {
            // The link header does not parse, so no Ethernet frame can be built for either side.
            mine = Outcome::refused(skb.error().render());
            theirs = mine;
        }
        if (mine.agrees(theirs)) {
            ++(mine.kind == Outcome::Kind::Ret ? report.agreed : report.not_run);
            continue;
        }
        // The first divergence: both outcomes, then our trace of the packet, from a fresh
        // instance that replays the packets before it.
        if (args.json) {
            nlohmann::ordered_json j;
            j["divergence"] = {{"index", index},
                               {"kernel", theirs.json()},
                               {"sockfilter", mine.json()},
                               {"nondeterministic_helpers", suspects}};
            fmt::print("{}\n", j.dump());
        } else {
            fmt::print("packet #{} diverges:\n    kernel:     {}\n    sockfilter: {}\n", index, theirs.text(), mine.text());
        }
        if (skb) {
            auto replay = differ.our_engines(s.input, &s.inits);
            if (replay) {
                for (std::uint64_t i = 0; i < index; ++i) {
                    auto earlier = runtime::make_skb(frames[i].bytes, linktype, runtime::SocketKind::TestRun,
                                                     *overrides);
                    if (earlier) {
                        differ.run_ours(*replay, s.input.index, i, frames[i], std::move(*earlier), nullptr);
                    }
                }
                TracePrinter tracer(s.input.program(), args.json);
                tracer.set_packet(index);
                replay->set_trace(&tracer);
                if (!args.json) {
                    fmt::print("our trace of packet #{}:\n", index);
                }
                differ.run_ours(*replay, s.input.index, index, f, *skb, &tracer);
            }
        }
        if (!args.json) {
            print_note(suspects);
        }
        return kExitFailure;
    }
    if (!compare_maps(s, args, *cpus, report, suspects)) {
        return kExitFailure;
    }
    if (args.json) {
        nlohmann::ordered_json skipped = nlohmann::ordered_json::array();
        for (const Skipped& k : report.skipped) {
            skipped.push_back({{"map", k.map}, {"why", k.why}});
        }
        nlohmann::ordered_json j;
        j["summary"] = {{"packets", report.packets},       {"agreed", report.agreed},
                        {"not_run", report.not_run},       {"maps_compared", report.compared},
                        {"maps_not_compared", skipped}};
        fmt::print("{}\n", j.dump());
        return kExitOk;
    }
    std::string line = fmt::format("{} packets: {} verdicts agree", report.packets, report.agreed);
    if (report.not_run != 0) {
        line += fmt::format(", {} refused by both", report.not_run);
    }
    line += fmt::format("; maps equal: {}", report.compared.size());
    if (!report.compared.empty()) {
        line += fmt::format(" ({})", fmt::join(report.compared, ", "));
    }
    if (!report.skipped.empty()) {
        std::vector<std::string> parts;
        for (const Skipped& k : report.skipped) {
            parts.push_back(fmt::format("{}: {}", k.map, k.why));
        }
        line += fmt::format("; not compared: {}", fmt::join(parts, "; "));
    }
    fmt::print("{}\n", line);
    return kExitOk;
}

}  // namespace

void add_diff_command(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<DiffArgs>();
    auto* cmd = app.add_subcommand("diff", "Run a program in the kernel (BPF_PROG_TEST_RUN) and here, and compare");
    cmd->add_option("PROG", args->program, "Program: a BPF ELF object, eBPF assembly or raw instruction bytes")
        ->required();
    cmd->add_option("-r,--read", args->read, "Capture to read (pcap or pcapng)")->required();
    cmd->add_option("--ctx", args->ctx,
                    "Context fields for both sides (those BPF_PROG_TEST_RUN accepts): mark, priority, ifindex, "
                    "ingress_ifindex, cb0..cb4, gso_segs, gso_size");
    cmd->add_option("--format", args->format, "Program format: auto, asm, raw, elf")->capture_default_str();
    cmd->add_option("--program", args->program_name, "Program of an ELF object to run (its function name)");
    cmd->add_option("--map-init", args->map_init, "Preload maps on both sides from JSON (as `run --map-init`)");
    cmd->add_option("--seed", args->seed, "Seed of our bpf_get_prandom_u32 and hash maps")->capture_default_str();
    cmd->add_option("--budget", args->budget, "Instructions one run of ours may execute")->capture_default_str();
    cmd->add_flag("--json", args->json, "JSON Lines: a divergence object (and trace objects) or a summary object");
    cmd->footer("Exit status 0 when every packet's return value and every comparable map agree, 1 at the first "
                "divergence (reported with our trace of that packet), 3 when the program or capture cannot be "
                "read or loaded.");
    cmd->callback([args, &exit_code] { exit_code = diff_main(*args); });
}

}  // namespace sockfilter::tools
