// SPDX-License-Identifier: MIT
// libpcap's own filter tests, read in place from ${SF_SHARED_DIR}/pcap-filter: accept.tsv (every
// expression for a supported link type compiles, or is refused naming its family) and apply.tsv
// (per-packet verdicts on its captures). Cases that fail for a documented reason are listed in
// tests/EXPECTED_FAIL as filter_accept/<DLT> <expr> and filter_apply/<name>; the list is strict.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "filter/parser.h"
#include "filter/test_util.h"
#include "pcap/reader.h"

namespace sockfilter::filter {
namespace {

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v != nullptr ? v : fallback;
}

/// The strict expected-failure list: case -> reason.
std::map<std::string, std::string> expected_failures() {
    std::map<std::string, std::string> out;
    std::ifstream in(env_or("SF_SOURCE_DIR", SF_DEFAULT_SOURCE_DIR) + "/tests/EXPECTED_FAIL");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("filter_", 0) != 0) {
            continue;
        }
        const auto tab = line.find('\t');
        out[line.substr(0, tab)] = tab == std::string::npos ? "" : line.substr(tab + 1);
    }
    return out;
}

bool refused(const Error& e) {
    return e.code == Errc::NotSupported && e.message.find("which sockfilter does not compile") != std::string::npos;
}

/// Names under libpcap.test resolve only with the hosts, ethers and networks files libpcap's own
/// test run installs; here they are unknown names, which is the right error.
bool test_fixture_name(const std::string& expr, const Error& e) {
    std::string lower = expr;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    return lower.find(".libpcap.test") != std::string::npos && e.message.rfind("unknown ", 0) == 0;
}

const std::string kDir = testing::pcap_filter_dir(SF_DEFAULT_SHARED_DIR);

TEST(LibpcapSuite, AcceptTsvCompilesOrRefuses) {
    const auto rows = testing::read_tsv(kDir + "/accept.tsv");
    ASSERT_GT(rows.size(), 2000u) << "accept.tsv not found under " << kDir;
    const auto xfail = expected_failures();
    std::set<std::string> seen;
    int supported = 0, compiled = 0, refusals = 0, listed = 0, fixture_names = 0;
    for (const auto& r : rows) {
        if (r.size() < 3) {
            continue;
        }
        auto lt = parse_linktype(r[1]);
        if (!lt || r[2] == "_enumerate_bpf_image") {
            continue;
        }
        const std::string id = "filter_accept/" + r[1] + " " + r[2];
        if (!seen.insert(id).second) {
            continue;
        }
        ++supported;
        Options o;
        o.linktype = *lt;
        o.socket = default_socket(*lt);
        auto prog = compile(r[2], o);
        std::string problem;
        if (prog) {
            auto loaded = runtime::load(*prog, testing::filter_env());
            if (loaded) {
                ++compiled;
            } else {
                problem = "does not load: " + loaded.error().render();
            }
        } else if (refused(prog.error())) {
            ++refusals;
        } else if (test_fixture_name(r[2], prog.error())) {
            ++fixture_names;
            continue;
        } else {
            problem = prog.error().render();
        }
        const bool is_listed = xfail.count(id) != 0;
        listed += is_listed ? 1 : 0;
        if (!problem.empty() && !is_listed) {
            ADD_FAILURE() << id << ": " << problem;
        } else if (problem.empty() && is_listed) {
            ADD_FAILURE() << id << ": passes now; remove it from tests/EXPECTED_FAIL";
        }
    }
    std::printf("accept.tsv: %d expressions for supported link types: %d compiled and loaded, %d refused "
                "(legacy families), %d name libpcap's test hosts, %d expected failures\n",
                supported, compiled, refusals, fixture_names, listed);
}

TEST(LibpcapSuite, ApplyTsvVerdictsMatch) {
    const auto rows = testing::read_tsv(kDir + "/apply.tsv");
    ASSERT_GT(rows.size(), 100u);
    const auto xfail = expected_failures();
    int cases = 0, agree = 0, refusals = 0, packets = 0;
    for (const auto& r : rows) {
        if (r.size() < 5) {
            continue;
        }
        const std::string id = "filter_apply/" + r[0];
        auto reader = pcap::Reader::open(kDir + "/pcaps/" + r[1]);
        if (!reader) {
            continue;
        }
        auto lt = parse_linktype(std::to_string(reader->linktype()));
        if (!lt) {
            continue;
        }
        ++cases;
        Options o;
        o.linktype = *lt;
        o.socket = default_socket(*lt);
        o.snaplen = reader->snaplen();
        std::string problem;
        auto prog = compile(r[3], o);
        if (!prog) {
            if (refused(prog.error())) {
                ++refusals;
                continue;
            }
            problem = prog.error().render();
        } else {
            std::vector<std::string> want;
            std::stringstream ss(r[4]);
            std::string v;
            while (std::getline(ss, v, ',')) {
                want.push_back(v);
            }
            const auto kind = o.socket == Socket::Packet ? runtime::SocketKind::Packet : runtime::SocketKind::PacketDgram;
            for (std::size_t i = 0; problem.empty(); ++i) {
                auto frame = reader->next();
                if (!frame || !*frame) {
                    if (i != want.size()) {
                        problem = fmt::format("{} packets, {} verdicts", i, want.size());
                    }
                    break;
                }
                ++packets;
                auto got = testing::run_filter(*prog, (*frame)->bytes, *lt, kind);
                if (!got.ok) {
                    problem = fmt::format("packet {}: {}", i + 1, got.error);
                } else if (i >= want.size() || std::to_string(got.r0) != want[i]) {
                    problem = fmt::format("packet {}: got {}, libpcap {}", i + 1, got.r0,
                                          i < want.size() ? want[i] : "nothing");
                }
            }
        }
        if (problem.empty()) {
            ++agree;
        }
        const bool is_listed = xfail.count(id) != 0;
        if (!problem.empty() && !is_listed) {
            ADD_FAILURE() << id << " (" << r[3] << " on " << r[1] << "): " << problem;
        } else if (problem.empty() && is_listed) {
            ADD_FAILURE() << id << ": passes now; remove it from tests/EXPECTED_FAIL";
        }
    }
    std::printf("apply.tsv: %d cases on supported link types: %d agree on every packet (%d packets run), %d "
                "refused (legacy families)\n",
                cases, agree, packets, refusals);
}

}  // namespace
}  // namespace sockfilter::filter
