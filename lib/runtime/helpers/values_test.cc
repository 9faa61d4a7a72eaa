// SPDX-License-Identifier: MIT
// Packet, socket, clock, current-task, string and formatting helpers: results, error codes and
// faults.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>

#include "runtime/helpers/format.h"
#include "runtime/helpers/impl.h"
#include "runtime/helpers/test_util.h"

namespace sockfilter::runtime {
namespace {

using namespace testing;
namespace h = helpers;

class ValueHelpers : public ::testing::Test {
protected:
    void SetUp() override {
        inst_ = make_instance({}, {}, InstanceOptions{2, 7, 1, 1000});
        ASSERT_NE(inst_, nullptr);
        mem_.allow(buf_.data(), buf_.size());
        mem_.allow(ro_.data(), ro_.size(), false);
        // 14-byte MAC header, 20-byte IP header, 8 more bytes; offset 0 at the IP header.
        for (std::uint8_t i = 0; i < 42; ++i) {
            skb_.bytes.push_back(i);
        }
        skb_.mac_header = 0;
        skb_.network_header = 14;
        skb_.data = 14;
        env_ = make_env(inst_.get(), &mem_, &skb_);
    }
    std::uint64_t buf(std::size_t off = 0) { return addr(buf_.data() + off); }
    /// Puts `s` (with its NUL) in the read-only buffer at `off`.
    std::uint64_t ro(const std::string& s, std::size_t off = 0) {
        std::memcpy(ro_.data() + off, s.c_str(), s.size() + 1);
        return addr(ro_.data() + off);
    }

    std::unique_ptr<Instance> inst_;
    FakeMemory mem_;
    std::array<std::uint8_t, 128> buf_{};
    std::array<std::uint8_t, 128> ro_{};
    Skb skb_;
    CallEnv env_;
};

TEST_F(ValueHelpers, SkbLoadBytes) {
    EXPECT_EQ(h::skb_load_bytes(env_, kCtx, 26, buf(), 2, 0), 0U);
    EXPECT_EQ(buf_[0], 40);
    EXPECT_EQ(buf_[1], 41);
    buf_.fill(0xff);
    EXPECT_EQ(s64(h::skb_load_bytes(env_, kCtx, 27, buf(), 2, 0)), -14);  // past the end
    EXPECT_EQ(buf_[0], 0);                                              // cleared
    EXPECT_EQ(buf_[1], 0);
    EXPECT_EQ(buf_[2], 0xff);
    EXPECT_EQ(s64(h::skb_load_bytes(env_, kCtx, 0x80000000ULL, buf(), 1, 0)), -14);
    EXPECT_EQ(s64(h::skb_load_bytes(env_, kCtx, 0xffffffffULL, buf(), 1, 0)), -14);
    EXPECT_EQ(h::skb_load_bytes(env_, kCtx, 0x100000000ULL, buf(), 1, 0), 0U);  // offset is a u32
    EXPECT_EQ(buf_[0], 14);
    EXPECT_TRUE(env_.fault.empty());
    h::skb_load_bytes(env_, kCtx, 0, addr(ro_.data()), 1, 0);
    EXPECT_NE(env_.fault.find("bpf_skb_load_bytes: R3 (to, 1 bytes at"), std::string::npos);
    env_.fault.clear();
    h::skb_load_bytes(env_, 0, 0, buf(), 1, 0);
    EXPECT_EQ(env_.fault, "bpf_skb_load_bytes: R1 (0x0) is not the context pointer");
}

TEST_F(ValueHelpers, SkbLoadBytesRelative) {
    EXPECT_EQ(h::skb_load_bytes_relative(env_, kCtx, 12, buf(), 2, 0), 0U);
    EXPECT_EQ(buf_[0], 12);
    EXPECT_EQ(h::skb_load_bytes_relative(env_, kCtx, 0, buf(), 1, 1), 0U);
    EXPECT_EQ(buf_[0], 14);
    EXPECT_EQ(h::skb_load_bytes_relative(env_, kCtx, 40, buf(), 2, 0), 0U);  // up to the tail
    EXPECT_EQ(s64(h::skb_load_bytes_relative(env_, kCtx, 41, buf(), 2, 0)), -14);
    EXPECT_EQ(buf_[0], 0);
    EXPECT_EQ(s64(h::skb_load_bytes_relative(env_, kCtx, 0x10000, buf(), 1, 0)), -14);
    EXPECT_EQ(s64(h::skb_load_bytes_relative(env_, kCtx, 0, buf(), 1, 2)), -14);  // unknown start
    skb_.mac_header = kNoHeader;
    buf_[0] = 9;
    EXPECT_EQ(s64(h::skb_load_bytes_relative(env_, kCtx, 0, buf(), 1, 0)), -14);
    EXPECT_EQ(buf_[0], 0);
}

TEST_F(ValueHelpers, SocketCookieUidNetns) {
    EXPECT_EQ(h::get_socket_cookie(env_, kCtx, 0, 0, 0, 0), 0U);
    EXPECT_EQ(h::get_socket_uid(env_, kCtx, 0, 0, 0, 0), 65534U);
    skb_.meta.has_sk = true;
    skb_.meta.sock.family = kAfInet;
    skb_.meta.sock.src_port = 53;
    const std::uint64_t cookie = h::get_socket_cookie(env_, kCtx, 0, 0, 0, 0);
    EXPECT_NE(cookie, 0U);
    EXPECT_EQ(h::get_socket_cookie(env_, kCtx, 0, 0, 0, 0), cookie);
    skb_.meta.sock.src_port = 54;
    EXPECT_NE(h::get_socket_cookie(env_, kCtx, 0, 0, 0, 0), cookie);
    EXPECT_EQ(h::get_socket_uid(env_, kCtx, 0, 0, 0, 0), 1000U);
    EXPECT_EQ(h::get_netns_cookie(env_, 0, 0, 0, 0, 0), 1U);
    EXPECT_EQ(h::get_netns_cookie(env_, kCtx, 0, 0, 0, 0), 1U);
    EXPECT_TRUE(env_.fault.empty());
}

TEST_F(ValueHelpers, ClocksRandomCpu) {
    inst_->set_now_ns(10'006'000'123);
    EXPECT_EQ(h::ktime_get_ns(env_, 0, 0, 0, 0, 0), 10'006'000'123U);
    EXPECT_EQ(h::ktime_get_boot_ns(env_, 0, 0, 0, 0, 0), 10'006'000'123U);
    EXPECT_EQ(h::ktime_get_coarse_ns(env_, 0, 0, 0, 0, 0), 10'004'000'000U);
    EXPECT_EQ(h::ktime_get_tai_ns(env_, 0, 0, 0, 0, 0), 47'006'000'123U);
    EXPECT_EQ(h::jiffies64(env_, 0, 0, 0, 0, 0), 4294892296U + 2501U);
    inst_->set_cpu(1);
    EXPECT_EQ(h::get_smp_processor_id(env_, 0, 0, 0, 0, 0), 1U);
    EXPECT_EQ(h::get_numa_node_id(env_, 0, 0, 0, 0, 0), 0U);
    auto again = make_instance({}, {}, InstanceOptions{2, 7, 1, 0});
    CallEnv other = make_env(again.get(), &mem_);
    const std::uint64_t r = h::get_prandom_u32(env_, 0, 0, 0, 0, 0);
    EXPECT_LE(r, 0xffffffffU);
    EXPECT_EQ(h::get_prandom_u32(other, 0, 0, 0, 0, 0), r);  // same seed, same sequence
}

TEST_F(ValueHelpers, CurrentTaskModel) {
    EXPECT_EQ(h::get_current_pid_tgid(env_, 0, 0, 0, 0, 0), 0U);
    EXPECT_EQ(h::get_current_uid_gid(env_, 0, 0, 0, 0, 0), 0U);
    EXPECT_EQ(h::get_cgroup_classid(env_, 0, 0, 0, 0, 0), 0U);
    EXPECT_EQ(h::get_current_cgroup_id(env_, 0, 0, 0, 0, 0), 1U);
    EXPECT_EQ(h::get_current_ancestor_cgroup_id(env_, 0, 0, 0, 0, 0), 1U);
    EXPECT_EQ(h::get_current_ancestor_cgroup_id(env_, 1, 0, 0, 0, 0), 0U);
    EXPECT_EQ(h::get_current_ancestor_cgroup_id(env_, 0xffffffffULL, 0, 0, 0, 0), 0U);
    auto child = make_instance({}, {}, InstanceOptions{1, 0, 4242, 0});
    CallEnv in_child = make_env(child.get(), &mem_);
    EXPECT_EQ(h::get_current_cgroup_id(in_child, 0, 0, 0, 0, 0), 4242U);
    EXPECT_EQ(h::get_current_ancestor_cgroup_id(in_child, 1, 0, 0, 0, 0), 4242U);
    EXPECT_EQ(h::get_current_ancestor_cgroup_id(in_child, 2, 0, 0, 0, 0), 0U);
    buf_.fill(0xff);
    EXPECT_EQ(h::get_ns_current_pid_tgid(env_, 0, 0xeffffffcU, buf(), 8, 0), 0U);
    EXPECT_EQ(buf_[0], 0);
    EXPECT_EQ(buf_[7], 0);
    buf_.fill(0xff);
    EXPECT_EQ(s64(h::get_ns_current_pid_tgid(env_, 1, 0xeffffffcU, buf(), 8, 0)), -22);
    EXPECT_EQ(buf_[7], 0);
    EXPECT_EQ(s64(h::get_ns_current_pid_tgid(env_, 0, 5, buf(), 8, 0)), -22);
    buf_.fill(0xff);
    EXPECT_EQ(s64(h::get_ns_current_pid_tgid(env_, 0, 0xeffffffcU, buf(), 12, 0)), -22);
    EXPECT_EQ(buf_[11], 0);
}

TEST_F(ValueHelpers, Strncmp) {
    const std::uint64_t s2 = ro("abc");
    std::memcpy(buf_.data(), "abd", 4);
    EXPECT_EQ(s64(h::strncmp(env_, buf(), 2, s2, 0, 0)), 0);
    EXPECT_EQ(s64(h::strncmp(env_, buf(), 3, s2, 0, 0)), 1);
    std::memcpy(buf_.data(), "abb", 4);
    EXPECT_EQ(s64(h::strncmp(env_, buf(), 3, s2, 0, 0)), -1);
    std::memcpy(buf_.data(), "abc\0x", 5);
    EXPECT_EQ(s64(h::strncmp(env_, buf(), 5, s2, 0, 0)), 0);
    std::memcpy(buf_.data(), "ab\xff", 3);
    EXPECT_EQ(s64(h::strncmp(env_, buf(), 3, s2, 0, 0)), 1);  // unsigned chars
    EXPECT_TRUE(env_.fault.empty());
    ro_.fill('x');
    h::strncmp(env_, buf(), 3, addr(ro_.data()), 0, 0);
    EXPECT_NE(env_.fault.find("R3 (s2 at"), std::string::npos);
}

/// strtol/strtoul of `text` (without a NUL unless it has one) with `flags`: r0 and *res.
std::pair<std::int64_t, std::int64_t> parse(CallEnv& env, std::array<std::uint8_t, 128>& buf, std::string text,
                                            std::uint64_t flags, bool is_unsigned = false) {
    std::memcpy(buf.data(), text.data(), text.size());
    buf.fill(0);
    std::memcpy(buf.data(), text.data(), text.size());
    std::memset(buf.data() + 96, 0x5a, 8);
    const std::uint64_t res = addr(buf.data() + 96);
    const std::uint64_t r0 = is_unsigned ? helpers::strtoul(env, addr(buf.data()), text.size(), flags, res, 0)
                                         : helpers::strtol(env, addr(buf.data()), text.size(), flags, res, 0);
    std::int64_t v = 0;
    std::memcpy(&v, buf.data() + 96, 8);
    return {static_cast<std::int64_t>(r0), v};
}

TEST_F(ValueHelpers, Strtol) {
    using P = std::pair<std::int64_t, std::int64_t>;
    EXPECT_EQ(parse(env_, buf_, "123", 10), P(3, 123));
    EXPECT_EQ(parse(env_, buf_, "  -42x", 0), P(5, -42));
    EXPECT_EQ(parse(env_, buf_, "0x1f", 0), P(4, 31));
    EXPECT_EQ(parse(env_, buf_, "0x1f", 16), P(4, 31));
    EXPECT_EQ(parse(env_, buf_, "1f", 16), P(2, 31));
    EXPECT_EQ(parse(env_, buf_, "017", 0), P(3, 15));
    EXPECT_EQ(parse(env_, buf_, "0xg", 0), P(1, 0));  // octal 0, then 'x'
    EXPECT_EQ(parse(env_, buf_, "0xg", 16), P(-22, 0));
    EXPECT_EQ(parse(env_, buf_, "19", 8), P(1, 1));
    EXPECT_EQ(parse(env_, buf_, "abc", 10), P(-22, 0));
    EXPECT_EQ(parse(env_, buf_, "   ", 10), P(-22, 0));
    EXPECT_EQ(parse(env_, buf_, "-", 10), P(-22, 0));
    EXPECT_EQ(parse(env_, buf_, "12", 2), P(-22, 0));         // base
    EXPECT_EQ(parse(env_, buf_, "12", 0x20 | 10), P(-22, 0));  // flags
    EXPECT_EQ(parse(env_, buf_, "9223372036854775807", 10), P(19, INT64_MAX));
    EXPECT_EQ(parse(env_, buf_, "9223372036854775808", 10), P(-34, 0));
    EXPECT_EQ(parse(env_, buf_, "-9223372036854775808", 10), P(20, INT64_MIN));
    EXPECT_EQ(parse(env_, buf_, "-9223372036854775809", 10), P(-34, 0));
    EXPECT_EQ(parse(env_, buf_, "18446744073709551616", 10), P(-34, 0));
    EXPECT_EQ(parse(env_, buf_, "7\0" "8", 10), P(1, 7));
    // At most 63 characters after the sign are looked at.
    EXPECT_EQ(parse(env_, buf_, std::string(70, '0') + "5", 10).first, 63);
}

TEST_F(ValueHelpers, Strtoul) {
    using P = std::pair<std::int64_t, std::int64_t>;
    EXPECT_EQ(parse(env_, buf_, "18446744073709551615", 10, true), P(20, -1));
    EXPECT_EQ(parse(env_, buf_, "-1", 10, true), P(-22, 0));
    EXPECT_EQ(parse(env_, buf_, "\t+1", 10, true), P(-22, 0));
    EXPECT_EQ(parse(env_, buf_, "0X10", 0, true), P(4, 16));
    helpers::strtoul(env_, buf(), 4, 10, addr(ro_.data()), 0);
    EXPECT_NE(env_.fault.find("bpf_strtoul: R4 (res, 8 bytes at"), std::string::npos);
}

std::string formatted(const CallEnv& env, std::string_view fmt, std::vector<std::uint64_t> args,
                      std::int64_t* rc = nullptr) {
    std::string out;
    const std::int64_t r = helpers::format(env, fmt, args, out);
    if (rc != nullptr) {
        *rc = r;
    }
    return r < 0 ? "error " + std::to_string(r) : out;
}

TEST_F(ValueHelpers, Format) {
    EXPECT_EQ(formatted(env_, "a%db", {static_cast<std::uint64_t>(-5)}), "a-5b");
    EXPECT_EQ(formatted(env_, "%u %x %X", {0xffffffffffULL, 0xabcdef, 0xabcdef}), "4294967295 abcdef ABCDEF");
    EXPECT_EQ(formatted(env_, "%ld %lld %lu %llx", {static_cast<std::uint64_t>(-1), 1ULL << 40, 1ULL << 40, 255}),
              "-1 1099511627776 1099511627776 ff");
    EXPECT_EQ(formatted(env_, "%i|%5d|%-5d|%05d|%+d|% d", {1, 42, 42, static_cast<std::uint64_t>(-42), 7, 7}), "1|   42|42   |-0042|+7| 7");
    EXPECT_EQ(formatted(env_, "%c%c %3c", {'o', 'k', 'z'}), "ok   z");
    EXPECT_EQ(formatted(env_, "100%%", {}), "100%");
    EXPECT_EQ(formatted(env_, "%s!", {ro("str")}), "str!");
    EXPECT_EQ(formatted(env_, "[%6s]", {ro("ab")}), "[    ab]");
    EXPECT_EQ(formatted(env_, "[%s]", {0x10}), "[]");  // unreadable: the kernel prints nothing
    EXPECT_EQ(formatted(env_, "%pks %pus", {ro("k"), ro("u", 8)}), "k u");
    std::memcpy(buf_.data(), "\x0a\x00\x00\x01", 4);
    EXPECT_EQ(formatted(env_, "%pI4 %pi4", {buf(), buf()}), "10.0.0.1 010.000.000.001");
    std::array<std::uint8_t, 16> v6{0x20, 0x01, 0x0d, 0xb8};
    v6[15] = 1;
    std::memcpy(buf_.data() + 16, v6.data(), 16);
    EXPECT_EQ(formatted(env_, "%pI6", {buf(16)}), "2001:0db8:0000:0000:0000:0000:0000:0001");
    EXPECT_EQ(formatted(env_, "%pI6c.", {buf(16)}), "2001:0db8:0000:0000:0000:0000:0000:0001.");
    EXPECT_EQ(formatted(env_, "%pi6", {buf(16)}), "20010db8000000000000000000000001");
    EXPECT_EQ(formatted(env_, "%p %px %pK", {0x1234, 0, 1}), "0000000000001234 0000000000000000 0000000000000001");
    EXPECT_EQ(formatted(env_, "%pS", {0x1234}), "0x1234");
    // Refused formats.
    for (const char* bad : {"%d %d", "%o", "%n", "%.2d", "%hd", "%sx", "%pq", "%pI5", "tab\x01", "\xc3\xa9", "%",
                            "%lx%"}) {
        std::int64_t rc = 0;
        formatted(env_, bad, {1}, &rc);
        EXPECT_EQ(rc, -22) << bad;
    }
    EXPECT_EQ(formatted(env_, "tab\there\n", {}), "tab\there\n");
}

TEST_F(ValueHelpers, TracePrintk) {
    const std::string fmt = "x=%d y=%s\n";
    std::memcpy(buf_.data(), fmt.c_str(), fmt.size() + 1);
    EXPECT_EQ(h::trace_printk(env_, buf(), fmt.size() + 1, 5, ro("hi"), 0), 9U);
    EXPECT_EQ(s64(h::trace_printk(env_, buf(), fmt.size(), 5, 0, 0)), -22);  // no NUL within fmt_size
    EXPECT_EQ(s64(h::trace_printk(env_, buf(), fmt.size() + 1, 5, 0, 0)), 7);
    const std::string four = "%d%d%d%d";
    std::memcpy(buf_.data(), four.c_str(), four.size() + 1);
    EXPECT_EQ(s64(h::trace_printk(env_, buf(), four.size() + 1, 1, 2, 3)), -22);  // 3 arguments at most
    const auto out = inst_->take_outputs();
    ASSERT_EQ(out.size(), 2U);
    EXPECT_EQ(out[0].kind, Output::Kind::TracePrintk);
    EXPECT_EQ(out[0].text, "x=5 y=hi\n");
    EXPECT_EQ(out[1].text, "x=5 y=\n");
}

TEST_F(ValueHelpers, TraceVprintk) {
    const std::string fmt = "%d %d %d %d";
    std::memcpy(buf_.data(), fmt.c_str(), fmt.size() + 1);
    const std::array<std::uint64_t, 4> args{1, 2, 3, 4};
    std::memcpy(buf_.data() + 64, args.data(), 32);
    EXPECT_EQ(h::trace_vprintk(env_, buf(), fmt.size() + 1, buf(64), 32, 0), 7U);
    EXPECT_EQ(s64(h::trace_vprintk(env_, buf(), fmt.size() + 1, buf(64), 31, 0)), -22);
    EXPECT_EQ(s64(h::trace_vprintk(env_, buf(), fmt.size() + 1, buf(64), 104, 0)), -22);
    EXPECT_EQ(s64(h::trace_vprintk(env_, buf(), fmt.size() + 1, 0, 8, 0)), -22);
    EXPECT_EQ(s64(h::trace_vprintk(env_, buf(), fmt.size() + 1, buf(64), 24, 0)), -22);  // too few
    ASSERT_EQ(inst_->take_outputs().at(0).text, "1 2 3 4");
}

TEST_F(ValueHelpers, Snprintf) {
    const std::uint64_t fmt = ro("v=%d");
    const std::uint64_t big = 12345;
    std::memcpy(buf_.data() + 64, &big, 8);
    EXPECT_EQ(h::snprintf(env_, buf(), 16, fmt, buf(64), 8), 8U);
    EXPECT_STREQ(reinterpret_cast<const char*>(buf_.data()), "v=12345");
    buf_.fill(0x55);
    std::memcpy(buf_.data() + 64, &big, 8);
    EXPECT_EQ(h::snprintf(env_, buf(), 4, fmt, buf(64), 8), 8U);  // truncated, still the full size
    EXPECT_STREQ(reinterpret_cast<const char*>(buf_.data()), "v=1");
    EXPECT_EQ(h::snprintf(env_, 0, 0, fmt, buf(64), 8), 8U);
    EXPECT_EQ(s64(h::snprintf(env_, buf(), 16, fmt, buf(64), 4)), -22);
    EXPECT_EQ(s64(h::snprintf(env_, buf(), 16, fmt, 0, 0)), -22);  // %d without an argument
    EXPECT_EQ(s64(h::snprintf(env_, buf(), 16, ro("%o", 32), buf(64), 8)), -22);
    EXPECT_EQ(h::snprintf(env_, buf(), 16, ro("plain", 40), 0, 0), 6U);
    EXPECT_TRUE(env_.fault.empty());
    h::snprintf(env_, addr(ro_.data()), 4, fmt, buf(64), 8);
    EXPECT_NE(env_.fault.find("bpf_snprintf: R1 (str, 4 bytes at"), std::string::npos);
}

/// Callbacks that record their calls and stop when the index reaches `stop_at`.
class FakeCallbacks final : public Callbacks {
public:
    std::uint64_t stop_at = ~std::uint64_t{0};
    std::vector<std::array<std::uint64_t, 3>> calls;
    std::uint64_t call(std::uint64_t entry, std::uint64_t r1, std::uint64_t r2, std::uint64_t, std::uint64_t,
                       std::uint64_t) override {
        calls.push_back({entry, r1, r2});
        return r1 == stop_at ? 1 : 0;
    }
};

TEST_F(ValueHelpers, Loop) {
    FakeCallbacks cb;
    env_.callbacks = &cb;
    EXPECT_EQ(h::loop(env_, 3, 0x77, 0x88, 0, 0), 3U);
    ASSERT_EQ(cb.calls.size(), 3U);
    EXPECT_EQ(cb.calls[2], (std::array<std::uint64_t, 3>{0x77, 2, 0x88}));
    cb.calls.clear();
    cb.stop_at = 1;
    EXPECT_EQ(h::loop(env_, 5, 0x77, 0, 0, 0), 2U);  // index + 1 of the iteration that stopped
    EXPECT_EQ(cb.calls.size(), 2U);
    EXPECT_EQ(h::loop(env_, 0, 0x77, 0, 0, 0), 0U);
    EXPECT_EQ(h::loop(env_, 0x100000000ULL, 0x77, 0, 0, 0), 0U);  // nr_loops is a u32
    EXPECT_EQ(s64(h::loop(env_, 1, 0x77, 0, 1, 0)), -22);
    EXPECT_EQ(s64(h::loop(env_, 8 * 1024 * 1024 + 1, 0x77, 0, 0, 0)), -7);
    cb.calls.clear();
    EXPECT_EQ(h::loop(env_, 8 * 1024 * 1024, 0x77, 0, 0, 0), 2U);
    env_.callbacks = nullptr;
    h::loop(env_, 1, 0x77, 0, 0, 0);
    EXPECT_EQ(env_.fault, "bpf_loop: the engine cannot run callbacks");
}

}  // namespace
}  // namespace sockfilter::runtime
