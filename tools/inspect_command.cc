// SPDX-License-Identifier: MIT
// `sockfilter inspect PROG.o`: what a BPF object holds — programs, maps, global data, license,
// kfuncs, BTF summary and programs of other types — as text or JSON.
#include <cstdio>
#include <string>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "elf/elf.h"
#include "support/bytes.h"
#include "tools/commands.h"

namespace sockfilter::tools {

namespace {

struct InspectOptions {
    std::string path;
    std::string btf = elf::kVmlinuxBtf;
    bool json = false;
};

bool is_global_data(const program::MapSpec& m) { return !m.name.empty() && m.name.front() == '.'; }

std::string slots_text(const program::MapSpec& m) {
    std::string out;
    for (const auto& [key, target] : m.initial_slots) {
        out += fmt::format("{}{}={}", out.empty() ? "" : ", ", key, target);
    }
    return out;
}

nlohmann::ordered_json map_json(const program::MapSpec& m) {
    nlohmann::ordered_json j = {{"name", m.name},
                                {"type", program::map_type_name(m.type)},
                                {"key_size", m.key_size},
                                {"value_size", m.value_size},
                                {"max_entries", m.max_entries},
                                {"map_flags", m.map_flags}};
    if (m.map_extra != 0) {
        j["map_extra"] = m.map_extra;
    }
    if (m.inner) {
        j["inner"] = map_json(*m.inner);
    }
    if (!m.initial_slots.empty()) {
        nlohmann::ordered_json slots = nlohmann::ordered_json::array();
        for (const auto& [key, target] : m.initial_slots) {
            slots.push_back({{"key", key}, {"target", target}});
        }
        j["initial_slots"] = slots;
    }
    return j;
}

std::string map_text(const program::MapSpec& m) {
    std::string s = fmt::format("{} key {} value {} max_entries {}", program::map_type_name(m.type), m.key_size,
                                m.value_size, m.max_entries);
    if (m.map_flags != 0) {
        s += fmt::format(" flags {:#x}", m.map_flags);
    }
    if (m.map_extra != 0) {
        s += fmt::format(" map_extra {}", m.map_extra);
    }
    return s;
}

void print_json(const program::Object& obj, const elf::BtfSummary& btf) {
    nlohmann::ordered_json j;
    j["path"] = obj.path;
    j["license"] = obj.license;
    j["programs"] = nlohmann::ordered_json::array();
    for (const auto& p : obj.programs) {
        j["programs"].push_back({{"name", p.program.name()},
                                 {"section", p.section},
                                 {"insns", p.program.size()},
                                 {"functions", p.program.functions().size()},
                                 {"lines", p.lines.size()}});
    }
    j["maps"] = nlohmann::ordered_json::array();
    j["globals"] = nlohmann::ordered_json::array();
    for (const auto& m : obj.maps) {
        if (is_global_data(m)) {
            j["globals"].push_back({{"section", m.name}, {"size", m.value_size}, {"frozen", m.frozen}});
        } else {
            j["maps"].push_back(map_json(m));
        }
    }
    j["kfuncs"] = nlohmann::ordered_json::array();
    for (const auto& k : obj.kfuncs) {
        j["kfuncs"].push_back(k.name);
    }
    j["btf"] = {{"present", btf.present},
                {"types", btf.types},
                {"func_info", btf.func_infos},
                {"line_info", btf.line_infos},
                {"core_relocations", btf.core_relos}};
    j["other_programs"] = nlohmann::ordered_json::array();
    for (const auto& [section, type] : obj.other_programs) {
        j["other_programs"].push_back({{"section", section}, {"type", type}});
    }
    fmt::print("{}\n", j.dump(2));
}

void print_text(const program::Object& obj, const elf::BtfSummary& btf) {
    fmt::print("{}: license \"{}\"\n", obj.path, obj.license);
    fmt::print("programs:\n");
    for (const auto& p : obj.programs) {
        fmt::print("  {:<20} section {:<16} {:>5} insns  {} function{}  {} source lines\n", p.program.name(), p.section,
                   p.program.size(), p.program.functions().size(), p.program.functions().size() == 1 ? "" : "s",
                   p.lines.size());
    }
    bool any = false;
    for (const auto& m : obj.maps) {
        if (is_global_data(m)) {
            continue;
        }
        fmt::print("{}", any ? "" : "maps:\n");
        any = true;
        fmt::print("  {:<20} {}\n", m.name, map_text(m));
        if (m.inner) {
            fmt::print("  {:<20} inner: {}\n", "", map_text(*m.inner));
        }
        if (!m.initial_slots.empty()) {
            fmt::print("  {:<20} slots: {}\n", "", slots_text(m));
        }
    }
    any = false;
    for (const auto& m : obj.maps) {
        if (!is_global_data(m)) {
            continue;
        }
        fmt::print("{}", any ? "" : "globals:\n");
        any = true;
        fmt::print("  {:<20} {} bytes{}\n", m.name, m.value_size, m.frozen ? ", read-only" : "");
    }
    if (!obj.kfuncs.empty()) {
        fmt::print("kfuncs:\n");
        for (const auto& k : obj.kfuncs) {
            fmt::print("  {}\n", k.name);
        }
    }
    if (btf.present) {
        fmt::print("btf: {} types, {} func info, {} line info, {} CO-RE relocations\n", btf.types, btf.func_infos,
                   btf.line_infos, btf.core_relos);
    } else {
        fmt::print("btf: none\n");
    }
    if (!obj.other_programs.empty()) {
        fmt::print("other programs (not socket filters):\n");
        for (const auto& [section, type] : obj.other_programs) {
            fmt::print("  section {:<20} type {}\n", section, type);
        }
    }
}

int inspect(const InspectOptions& o) {
    auto bytes = read_file(o.path);
    if (!bytes) {
        fmt::print(stderr, "sockfilter: {}\n", bytes.error().render());
        return kExitInput;
    }
    auto obj = elf::read_object(*bytes, o.path, elf::ReadOptions{o.btf});
    if (!obj) {
        fmt::print(stderr, "sockfilter: {}\n", obj.error().render());
        return kExitInput;
    }
    auto btf = elf::read_btf_summary(*bytes, o.path);
    if (!btf) {
        fmt::print(stderr, "sockfilter: {}\n", btf.error().render());
        return kExitInput;
    }
    if (o.json) {
        print_json(*obj, *btf);
    } else {
        print_text(*obj, *btf);
    }
    return kExitOk;
}

}  // namespace

void add_inspect_command(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<InspectOptions>();
    CLI::App* cmd = app.add_subcommand("inspect", "Show the programs, maps, globals, kfuncs and BTF of a BPF object");
    cmd->add_option("object", opts->path, "BPF ELF object (clang -target bpf)")->required();
    cmd->add_flag("--json", opts->json, "Print JSON");
    cmd->add_option("--btf", opts->btf, "CO-RE target BTF (default: the running kernel's)");
    cmd->callback([opts, &exit_code] { exit_code = inspect(*opts); });
}

}  // namespace sockfilter::tools
