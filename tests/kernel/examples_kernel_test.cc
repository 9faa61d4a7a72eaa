// SPDX-License-Identifier: MIT
// The example programs (examples/*.c, built into the build tree) against the running kernel: each
// object opens and loads with libbpf, and each program's verdict under BPF_PROG_TEST_RUN on every
// frame of the example captures equals the `ret` of `sockfilter run --socket test-run --json`.
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernel_env.h"
#include "libbpf_object.h"
#include "pcap/reader.h"

namespace sockfilter::testing {
namespace {

const std::string kObjects = SF_EXAMPLES_DIR;
const std::string kSources = SF_EXAMPLES_SOURCE_DIR;
const std::string kSockfilter = SF_SOCKFILTER;

/// Every example object the build makes (examples/CMakeLists.txt), from a comma-separated list.
std::vector<std::string> example_names() {
    std::vector<std::string> out;
    const std::string list = SF_EXAMPLES;
    std::size_t start = 0;
    while (start <= list.size()) {
        const std::size_t end = std::min(list.find(',', start), list.size());
        if (end > start) {
            out.push_back(list.substr(start, end - start));
        }
        start = end + 1;
    }
    return out;
}

/// `ret` of each packet `sockfilter run --socket test-run --json` reports, by index; nullopt
/// where the packet faulted or was not delivered.
std::map<std::uint64_t, std::optional<std::uint32_t>> sockfilter_verdicts(const std::string& object,
                                                                           const std::string& program,
                                                                           const std::string& capture) {
    const std::string cmd = "'" + kSockfilter + "' run '" + object + "' --program " + program + " -r '" + capture +
                            "' --socket test-run --json";
    std::map<std::uint64_t, std::optional<std::uint32_t>> out;
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) {
        ADD_FAILURE() << "cannot run " << cmd;
        return out;
    }
    std::string text;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof(buf), pipe)) > 0;) {
        text.append(buf, n);
    }
    const int status = pclose(pipe);
    EXPECT_EQ(status, 0) << cmd;
    std::size_t start = 0;
    for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
        const auto j = nlohmann::json::parse(text.substr(start, end - start));
        if (!j.contains("index")) {
            continue;
        }
        std::optional<std::uint32_t> ret;
        if (!j["ret"].is_null()) {
            ret = j["ret"].get<std::uint32_t>();
        }
        out[j["index"].get<std::uint64_t>()] = ret;
    }
    return out;
}

class ExamplesKernelTest : public KernelTest {};

TEST_F(ExamplesKernelTest, EveryExampleLoads) {
    const auto names = example_names();
    ASSERT_GE(names.size(), 8U);
    for (const auto& name : names) {
        LibbpfObject obj(kObjects + "/" + name + ".o");
        EXPECT_EQ(obj.error(), "") << name;
    }
}

/// One program of an example.
struct Case {
    const char* example;
    const char* program;
};

// Every example: none has a verdict that depends on map state.
constexpr Case kCases[] = {
    {"port_ld_abs", "port_ld_abs"},     {"port_load_bytes", "port_load_bytes"},
    {"port_relative", "port_relative"}, {"proto_array", "proto_array"},
    {"flow_hash", "flow_hash"},         {"syn_ringbuf", "syn_ringbuf"},
    {"tail_dispatch", "dispatch"},      {"ipv6_ext_walk", "ipv6_ext_walk"},
    {"dynptr_parse", "dynptr_parse"},
};

TEST_F(ExamplesKernelTest, TestRunVerdictsMatchSockfilter) {
    for (const Case& c : kCases) {
        const std::string object = kObjects + "/" + c.example + ".o";
        LibbpfObject obj(object);
        ASSERT_EQ(obj.error(), "") << c.example;
        const int fd = obj.program_fd(c.program);
        ASSERT_GE(fd, 0) << c.example << ": no program " << c.program;
        for (const char* capture_name : {"traffic.pcap", "ipv6_ext.pcap"}) {
            const std::string capture = kSources + "/" + capture_name;
            auto frames = pcap::read_capture(capture);
            ASSERT_TRUE(frames.has_value()) << frames.error().render();
            const auto ours = sockfilter_verdicts(object, c.program, capture);
            ASSERT_EQ(ours.size(), frames->frames.size()) << c.example << " " << capture_name;
            for (std::size_t i = 0; i < frames->frames.size(); ++i) {
                auto& bytes = frames->frames[i].bytes;
                LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = bytes.data(),
                            .data_size_in = static_cast<std::uint32_t>(bytes.size()), .repeat = 1);
                ASSERT_EQ(bpf_prog_test_run_opts(fd, &opts), 0) << c.example << " packet " << i;
                const auto it = ours.find(i);
                ASSERT_NE(it, ours.end());
                EXPECT_EQ(it->second, std::optional<std::uint32_t>(opts.retval))
                    << c.example << " (" << c.program << ") " << capture_name << " packet " << i;
            }
        }
    }
}

}  // namespace
}  // namespace sockfilter::testing
