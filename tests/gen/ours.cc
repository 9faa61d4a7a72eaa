// SPDX-License-Identifier: MIT
// Our side of a generated case, the comparison of two traces, and regression files.
#include <fmt/format.h>

#include <sstream>

#include "asm/assembler.h"
#include "diff.h"
#include "runtime/instance.h"
#include "runtime/load.h"
#include "support/bytes.h"
#include "vm/interpreter.h"

namespace sockfilter::gen {

namespace {

std::string packet_result(std::uint32_t ret, std::span<const std::uint8_t> cb) {
    return fmt::format("ret {:#x} cb {}", ret, to_hex(cb));
}

}  // namespace

Trace run_ours(const Case& c) {
    Trace t;
    const program::Program prog = layout(c);
    const std::vector<std::string> names{"gen"};
    auto inst = runtime::Instance::create(c.maps, names);
    if (!inst) {
        t.load_error = "maps: " + inst.error().render();
        return t;
    }
    runtime::Environment env = runtime::socket_filter_env();
    env.instance = inst->get();
    auto loaded = runtime::load(prog, env);
    if (!loaded) {
        t.load_error = loaded.error().render();
        return t;
    }
    vm::Interpreter interp(*loaded);
    for (std::size_t i = 0; i < c.packets.size(); ++i) {
        const Packet& p = c.packets[i];
        auto skb = runtime::make_skb(p.frame, runtime::dlt::kEn10mb, runtime::SocketKind::TestRun, p.ctx);
        if (!skb) {
            t.packets.push_back("input refused");
            continue;
        }
        (*inst)->set_packet(i);
        vm::RunInput in;
        in.skb = &*skb;
        const vm::ExecResult r = interp.run(in);
        if (r.status != vm::ExecStatus::Ok) {
            t.packets.push_back("fault: " + interp.fault_message());
            continue;
        }
        t.packets.push_back(packet_result(static_cast<std::uint32_t>(r.r0), skb->meta.cb));
    }
    for (std::size_t m = 0; m < (*inst)->map_count(); ++m) {
        t.maps.push_back(contents(runtime::read_entries((*inst)->map(m))));
    }
    return t;
}

std::map<Bytes, Bytes> contents(const std::vector<runtime::MapEntry>& entries) {
    std::map<Bytes, Bytes> out;
    for (const runtime::MapEntry& e : entries) {
        out[e.key] = e.value;
    }
    return out;
}

std::string compare(const Trace& kernel, const Trace& ours) {
    if (!kernel.load_error.empty()) {
        return "";
    }
    if (!kernel.read_error.empty()) {
        return "the kernel's maps could not be read back: " + kernel.read_error;
    }
    if (!ours.load_error.empty()) {
        return "the kernel accepts the program, runtime::load refuses it: " + ours.load_error;
    }
    for (std::size_t i = 0; i < kernel.packets.size() && i < ours.packets.size(); ++i) {
        if (kernel.packets[i] != ours.packets[i]) {
            return fmt::format("packet {}: kernel {}, ours {}", i, kernel.packets[i], ours.packets[i]);
        }
    }
    if (kernel.packets.size() != ours.packets.size()) {
        return fmt::format("{} packets run by the kernel, {} by us", kernel.packets.size(), ours.packets.size());
    }
    for (std::size_t m = 0; m < kernel.maps.size() && m < ours.maps.size(); ++m) {
        if (kernel.maps[m] == ours.maps[m]) {
            continue;
        }
        std::string text = fmt::format("map {} after the last packet:", m);
        auto side = [&](const char* who, const std::map<Bytes, Bytes>& mine, const std::map<Bytes, Bytes>& other) {
            for (const auto& [k, v] : mine) {
                auto it = other.find(k);
                if (it == other.end() || it->second != v) {
                    text += fmt::format(" {} has {}={};", who, to_hex(k), to_hex(v));
                }
            }
        };
        side("kernel", kernel.maps[m], ours.maps[m]);
        side("ours", ours.maps[m], kernel.maps[m]);
        return text;
    }
    return "";
}

std::string regression_text(const Case& c, const std::string& divergence) {
    std::string out = fmt::format("; sockfilter generated-program regression (tests/gen): seed {}, case {}\n", c.seed,
                                  c.index);
    out += "; divergence: " + divergence + "\n";
    for (const program::MapSpec& m : c.maps) {
        out += fmt::format("; map {} key={} value={} entries={}\n", program::map_type_name(m.type), m.key_size,
                           m.value_size, m.max_entries);
    }
    for (const Packet& p : c.packets) {
        const std::string ctx = format_ctx(p.ctx);
        out += fmt::format("; packet {}{}\n", to_hex(p.frame), ctx.empty() ? "" : " ctx " + ctx);
    }
    out += assembler::disassemble(layout(c), assembler::Syntax::Kernel);
    return out;
}

Result<Case> read_regression(const std::string& text, const std::string& file_name) {
    Case c;
    std::istringstream in(text);
    std::string line;
    std::size_t lineno = 0;
    while (std::getline(in, line)) {
        ++lineno;
        const Location where = SourcePos{file_name, static_cast<std::uint32_t>(lineno), 1};
        std::istringstream words(line);
        std::string semi;
        std::string kind;
        words >> semi >> kind;
        if (semi != ";") {
            continue;
        }
        if (kind == "map") {
            std::string type;
            program::MapSpec m;
            words >> type;
            m.name = fmt::format("m{}", c.maps.size());
            if (type == "hash") {
                m.type = program::MapType::Hash;
            } else if (type == "array") {
                m.type = program::MapType::Array;
            } else {
                return fail(Errc::Format, where, "map type '{}' is not hash or array", type);
            }
            std::string field;
            while (words >> field) {
                const auto eq = field.find('=');
                if (eq == std::string::npos) {
                    return fail(Errc::Format, where, "expected key=N, found '{}'", field);
                }
                const std::string key = field.substr(0, eq);
                const auto value = static_cast<std::uint32_t>(std::strtoul(field.c_str() + eq + 1, nullptr, 0));
                if (key == "key") {
                    m.key_size = value;
                } else if (key == "value") {
                    m.value_size = value;
                } else if (key == "entries") {
                    m.max_entries = value;
                } else {
                    return fail(Errc::Format, where, "unknown map field '{}'", key);
                }
            }
            c.maps.push_back(std::move(m));
        } else if (kind == "packet") {
            std::string hex;
            std::string ctx_word;
            std::string ctx;
            words >> hex >> ctx_word >> ctx;
            Packet p;
            auto frame = parse_hex(hex);
            if (!frame) {
                return fail(Errc::Format, where, "packet: {}", frame.error().message);
            }
            p.frame = std::move(*frame);
            auto overrides = runtime::parse_ctx_overrides(ctx);
            if (!overrides) {
                return fail(Errc::Format, where, "packet ctx: {}", overrides.error().message);
            }
            p.ctx = *overrides;
            c.packets.push_back(std::move(p));
        }
    }
    if (c.packets.empty()) {
        return fail(Errc::Format, SourcePos{file_name, 1, 1}, "no '; packet' line");
    }
    auto prog = assembler::assemble(text, file_name, assembler::Syntax::Kernel);
    if (!prog) {
        return tl::unexpected(prog.error());
    }
    Unit all{"regression", {}, true};
    for (const isa::Insn& s : prog->slots()) {
        all.insns.push_back(GenInsn{s, -1});
    }
    c.functions.push_back(Function{{std::move(all)}});
    return c;
}

}  // namespace sockfilter::gen
