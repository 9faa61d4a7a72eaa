// SPDX-License-Identifier: MIT
// Map contents as text or JSON, walking keys with get_next_key as `bpftool map dump` does.
#include "tools/maps_output.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "runtime/maps/fd_maps.h"
#include "runtime/maps/ringbuf.h"
#include "support/bytes.h"

namespace sockfilter::tools {

namespace {

using program::MapType;

/// Key/value pairs of a map, in its iteration order; values as the syscall returns them.
std::vector<std::pair<std::vector<std::uint8_t>, std::vector<std::uint8_t>>> entries(runtime::Map& m) {
    std::vector<std::pair<std::vector<std::uint8_t>, std::vector<std::uint8_t>>> out;
    std::vector<std::uint8_t> key(m.key_size()), next(m.key_size()), value(m.user_value_size());
    const std::uint8_t* prev = nullptr;
    for (std::size_t guard = 0; guard <= m.max_entries(); ++guard) {
        if (m.get_next_key(prev, next.data()) != 0) {
            break;
        }
        key = next;
        prev = key.data();
        if (m.lookup_user(key.data(), value.data()) == 0) {
            out.emplace_back(key, value);
        }
    }
    return out;
}

/// The value split per CPU (per-CPU maps: each value padded to 8 bytes).
std::vector<std::string> value_texts(const runtime::Map& m, const std::vector<std::uint8_t>& value) {
    if (!m.is_percpu()) {
        return {to_hex(value, " ")};
    }
    std::vector<std::string> out;
    const std::size_t stride = value.size() / m.cpus();
    for (std::uint32_t cpu = 0; cpu < m.cpus(); ++cpu) {
        out.push_back(to_hex(std::span(value).subspan(cpu * stride, m.value_size()), " "));
    }
    return out;
}

}  // namespace

void print_maps(runtime::Instance& inst, bool json) {
    for (std::size_t i = 0; i < inst.map_count(); ++i) {
        runtime::Map& m = inst.map(i);
        const std::string type = program::map_type_name(m.type());
        const bool keyed = m.key_size() != 0 && m.type() != MapType::Ringbuf && m.type() != MapType::UserRingbuf &&
                           m.type() != MapType::PerfEventArray;
        auto* progs = runtime::map_as<runtime::ProgArrayMap>(m);
        nlohmann::ordered_json j;
        j["map"] = {{"name", inst.map_name(i)}, {"type", type}, {"entries", nlohmann::ordered_json::array()}};
        if (!json) {
            fmt::print("map {} ({}, key {} B, value {} B, max_entries {}):\n", inst.map_name(i), type, m.key_size(),
                       m.value_size(), m.max_entries());
        }
        if (keyed) {
            for (const auto& [key, value] : entries(m)) {
                if (progs != nullptr) {
                    const std::int32_t target = progs->program_at(load_le<std::uint32_t>(key.data()));
                    const std::string name =
                        target >= 0 ? inst.programs()[static_cast<std::size_t>(target)] : std::string("(empty)");
                    if (json) {
                        j["map"]["entries"].push_back({{"key", to_hex(key)}, {"program", name}});
                    } else {
                        fmt::print("    {}: {}\n", to_hex(key, " "), name);
                    }
                    continue;
                }
                const auto values = value_texts(m, value);
                if (json) {
                    nlohmann::ordered_json e{{"key", to_hex(key)}};
                    if (m.is_percpu()) {
                        e["values"] = values;
                    } else {
                        e["value"] = to_hex(value);
                    }
                    j["map"]["entries"].push_back(e);
                } else if (m.is_percpu()) {
                    for (std::size_t cpu = 0; cpu < values.size(); ++cpu) {
                        fmt::print("    {} [cpu {}]: {}\n", to_hex(key, " "), cpu, values[cpu]);
                    }
                } else {
                    fmt::print("    {}: {}\n", to_hex(key, " "), values[0]);
                }
            }
        } else if (m.type() == MapType::Queue || m.type() == MapType::Stack) {
            std::vector<std::uint8_t> value(m.value_size());
            while (m.pop(value.data()) == 0) {
                if (json) {
                    j["map"]["entries"].push_back({{"value", to_hex(value)}});
                } else {
                    fmt::print("    {}\n", to_hex(value, " "));
                }
            }
        } else if (auto* rb = runtime::map_as<runtime::RingbufMap>(m)) {
            while (auto rec = rb->consume()) {
                if (json) {
                    j["map"]["entries"].push_back({{"record", to_hex(*rec)}});
                } else {
                    fmt::print("    record: {}\n", to_hex(*rec, " "));
                }
            }
        }
        if (json) {
            fmt::print("{}\n", j.dump());
        }
    }
}

}  // namespace sockfilter::tools
