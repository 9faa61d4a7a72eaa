// SPDX-License-Identifier: MIT
// Classic BPF against the kernel. Under BPF_PROG_TEST_RUN: every test_bpf CLASSIC case and every
// accept.tsv expression (EN10MB, RAW, LINUX_SLL through pcap_compile) converted by cbpf::convert
// loads as a socket filter, and the kernel returns what our classic interpreter and the converted
// program on our eBPF interpreter return on the same frames. On real sockets: classic filters
// attached with SO_ATTACH_FILTER to an AF_PACKET socket in a test namespace pass exactly the
// frames, trimmed to exactly the lengths, that the classic interpreter predicts, and
// SO_GET_FILTER returns the program as attached.
#include <gtest/gtest.h>

#include <linux/if_packet.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <string>
#include <vector>

#include "cbpf/convert.h"
#include "cbpf/interpreter.h"
#include "cbpf/pcap_test_util.h"
#include "cbpf/test_util.h"
#include "cbpf/text.h"
#include "cbpf/validate.h"
#include "frames.h"
#include "kernel/bpf.h"
#include "kernel/classic.h"
#include "kernel_env.h"
#include "netns.h"
#include "pcap/test_util.h"
#include "runtime/load.h"
#include "runtime/packet.h"
#include "traffic.h"
#include "vm/interpreter.h"

namespace sockfilter::testing {
namespace {

using namespace std::chrono_literals;
using cbpf::Filter;
using cbpf::Insn;

/// Whether `f` reads SKF_AD_RANDOM or SKF_AD_CPU, whose values differ between two runs.
bool nondeterministic(const Filter& f) {
    return std::any_of(f.begin(), f.end(), [](const Insn& in) {
        if (cbpf::code::cls(in.code) != cbpf::code::kLd || cbpf::code::mode(in.code) != cbpf::code::kAbs) {
            return false;
        }
        const auto a = cbpf::ancillary(in.k);
        return a == cbpf::Ancillary::Random || a == cbpf::Ancillary::Cpu;
    });
}

/// Whether every ancillary load of `f` converts (hatype, nla, nlan and poff do not).
bool convertible(const Filter& f) {
    return std::none_of(f.begin(), f.end(), [](const Insn& in) {
        if (cbpf::code::cls(in.code) != cbpf::code::kLd || cbpf::code::mode(in.code) != cbpf::code::kAbs) {
            return false;
        }
        const auto a = cbpf::ancillary(in.k);
        return a && !cbpf::convertible(*a);
    });
}

/// The frames of `candidates` that BPF_PROG_TEST_RUN takes (make_skb refuses, as the kernel does,
/// an IP frame shorter than its IP header), at most `limit` of them, spread over the list.
std::vector<std::vector<std::uint8_t>> test_run_frames(const std::vector<std::vector<std::uint8_t>>& candidates,
                                                       std::size_t limit) {
    std::vector<std::vector<std::uint8_t>> ok;
    for (const auto& f : candidates) {
        if (runtime::make_skb(f, runtime::dlt::kEn10mb, runtime::SocketKind::TestRun)) ok.push_back(f);
    }
    if (ok.size() <= limit) return ok;
    std::vector<std::vector<std::uint8_t>> out;
    for (std::size_t i = 0; i < limit; ++i) out.push_back(ok[i * ok.size() / limit]);
    return out;
}

/// Runs `f` on each frame (Ethernet, at least 14 bytes) in the kernel under BPF_PROG_TEST_RUN, on
/// the classic interpreter and converted on the eBPF interpreter; returns the disagreements.
/// `runs` counts the frames run.
std::string compare_test_run(const Filter& f, const std::string& name, const std::vector<std::vector<std::uint8_t>>& frames,
                             runtime::Instance& inst, std::size_t& runs) {
    auto prog = cbpf::convert(f, "classic");
    if (!prog) {
        return name + ": conversion failed: " + prog.error().render() + "\n";
    }
    std::string log;
    auto fd = kernel::load_socket_filter(*prog, {.log_level = 0}, &log);
    if (!fd) {
        return name + ": the kernel refuses the conversion: " + fd.error().render() + "\n";
    }
    if (nondeterministic(f)) {
        return {};  // loads; its values are random or the CPU's
    }
    cbpf::Interpreter classic(f, inst);
    vm::Interpreter engine(runtime::LoadedProgram{&*prog, runtime::socket_filter_env()}, vm::Options{});
    std::string problems;
    for (std::size_t i = 0; i < frames.size(); ++i) {
        auto skb = runtime::make_skb(frames[i], runtime::dlt::kEn10mb, runtime::SocketKind::TestRun);
        if (!skb) {
            return name + ": frame " + std::to_string(i) + ": " + skb.error().render() + "\n";
        }
        auto k = kernel::test_run(*fd, frames[i], std::nullopt);
        if (!k) {
            return name + ": test run: " + k.error().render() + "\n";
        }
        const std::uint32_t ours = classic.run(*skb);
        vm::RunInput in;
        in.skb = &*skb;
        const vm::ExecResult r = engine.run(in);
        ++runs;
        if (ours != k->retval || r.status != vm::ExecStatus::Ok || static_cast<std::uint32_t>(r.r0) != k->retval) {
            problems += fmt::format("{}: frame {} ({} bytes): kernel {:#x}, classic {:#x}, converted {:#x}{}\n", name, i,
                                    frames[i].size(), k->retval, ours, static_cast<std::uint32_t>(r.r0),
                                    r.status == vm::ExecStatus::Ok ? "" : " (" + engine.fault_message() + ")");
            if (std::count(problems.begin(), problems.end(), '\n') > 20) {
                break;
            }
        }
    }
    return problems;
}

class ClassicKernelTest : public KernelTest {};

TEST_F(ClassicKernelTest, TestBpfCasesLoadAndAgreeUnderTestRun) {
    std::string error;
    const auto cases = cbpf::testing::read_test_bpf_cases(error);
    ASSERT_TRUE(error.empty()) << error;
    auto inst = *runtime::Instance::create({}, {}, {});
    std::vector<std::vector<std::uint8_t>> all;
    for (const auto& c : netns::protocol_mix(netns::Hosts::fixed())) all.push_back(c.bytes);
    const auto mixed = test_run_frames(all, 24);
    std::size_t loaded = 0;
    std::size_t runs = 0;
    std::size_t refused = 0;
    std::string problems;
    for (const auto& c : cases) {
        if (c.expected_fail || !c.filter) continue;
        if (!convertible(*c.filter)) {
            ++refused;  // hatype, nla, nlan or poff: no socket-filter equivalent (docs/SEMANTICS.md)
            continue;
        }
        std::vector<std::vector<std::uint8_t>> own;
        if (!c.no_data) {
            for (const auto& [size, result] : cbpf::testing::runnable(c)) {
                auto skb = cbpf::testing::fake_skb(c, size);
                if (skb.bytes.size() >= 14) own.push_back(skb.bytes);
            }
        }
        auto frames = test_run_frames(own, own.size());
        frames.insert(frames.end(), mixed.begin(), mixed.end());
        problems += compare_test_run(*c.filter, c.descr, frames, *inst, runs);
        ++loaded;
    }
    EXPECT_TRUE(problems.empty()) << problems;
    EXPECT_GE(loaded, 100u);
    std::printf("%zu test_bpf programs loaded, %zu frames compared, %zu refused (no socket-filter equivalent)\n",
                loaded, runs, refused);
}

TEST_F(ClassicKernelTest, AcceptedExpressionsLoadAndAgreeUnderTestRun) {
    auto inst = *runtime::Instance::create({}, {}, {});
    // Bounded: a kernel load and a test run per frame for each of some 2,000 programs.
    const auto captured = cbpf::testing::frames_by_linktype();
    auto frames = test_run_frames(captured.count(DLT_EN10MB) != 0 ? captured.at(DLT_EN10MB)
                                                                 : std::vector<std::vector<std::uint8_t>>{}, 16);
    std::vector<std::vector<std::uint8_t>> all;
    for (const auto& c : netns::protocol_mix(netns::Hosts::fixed())) all.push_back(c.bytes);
    const auto mixed = test_run_frames(all, 24);
    frames.insert(frames.end(), mixed.begin(), mixed.end());
    std::size_t programs = 0;
    std::size_t runs = 0;
    std::string problems;
    for (const auto& c : cbpf::testing::compile_accepted()) {
        if (!cbpf::validate(c.filter)) continue;  // protochain's backward jump, refused by the kernel too
        problems += compare_test_run(c.filter, c.expr + " (opt " + std::to_string(c.optimize) + ")", frames, *inst, runs);
        ++programs;
    }
    EXPECT_TRUE(problems.empty()) << problems;
    EXPECT_GT(programs, 1000u);
    std::printf("%zu accept.tsv programs loaded, %zu frames compared\n", programs, runs);
}

/// A classic program from tcpdump-style text (pcap_compile for EN10MB, optimized).
Filter pcap_filter(const std::string& expr) {
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 262144);
    bpf_program bp{};
    Filter f;
    if (pcap_compile(dead, &bp, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0) {
        for (u_int i = 0; i < bp.bf_len; ++i) {
            f.push_back(Insn{bp.bf_insns[i].code, bp.bf_insns[i].jt, bp.bf_insns[i].jf, bp.bf_insns[i].k});
        }
        pcap_freecode(&bp);
    }
    pcap_close(dead);
    return f;
}

Filter bpf_asm(const std::string& text) {
    auto f = cbpf::parse_text(text, cbpf::TextFormat::BpfAsm, "test");
    EXPECT_TRUE(f) << f.error().render();
    return f ? *f : Filter{};
}

/// The frame `frame` as an AF_PACKET SOCK_RAW socket on `at` receives it, and whether and how
/// long the classic filter keeps it.
struct Prediction {
    std::vector<std::uint8_t> bytes;  ///< what recv returns: trimmed to the filter's result
    std::uint32_t orig_len = 0;
};

std::optional<Prediction> predict(const Filter& f, runtime::Instance& inst, const std::vector<std::uint8_t>& frame,
                                  const netns::Endpoint& at) {
    auto skb = runtime::make_skb(frame, runtime::dlt::kEn10mb, runtime::SocketKind::Packet);
    EXPECT_TRUE(skb) << skb.error().render();
    skb->meta.ifindex = static_cast<std::uint32_t>(at.ifindex);
    skb->meta.dev_type = 1;  // ARPHRD_ETHER
    const std::uint32_t keep = cbpf::Interpreter(f, inst).run(*skb);
    if (keep == 0) return std::nullopt;
    Prediction p;
    p.orig_len = skb->len();
    p.bytes.assign(skb->bytes.begin() + skb->data, skb->bytes.begin() + skb->data + std::min(keep, skb->len()));
    return p;
}

TEST_F(ClassicKernelTest, SoAttachFilterOnPacketSocketPassesWhatTheInterpreterPredicts) {
    const std::vector<std::pair<std::string, Filter>> filters = {
        {"udp port 7", pcap_filter("udp port 7")},
        {"ip6 or vlan", pcap_filter("ip6 or vlan")},
        {"ret #64", bpf_asm("ret #64")},
        {"drop all", bpf_asm("ret #0")},
        {"tcp, trimmed to 54", bpf_asm("ldh [12]\njeq #0x800, v4, drop\nv4: ldb [23]\njeq #6, keep, drop\n"
                                       "keep: ret #54\ndrop: ret #0")},
        {"ancillary: vlan_tci 5, or pkttype broadcast",
         bpf_asm("ld vlan_tci\nand #0xfff\njeq #5, keep, next\nnext: ld type\njeq #1, keep, drop\n"
                 "keep: ret #-1\ndrop: ret #0")},
    };
    auto pair = netns::VethPair::create();
    ASSERT_TRUE(pair) << pair.error().render();
    auto inst = *runtime::Instance::create({}, {}, {});
    pcap::testing::ScratchDir dir;
    const auto traffic = netns::mixed_traffic(netns::Hosts::between(pair->a(), pair->b()), 7);
    {
        // veth drops what is sent before the carrier is up on both ends: wait until a frame passes.
        auto witness = netns::PacketSocket::open(pair->b(), SOCK_RAW);
        ASSERT_TRUE(witness) << witness.error().render();
        auto sender = netns::TrafficSender::open(pair->a(), dir.path("probe.pcap"), 50);
        ASSERT_TRUE(sender) << sender.error().render();
        const auto probe = netns::ethernet_frame(netns::Hosts::between(pair->a(), pair->b()), netns::Link{}, 0x88b5,
                                                 netns::payload(46, 0));
        bool passed = false;
        for (int i = 0; i < 50 && !passed; ++i) {
            ASSERT_TRUE(sender->send(probe));
            auto got = witness->receive(1, 100ms);
            ASSERT_TRUE(got) << got.error().render();
            passed = !got->empty();
        }
        ASSERT_TRUE(passed) << "no frame crossed the veth pair in 5 s";
        ASSERT_TRUE(witness->drain(100ms));
    }
    for (const auto& [name, filter] : filters) {
        SCOPED_TRACE(name);
        ASSERT_FALSE(filter.empty());
        ASSERT_TRUE(cbpf::validate(filter));
        auto sock = netns::PacketSocket::open(pair->b(), SOCK_RAW, [&](int fd) { return kernel::attach_filter(fd, filter); });
        ASSERT_TRUE(sock) << sock.error().render();
        auto back = kernel::get_filter(sock->fd());
        ASSERT_TRUE(back) << back.error().render();
        EXPECT_EQ(back->kind, kernel::SocketFilter::Kind::Classic);
        EXPECT_EQ(back->filter, filter);
        {
            auto sender = netns::TrafficSender::open(pair->a(), dir.path("sent.pcap"));
            ASSERT_TRUE(sender) << sender.error().render();
            for (const auto& c : traffic) {
                auto r = sender->send(c.bytes);
                ASSERT_TRUE(r) << c.what << ": " << r.error().render();
            }
            ASSERT_TRUE(sender->close());
        }
        std::vector<std::pair<std::string, Prediction>> want;
        for (const auto& c : traffic) {
            if (auto p = predict(filter, *inst, c.bytes, pair->b())) want.emplace_back(c.what, std::move(*p));
        }
        auto got = want.empty() ? sock->drain(300ms) : sock->receive(want.size(), 2s);
        ASSERT_TRUE(got) << got.error().render();
        if (!want.empty()) {
            auto late = sock->drain(200ms);
            ASSERT_TRUE(late) << late.error().render();
            got->insert(got->end(), late->begin(), late->end());
        }
        ASSERT_EQ(got->size(), want.size());
        for (std::size_t i = 0; i < want.size(); ++i) {
            EXPECT_EQ((*got)[i].bytes, want[i].second.bytes) << want[i].first;
            EXPECT_EQ((*got)[i].orig_len, want[i].second.orig_len) << want[i].first;
        }
    }
}

TEST_F(ClassicKernelTest, SoGetFilterReadsBackExactlyWhatWasAttached) {
    kernel::Fd sock(::socket(AF_INET, SOCK_DGRAM, 0));
    ASSERT_TRUE(sock) << std::strerror(errno);
    auto none = kernel::get_filter(sock.get());
    ASSERT_TRUE(none) << none.error().render();
    EXPECT_EQ(none->kind, kernel::SocketFilter::Kind::None);
    // Every test_bpf program the kernel accepts reads back byte for byte, including instructions
    // with unused fields set, which the kernel keeps as given.
    std::string error;
    const auto cases = cbpf::testing::read_test_bpf_cases(error);
    ASSERT_TRUE(error.empty()) << error;
    std::size_t attached = 0;
    std::size_t too_big = 0;
    for (const auto& c : cases) {
        if (c.expected_fail || !c.filter) continue;
        auto a = kernel::attach_filter(sock.get(), *c.filter);
        if (!a && a.error().sys_errno == ENOMEM && c.filter->size() > 1000) {
            ++too_big;  // the socket's option memory (net.core.optmem_max) is charged the conversion
            continue;
        }
        ASSERT_TRUE(a) << c.descr << ": " << a.error().render();
        auto back = kernel::get_filter(sock.get());
        ASSERT_TRUE(back) << back.error().render();
        EXPECT_EQ(back->kind, kernel::SocketFilter::Kind::Classic) << c.descr;
        EXPECT_EQ(back->filter, *c.filter) << c.descr;
        ++attached;
    }
    EXPECT_GE(attached, 100u);
    std::printf("%zu test_bpf programs attached and read back, %zu over the socket's option memory\n", attached,
                too_big);
    // A program the kernel rejects is EINVAL and leaves the previous filter in place.
    const Filter last = kernel::get_filter(sock.get())->filter;
    auto bad = kernel::attach_filter(sock.get(), Filter{Insn{cbpf::code::kLd | cbpf::code::kMem, 0, 0, 0},
                                                        Insn{cbpf::code::kRet | cbpf::code::kA, 0, 0, 0}});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().sys_errno, EINVAL);
    EXPECT_EQ(kernel::get_filter(sock.get())->filter, last);
    // An eBPF filter has no classic original: SO_GET_FILTER says EACCES.
    auto prog = cbpf::convert(Filter{Insn{cbpf::code::kRet | cbpf::code::kK, 0, 0, 0xffffffffu}});
    ASSERT_TRUE(prog);
    auto fd = kernel::load_socket_filter(*prog);
    ASSERT_TRUE(fd) << fd.error().render();
    const int pfd = fd->get();
    ASSERT_EQ(::setsockopt(sock.get(), SOL_SOCKET, SO_ATTACH_BPF, &pfd, sizeof pfd), 0) << std::strerror(errno);
    auto ebpf = kernel::get_filter(sock.get());
    ASSERT_TRUE(ebpf) << ebpf.error().render();
    EXPECT_EQ(ebpf->kind, kernel::SocketFilter::Kind::Ebpf);
    // Not a socket.
    int ends[2];
    ASSERT_EQ(::pipe(ends), 0);
    const kernel::Fd rd(ends[0]);
    const kernel::Fd wr(ends[1]);
    auto notsock = kernel::get_filter(rd.get());
    ASSERT_FALSE(notsock);
    EXPECT_EQ(notsock.error().sys_errno, ENOTSOCK);
    EXPECT_EQ(notsock.error().render(), "getsockopt(SO_GET_FILTER): Socket operation on non-socket");
}

/// Runs `sockfilter ARGS` and returns its exit status and standard output.
std::pair<int, std::string> sockfilter(const std::string& args) {
    std::string out;
    FILE* p = ::popen((std::string(SF_SOCKFILTER) + " " + args + " 2>&1").c_str(), "r");
    if (p == nullptr) return {-1, "popen failed"};
    std::array<char, 4096> buf{};
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    const int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST_F(ClassicKernelTest, DumpFilterCommandReadsTheFilterOfAProcessSocket) {
    kernel::Fd sock(::socket(AF_INET, SOCK_DGRAM, 0));
    ASSERT_TRUE(sock) << std::strerror(errno);
    const std::string target = fmt::format("--pid {} --fd {}", ::getpid(), sock.get());
    auto [none_status, none_out] = sockfilter("dump-filter " + target);
    EXPECT_EQ(none_status, 1);
    EXPECT_NE(none_out.find("the socket has no filter"), std::string::npos) << none_out;

    const Filter filter = pcap_filter("udp port 53 or icmp");
    ASSERT_FALSE(filter.empty());
    ASSERT_TRUE(kernel::attach_filter(sock.get(), filter));
    for (const auto f : {cbpf::TextFormat::Listing, cbpf::TextFormat::CArray, cbpf::TextFormat::Decimal,
                         cbpf::TextFormat::Bytecode, cbpf::TextFormat::BpfAsm}) {
        const std::string name(cbpf::text_format_name(f));
        auto [status, out] = sockfilter("dump-filter " + target + " --to " + name);
        EXPECT_EQ(status, 0) << name << ": " << out;
        EXPECT_EQ(out, cbpf::write_text(filter, f)) << name;
    }
    pcap::testing::ScratchDir dir;
    const std::string raw = dir.path("filter.raw");
    auto [raw_status, raw_out] = sockfilter("dump-filter " + target + " --to raw -o " + raw);
    ASSERT_EQ(raw_status, 0) << raw_out;
    std::ifstream in(raw, std::ios::binary);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto back = cbpf::from_bytes(bytes);
    ASSERT_TRUE(back) << back.error().render();
    EXPECT_EQ(*back, filter);

    auto prog = cbpf::convert(filter);
    ASSERT_TRUE(prog);
    auto fd = kernel::load_socket_filter(*prog);
    ASSERT_TRUE(fd) << fd.error().render();
    const int pfd = fd->get();
    ASSERT_EQ(::setsockopt(sock.get(), SOL_SOCKET, SO_ATTACH_BPF, &pfd, sizeof pfd), 0) << std::strerror(errno);
    auto [ebpf_status, ebpf_out] = sockfilter("dump-filter " + target);
    EXPECT_EQ(ebpf_status, 1);
    EXPECT_NE(ebpf_out.find("the socket's filter is an eBPF program (SO_ATTACH_BPF)"), std::string::npos) << ebpf_out;
}

TEST_F(ClassicKernelTest, AttachCommandAttachesClassicInputWithSoAttachFilter) {
    kernel::Fd sock(::socket(AF_INET, SOCK_DGRAM, 0));
    ASSERT_TRUE(sock) << std::strerror(errno);
    const std::string target = fmt::format("--pid {} --fd {}", ::getpid(), sock.get());
    const Filter filter = pcap_filter("udp port 53 or icmp");
    ASSERT_FALSE(filter.empty());
    pcap::testing::ScratchDir dir;
    const std::string path = dir.path("filter.ddd");
    std::ofstream(path) << cbpf::write_text(filter, cbpf::TextFormat::Decimal);
    auto [status, out] = sockfilter("attach " + path + " " + target + " --lock");
    ASSERT_EQ(status, 0) << out;
    EXPECT_NE(out.find(fmt::format("attached the classic filter of {} ({} instructions, SO_ATTACH_FILTER)", path,
                                   filter.size())),
              std::string::npos)
        << out;
    // The kernel holds the classic program itself (not an eBPF conversion), locked.
    auto back = kernel::get_filter(sock.get());
    ASSERT_TRUE(back) << back.error().render();
    EXPECT_EQ(back->kind, kernel::SocketFilter::Kind::Classic);
    EXPECT_EQ(back->filter, filter);
    auto again = sockfilter("attach " + path + " " + target);
    EXPECT_EQ(again.first, 1) << again.second;
    EXPECT_NE(again.second.find("the socket's filter is locked"), std::string::npos) << again.second;
}

}  // namespace
}  // namespace sockfilter::testing
