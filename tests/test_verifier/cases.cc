// SPDX-License-Identifier: MIT
// Reading test_verifier_socket_filter.json and the runner's rules (spec §9.2).
#include "test_verifier/cases.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support/bytes.h"

namespace sockfilter::testing::test_verifier {

namespace {

constexpr std::array kFixupMaps = {FixupMap::Hash8b, FixupMap::Hash48b, FixupMap::Array48b, FixupMap::ArraySmall,
                                   FixupMap::EventOutput};

/// sizeof(struct test_val): `unsigned int index; int foo[MAX_ENTRIES = 11];`.
constexpr std::uint32_t kTestValSize = 48;

/// The struct test_val update_map() writes: index = (6 + 1) * sizeof(int), foo[6] = 0xabcdef12.
std::vector<std::uint8_t> test_val(std::uint32_t value_size) {
    std::vector<std::uint8_t> v(kTestValSize, 0);
    const std::uint32_t index = 28;
    const std::uint32_t foo6 = 0xabcdef12;
    std::memcpy(v.data(), &index, 4);
    std::memcpy(v.data() + 4 + 6 * 4, &foo6, 4);
    v.resize(value_size);
    return v;
}

Result<Expect> parse_expect(const nlohmann::json& j) {
    const std::string s = j.is_string() ? j.get<std::string>() : std::string();
    if (s == "UNDEF") {
        return Expect::Undef;
    }
    if (s == "ACCEPT") {
        return Expect::Accept;
    }
    if (s == "REJECT") {
        return Expect::Reject;
    }
    if (s == "VERBOSE_ACCEPT") {
        return Expect::VerboseAccept;
    }
    return fail(Errc::Format, "unknown result {}", j.dump());
}

std::optional<std::string> optional_string(const nlohmann::json& j) {
    return j.is_string() ? std::optional<std::string>(j.get<std::string>()) : std::nullopt;
}

Result<Case> parse_case(const nlohmann::json& j) {
    Case c;
    c.idx = j.at("idx").get<std::uint32_t>();
    c.descr = j.at("descr").get<std::string>();
    // 1 is BPF_PROG_TYPE_SOCKET_FILTER (prog_type 0 in the C table means the same).
    if (j.at("prog_type").get<int>() != 1) {
        return fail(Errc::Format, "program type {} is not a socket filter", j.at("prog_type").get<int>());
    }
    if (j.value("fill_helper", false) || j.value("btf_types", false) || j.value("func_info_cnt", 0) != 0 ||
        j.value("expected_attach_type", 0) != 0) {
        return fail(Errc::Format,
                    "needs a fill helper, BTF, func info or an attach type, which this replay does not set up");
    }
    if (j.contains("fixup_kfunc_btf_id") && !j["fixup_kfunc_btf_id"].empty()) {
        return fail(Errc::Format, "needs kfunc BTF ids, which this replay does not set up");
    }
    for (const auto& [key, value] : j.items()) {
        if (!key.starts_with("fixup_") || value.empty()) {
            continue;
        }
        const auto* it = std::find_if(kFixupMaps.begin(), kFixupMaps.end(),
                                      [&key](FixupMap m) { return fixup_key(m) == key; });
        if (it == kFixupMaps.end()) {
            return fail(Errc::Format, "{}: a fix-up map this replay does not create", key);
        }
    }
    for (FixupMap m : kFixupMaps) {
        const std::string key(fixup_key(m));
        if (j.contains(key) && !j[key].empty()) {
            c.fixups.push_back(Fixup{m, j[key].get<std::vector<std::uint32_t>>()});
        }
    }
    auto result = parse_expect(j.at("result"));
    auto result_unpriv = parse_expect(j.at("result_unpriv"));
    if (!result || !result_unpriv) {
        return tl::unexpected(std::move(!result ? result.error() : result_unpriv.error()));
    }
    c.result = *result;
    c.result_unpriv = *result_unpriv;
    c.errstr = optional_string(j.at("errstr"));
    c.errstr_unpriv = optional_string(j.at("errstr_unpriv"));
    c.flags = j.at("flags").get<std::uint32_t>();
    c.runs = j.at("runs").get<std::int32_t>();
    c.insn_processed = j.at("insn_processed").get<std::uint32_t>();
    c.as_unpriv = j.at("as_unpriv").get<bool>();
    for (const auto& r : j.at("retvals")) {
        auto data = parse_hex(r.at("data").get<std::string>());
        if (!data) {
            return tl::unexpected(std::move(data.error()).with_context("retvals data"));
        }
        c.retvals.push_back(Run{r.at("retval").get<std::uint32_t>(), r.at("retval_unpriv").get<std::uint32_t>(),
                                std::move(*data)});
    }
    if (c.retvals.size() < c.run_count()) {
        return fail(Errc::Format, "runs = {} but only {} retvals", c.runs, c.retvals.size());
    }
    std::string hex;
    for (const auto& insn : j.at("insns")) {
        hex += insn.get<std::string>();
    }
    auto bytes = parse_hex(hex);
    if (!bytes) {
        return tl::unexpected(std::move(bytes.error()).with_context("insns"));
    }
    auto slots = isa::slots_from_bytes(*bytes);
    if (!slots) {
        return tl::unexpected(std::move(slots.error()).with_context("insns"));
    }
    c.insns = std::move(*slots);
    if (c.insns.size() != j.at("len").get<std::size_t>()) {
        return fail(Errc::Format, "len = {} but {} instructions", j.at("len").get<std::size_t>(), c.insns.size());
    }
    for (const Fixup& f : c.fixups) {
        for (std::uint32_t at : f.insns) {
            if (at + 1 >= c.insns.size() || c.insns[at].opcode != 0x18) {
                return fail(Errc::Format, "{}: instruction {} is not the first slot of an lddw", fixup_key(f.map), at);
            }
        }
    }
    return c;
}

}  // namespace

std::string_view fixup_key(FixupMap map) {
    switch (map) {
        case FixupMap::Hash8b: return "fixup_map_hash_8b";
        case FixupMap::Hash48b: return "fixup_map_hash_48b";
        case FixupMap::Array48b: return "fixup_map_array_48b";
        case FixupMap::ArraySmall: return "fixup_map_array_small";
        case FixupMap::EventOutput: return "fixup_map_event_output";
    }
    return {};
}

program::MapSpec fixup_spec(FixupMap map) {
    program::MapSpec s;
    s.name = std::string(fixup_key(map).substr(std::strlen("fixup_")));
    s.max_entries = 1;
    switch (map) {
        case FixupMap::Hash8b:
        case FixupMap::Hash48b:
            s.type = program::MapType::Hash;
            s.key_size = 8;
            s.value_size = map == FixupMap::Hash8b ? 8 : kTestValSize;
            s.map_flags = program::kMapNoPrealloc;
            break;
        case FixupMap::Array48b:
        case FixupMap::ArraySmall:
            s.type = program::MapType::Array;
            s.key_size = 4;
            s.value_size = map == FixupMap::Array48b ? kTestValSize : 1;
            s.initial_value = test_val(s.value_size);
            break;
        case FixupMap::EventOutput:
            s.type = program::MapType::PerfEventArray;
            s.key_size = 4;
            s.value_size = 4;
            break;
    }
    return s;
}

Expect Case::expected(bool unpriv) const {
    return unpriv && result_unpriv != Expect::Undef ? result_unpriv : result;
}

const std::optional<std::string>& Case::expected_errstr(bool unpriv) const {
    return unpriv && errstr_unpriv ? errstr_unpriv : errstr;
}

std::size_t Case::run_count() const { return runs < 0 ? 0 : runs == 0 ? 1 : static_cast<std::size_t>(runs); }

std::uint32_t Case::expected_retval(std::size_t i, bool unpriv) const {
    const Run& r = retvals.at(i);
    return unpriv && r.retval_unpriv != 0 ? r.retval_unpriv : r.retval;
}

Result<std::vector<Case>> read_cases(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        return fail(Errc::Io, "cannot open {} (set SF_SHARED_DIR to the shared/ folder)", path);
    }
    const nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
    if (doc.is_discarded() || !doc.is_array()) {
        return fail(Errc::Format, "{}: not a JSON array", path);
    }
    std::vector<Case> cases;
    for (const auto& j : doc) {
        Result<Case> c = fail(Errc::Format, "not a case object");
        try {
            c = parse_case(j);
        } catch (const nlohmann::json::exception& e) {
            c = fail(Errc::Format, "{}", e.what());
        }
        if (!c) {
            const std::string where = fmt::format("case {} \"{}\"", j.value("idx", -1), j.value("descr", ""));
            return tl::unexpected(std::move(c.error()).with_context(where).with_context(path));
        }
        cases.push_back(std::move(*c));
    }
    return cases;
}

bool errstr_matches(std::string_view log, std::string_view errstr) {
    std::size_t from = 0;
    while (!errstr.empty()) {
        const std::size_t tab = errstr.find('\t');
        const std::string_view part = errstr.substr(0, tab);
        if (part.empty()) {
            return false;  // cmp_str_seq calls an empty part a test-case bug
        }
        const std::size_t at = log.find(part, from);
        if (at == std::string_view::npos) {
            return false;
        }
        from = at + part.size();
        errstr = tab == std::string_view::npos ? std::string_view{} : errstr.substr(tab + 1);
    }
    return true;
}

std::string pass_name(const Case& c, bool unpriv) {
    return fmt::format("#{}/{} {}", c.idx, unpriv ? 'u' : 'p', c.descr);
}

std::string test_name(const Case& c) {
    std::string out = fmt::format("c{}_", c.idx);
    for (char ch : c.descr) {
        const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (ok) {
            out += ch;
        } else if (out.back() != '_') {
            out += '_';
        }
    }
    while (out.back() == '_') {
        out.pop_back();
    }
    return out;
}

}  // namespace sockfilter::testing::test_verifier
