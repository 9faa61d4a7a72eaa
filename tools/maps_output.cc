// SPDX-License-Identifier: MIT
// Map contents as text or JSON, walking keys with get_next_key as `bpftool map dump` does; and map
// contents from JSON, written with the syscall-side update as `bpftool map update` would.
#include "tools/maps_output.h"

#include <optional>

#include <cstring>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "runtime/maps/dump.h"
#include "runtime/maps/fd_maps.h"
#include "runtime/maps/ringbuf.h"
#include "support/bytes.h"

namespace sockfilter::tools {

namespace {

using program::MapType;

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

void print_maps(runtime::Instance& inst, bool json, const BtfFormatter* btf) {
    for (std::size_t i = 0; i < inst.map_count(); ++i) {
        runtime::Map& m = inst.map(i);
        // Keys and values decoded through BTF where the map's definition names their types.
        auto decode = [&](std::uint32_t type, std::span<const std::uint8_t> bytes) -> std::optional<std::string> {
            return btf != nullptr ? btf->format(type, bytes) : std::nullopt;
        };
        const std::uint32_t key_type = m.spec().btf_key_type_id;
        const std::uint32_t value_type = m.spec().btf_value_type_id;
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
            for (const auto& [key, value] : runtime::read_entries(m)) {
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
                const auto key_text = decode(key_type, key);
                std::vector<std::optional<std::string>> decoded;
                const std::size_t stride = m.is_percpu() ? value.size() / m.cpus() : value.size();
                for (std::size_t cpu = 0; cpu < values.size(); ++cpu) {
                    decoded.push_back(decode(value_type, std::span(value).subspan(cpu * stride, m.value_size())));
                }
                if (json) {
                    nlohmann::ordered_json e{{"key", to_hex(key)}};
                    if (key_text) {
                        e["key_btf"] = *key_text;
                    }
                    if (m.is_percpu()) {
                        e["values"] = values;
                    } else {
                        e["value"] = to_hex(value);
                    }
                    if (decoded[0]) {
                        nlohmann::ordered_json list = nlohmann::ordered_json::array();
                        for (const auto& d : decoded) {
                            list.push_back(d.value_or(""));
                        }
                        e[m.is_percpu() ? "values_btf" : "value_btf"] =
                            m.is_percpu() ? list : nlohmann::ordered_json(*decoded[0]);
                    }
                    j["map"]["entries"].push_back(e);
                    continue;
                }
                for (std::size_t cpu = 0; cpu < values.size(); ++cpu) {
                    const std::string where = m.is_percpu() ? fmt::format(" [cpu {}]", cpu) : std::string();
                    fmt::print("    {}{}: {}\n", to_hex(key, " "), where, values[cpu]);
                    if (key_text || decoded[cpu]) {
                        fmt::print("        {} => {}\n", key_text.value_or("?"), decoded[cpu].value_or("?"));
                    }
                }
            }
        } else if (m.type() == MapType::Queue || m.type() == MapType::Stack) {
            for (const auto& [key, value] : runtime::drain_values(m)) {
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

namespace {

using Json = nlohmann::json;

/// The bytes of a hex string member `field` of `entry`, which must have `size` of them.
Result<std::vector<std::uint8_t>> hex_field(const Json& value, std::string_view field, std::size_t size) {
    if (!value.is_string()) {
        return fail(Errc::Format, "{} is not a hex string", field);
    }
    auto bytes = parse_hex(value.get<std::string>());
    if (!bytes) {
        return tl::unexpected(std::move(bytes.error()).with_context(std::string(field)));
    }
    if (bytes->size() != size) {
        return fail(Errc::Format, "{} has {} bytes, the map's {} size is {}", field, bytes->size(),
                    field.substr(0, field.find('[')), size);
    }
    return bytes;
}

/// Reads one entry of the JSON file for `m`: the key (empty for a queue or stack) and the
/// syscall-side value.
Result<runtime::MapEntry> read_entry(const runtime::Map& m, const Json& entry) {
    if (!entry.is_object()) {
        return fail(Errc::Format, "an entry must be an object with \"key\" and \"value\" (or \"values\")");
    }
    for (const auto& member : entry.items()) {
        const std::string& name = member.key();
        if (name != "key" && name != "value" && name != "values") {
            return fail(Errc::Format, "unknown member \"{}\" (expected key, value, values)", name);
        }
    }
    const bool queue = m.type() == MapType::Queue || m.type() == MapType::Stack;
    if (queue == entry.contains("key")) {
        if (queue) {
            return fail(Errc::Format, "a {} map takes values without keys", program::map_type_name(m.type()));
        }
        return fail(Errc::Format, "entry without \"key\"");
    }
    runtime::MapEntry out;
    if (!queue) {
        auto k = hex_field(entry["key"], "key", m.key_size());
        if (!k) {
            return tl::unexpected(std::move(k.error()));
        }
        out.key = std::move(*k);
    }
    if (m.is_percpu()) {
        if (!entry.contains("values") || entry.contains("value")) {
            return fail(Errc::Format, "a per-CPU map takes \"values\", one hex value per CPU");
        }
        const Json& values = entry["values"];
        if (!values.is_array() || values.size() != m.cpus()) {
            return fail(Errc::Format, "\"values\" must be an array of {} hex values (one per CPU; --cpus {})",
                        m.cpus(), m.cpus());
        }
        out.value.resize(m.user_value_size());
        const std::size_t stride = out.value.size() / m.cpus();
        for (std::uint32_t cpu = 0; cpu < m.cpus(); ++cpu) {
            auto v = hex_field(values[cpu], fmt::format("value[{}]", cpu), m.value_size());
            if (!v) {
                return tl::unexpected(std::move(v.error()));
            }
            std::memcpy(out.value.data() + cpu * stride, v->data(), v->size());
        }
    } else {
        if (!entry.contains("value") || entry.contains("values")) {
            return fail(Errc::Format, "entry without \"value\"");
        }
        auto v = hex_field(entry["value"], "value", m.value_size());
        if (!v) {
            return tl::unexpected(std::move(v.error()));
        }
        out.value = std::move(*v);
    }
    return out;
}

}  // namespace

Result<std::vector<MapInit>> read_map_init(const runtime::Instance& inst, const std::string& path) {
    auto bytes = read_file(path);
    if (!bytes) {
        return tl::unexpected(std::move(bytes.error()));
    }
    const Json doc = Json::parse(bytes->begin(), bytes->end(), nullptr, false);
    if (doc.is_discarded()) {
        return fail(Errc::Parse, "{}: not valid JSON", path);
    }
    if (!doc.is_object()) {
        return fail(Errc::Format, "{}: expected an object whose members are map names", path);
    }
    std::vector<MapInit> out;
    for (const auto& [name, entries] : doc.items()) {
        const std::int64_t index = inst.find_map(name);
        if (index < 0) {
            std::string known;
            for (std::size_t i = 0; i < inst.map_count(); ++i) {
                known += (i == 0 ? "" : ", ") + inst.map_name(i);
            }
            return fail(Errc::InvalidArgument, "{}: no map \"{}\" in the object (its maps: {})", path, name,
                        known.empty() ? std::string("none") : known);
        }
        const runtime::Map& m = inst.map(static_cast<std::size_t>(index));
        const MapType t = m.type();
        if (t == MapType::ProgArray || t == MapType::Ringbuf || t == MapType::UserRingbuf ||
            t == MapType::PerfEventArray || t == MapType::ArrayOfMaps || t == MapType::HashOfMaps) {
            return fail(Errc::InvalidArgument, "{}: map \"{}\": a {} map cannot be preloaded", path, name,
                        program::map_type_name(t));
        }
        if (!entries.is_array()) {
            return fail(Errc::Format, "{}: map \"{}\": expected an array of entries", path, name);
        }
        MapInit init{static_cast<std::size_t>(index), {}};
        for (std::size_t i = 0; i < entries.size(); ++i) {
            auto entry = read_entry(m, entries[i]);
            if (!entry) {
                return tl::unexpected(
                    std::move(entry.error()).with_context(fmt::format("{}: map \"{}\" entry {}", path, name, i)));
            }
            init.entries.push_back(std::move(*entry));
        }
        out.push_back(std::move(init));
    }
    return out;
}

Result<void> apply_map_init(runtime::Instance& inst, const std::vector<MapInit>& inits) {
    for (const MapInit& init : inits) {
        runtime::Map& m = inst.map(init.map);
        const bool queue = m.type() == MapType::Queue || m.type() == MapType::Stack;
        for (std::size_t i = 0; i < init.entries.size(); ++i) {
            const runtime::MapEntry& e = init.entries[i];
            const std::int64_t rc = queue ? m.push(e.value.data(), 0) : m.update_user(e.key.data(), e.value.data(), 0);
            if (rc != 0) {
                return fail(Errc::InvalidArgument, "map \"{}\" entry {}: the update fails: {}", inst.map_name(init.map), i,
                            std::strerror(static_cast<int>(-rc)));
            }
        }
    }
    return {};
}

Result<void> init_maps(runtime::Instance& inst, const std::string& path) {
    auto inits = read_map_init(inst, path);
    if (!inits) {
        return tl::unexpected(std::move(inits.error()));
    }
    auto done = apply_map_init(inst, *inits);
    if (!done) {
        return tl::unexpected(std::move(done.error()).with_context(path));
    }
    return {};
}

}  // namespace sockfilter::tools
