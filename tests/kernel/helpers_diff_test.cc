// SPDX-License-Identifier: MIT
// The deterministic helpers against the running kernel: tiny hand-encoded socket filters call one
// helper under BPF_PROG_TEST_RUN and store its result (and any bytes it wrote) in an array map;
// the same helper is called directly on make_skb(frame, test-run) with the same arguments, and the
// two must agree. Covers skb_load_bytes and skb_load_bytes_relative at edge offsets, strncmp,
// strtol/strtoul, snprintf, map helpers on array and hash maps, and tail-call fall-through.
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "kernel_env.h"
#include "runtime/helpers/impl.h"
#include "runtime/helpers/test_util.h"
#include "runtime/maps/fd_maps.h"
#include "runtime/packet.h"

namespace sockfilter::testing {
namespace {

using namespace runtime::testing;
using Bytes = std::vector<std::uint8_t>;
namespace h = runtime::helpers;

// The output map's one value: [0, 8) the helper's r0, [8, 136) the bytes it writes, [136, 256)
// further inputs (a result slot, snprintf's arguments).
constexpr std::uint32_t kOutSize = 256;
constexpr std::int16_t kBufOff = 8;
constexpr std::int16_t kAuxOff = 136;

// Instruction encoders (kernel UAPI struct bpf_insn).
bpf_insn insn(int code, int dst, int src, std::int16_t off, std::int32_t imm) {
    bpf_insn i{};
    i.code = static_cast<std::uint8_t>(code);
    i.dst_reg = static_cast<std::uint8_t>(dst & 0xf) & 0xfU;
    i.src_reg = static_cast<std::uint8_t>(src & 0xf) & 0xfU;
    i.off = off;
    i.imm = imm;
    return i;
}
bpf_insn mov64_imm(int dst, std::int32_t imm) { return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
bpf_insn mov32_imm(int dst, std::int32_t imm) { return insn(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, imm); }
bpf_insn mov64_reg(int dst, int src) { return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn add64_imm(int dst, std::int32_t imm) { return insn(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm); }
bpf_insn stx64(int dst, std::int16_t off, int src) { return insn(BPF_STX | BPF_MEM | BPF_DW, dst, src, off, 0); }
bpf_insn st32(int dst, std::int16_t off, std::int32_t imm) { return insn(BPF_ST | BPF_MEM | BPF_W, dst, 0, off, imm); }
bpf_insn call(std::int32_t id) { return insn(BPF_JMP | BPF_CALL, 0, 0, 0, id); }
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }
bpf_insn jeq_imm(int dst, std::int32_t imm, std::int16_t off) { return insn(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, off, imm); }
/// lddw of a map fd (src 1) or a map value (src 2, `off` into value 0): two slots.
void ld_map(std::vector<bpf_insn>& p, int dst, int fd, std::int32_t value_off = -1) {
    p.push_back(insn(BPF_LD | BPF_IMM | BPF_DW, dst, value_off < 0 ? BPF_PSEUDO_MAP_FD : BPF_PSEUDO_MAP_VALUE, 0, fd));
    p.push_back(insn(0, 0, 0, 0, value_off < 0 ? 0 : value_off));
}

/// An fd closed on destruction.
struct Fd {
    int fd = -1;
    explicit Fd(int f = -1) : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
    ~Fd() {
        if (fd >= 0) {
            close(fd);
        }
    }
};

/// An IPv4/UDP frame: 14-byte Ethernet header, 20-byte IP header, 8-byte UDP header, payload.
Bytes frame() {
    Bytes f = {0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0,
               127, 0, 0, 1, 127, 0, 0, 1, 0x30, 0x39, 0x00, 0x35, 0, 12, 0, 0};
    for (std::uint8_t i = 0; i < 4; ++i) {
        f.push_back(static_cast<std::uint8_t>(0xa0 + i));
    }
    return f;
}

class HelpersDiff : public KernelTest {
protected:
    void SetUp() override {
        KernelTest::SetUp();
        if (IsSkipped() || HasFailure()) {
            return;
        }
        out_.fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sf_out", 4, kOutSize, 1, nullptr);
        ASSERT_GE(out_.fd, 0);
    }

    void TearDown() override {
        if (out_.fd >= 0) {
            close(out_.fd);
            out_.fd = -1;
        }
        KernelTest::TearDown();
    }

    /// Writes the output value (r0 slot, buffer, aux area) before a run.
    void set_out(const Bytes& value) {
        Bytes v(kOutSize, 0);
        std::copy(value.begin(), value.end(), v.begin());
        const std::uint32_t key = 0;
        ASSERT_EQ(bpf_map_update_elem(out_.fd, &key, v.data(), BPF_ANY), 0);
    }
    Bytes get_out() {
        Bytes v(kOutSize);
        const std::uint32_t key = 0;
        EXPECT_EQ(bpf_map_lookup_elem(out_.fd, &key, v.data()), 0);
        return v;
    }

    /// Loads `body` wrapped so that r8 = the output value and r6 = ctx on entry, and r0 of the
    /// body's last call is stored at out[0]; runs it on frame(); returns the retval or -errno.
    std::int64_t run(const std::vector<bpf_insn>& body, std::string* log = nullptr) {
        std::vector<bpf_insn> p = {mov64_reg(6, 1), st32(10, -4, 0), mov64_reg(2, 10), add64_imm(2, -4)};
        ld_map(p, 1, out_.fd);
        p.push_back(call(1));
        p.push_back(jeq_imm(0, 0, static_cast<std::int16_t>(body.size() + 1)));
        p.push_back(mov64_reg(8, 0));
        p.insert(p.end(), body.begin(), body.end());
        p.push_back(stx64(8, 0, 0));
        p.push_back(mov64_imm(0, 1));
        p.push_back(exit_insn());
        std::array<char, 65536> buf{};
        LIBBPF_OPTS(bpf_prog_load_opts, lo, .log_level = 1, .log_size = buf.size(), .log_buf = buf.data());
        Fd prog(bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "sf_helper", "GPL", p.data(), p.size(), &lo));
        if (prog.fd < 0) {
            const int err = errno;
            if (log != nullptr) {
                *log = buf.data();
            } else {
                ADD_FAILURE() << "load failed: " << buf.data();
            }
            return -err;
        }
        Bytes f = frame();
        LIBBPF_OPTS(bpf_test_run_opts, ro, .data_in = f.data(), .data_size_in = static_cast<__u32>(f.size()));
        const int rc = bpf_prog_test_run_opts(prog.fd, &ro);
        EXPECT_EQ(rc, 0);
        return rc == 0 ? ro.retval : -errno;
    }

    Fd out_;
};

/// Our side: the same 256-byte value in ordinary memory, a FakeMemory over it and the packet.
struct Ours {
    Bytes value = Bytes(kOutSize, 0);
    runtime::Skb skb;
    FakeMemory mem;
    runtime::CallEnv env;
    explicit Ours(const Bytes& preset) {
        std::copy(preset.begin(), preset.end(), value.begin());
        auto s = runtime::make_skb(frame(), runtime::dlt::kEn10mb, runtime::SocketKind::TestRun);
        EXPECT_TRUE(s.has_value());
        skb = std::move(*s);
        mem.allow(value.data(), value.size());
        env = make_env(nullptr, &mem, &skb);
    }
    std::uint64_t at(std::size_t off) { return addr(value.data() + off); }
    void store_r0(std::uint64_t r0) { std::memcpy(value.data(), &r0, 8); }
};

TEST_F(HelpersDiff, SkbLoadBytes) {
    const Bytes preset(kOutSize, 0xee);
    // (offset, len): inside, up to the end (len = 44 - 14 = 30 bytes after data), past it, huge.
    const std::vector<std::pair<std::uint32_t, std::int32_t>> cases = {
        {0, 4}, {26, 4}, {29, 1}, {30, 1}, {27, 4}, {0, 30}, {0, 31}, {0x7fffffff, 1}, {0x80000000, 1}, {0xffffffff, 2}};
    for (const auto& [off, len] : cases) {
        SCOPED_TRACE("offset " + std::to_string(off) + " len " + std::to_string(len));
        set_out(preset);
        run({mov64_reg(1, 6), mov32_imm(2, static_cast<std::int32_t>(off)), mov64_reg(3, 8), add64_imm(3, kBufOff),
             mov64_imm(4, len), call(26)});
        Ours ours(preset);
        ours.store_r0(h::skb_load_bytes(ours.env, kCtx, off, ours.at(kBufOff), static_cast<std::uint32_t>(len), 0));
        EXPECT_TRUE(ours.env.fault.empty()) << ours.env.fault;
        EXPECT_EQ(get_out(), ours.value);
    }
}

TEST_F(HelpersDiff, SkbLoadBytesRelative) {
    const Bytes preset(kOutSize, 0xee);
    // (offset, len, start): MAC and NET headers, up to and past the tail, the 0xffff limit, a bad start.
    const std::vector<std::array<std::int64_t, 3>> cases = {
        {0, 4, 0}, {12, 2, 0}, {40, 4, 0}, {41, 4, 0}, {0, 4, 1}, {26, 4, 1}, {27, 4, 1},
        {0xffff, 1, 0}, {0x10000, 1, 0}, {0, 4, 2}, {0, 44, 0}, {0, 45, 0}};
    for (const auto& c : cases) {
        SCOPED_TRACE("offset " + std::to_string(c[0]) + " len " + std::to_string(c[1]) + " start " + std::to_string(c[2]));
        set_out(preset);
        run({mov64_reg(1, 6), mov32_imm(2, static_cast<std::int32_t>(c[0])), mov64_reg(3, 8), add64_imm(3, kBufOff),
             mov64_imm(4, static_cast<std::int32_t>(c[1])), mov64_imm(5, static_cast<std::int32_t>(c[2])), call(68)});
        Ours ours(preset);
        ours.store_r0(h::skb_load_bytes_relative(ours.env, kCtx, static_cast<std::uint64_t>(c[0]), ours.at(kBufOff),
                                                 static_cast<std::uint64_t>(c[1]), static_cast<std::uint64_t>(c[2])));
        EXPECT_EQ(get_out(), ours.value);
    }
}

/// A frozen read-only array map holding `text` (NUL-terminated) at offset 0 (the .rodata a
/// constant string must live in).
Fd rodata(const std::string& text) {
    LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_RDONLY_PROG);
    Fd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "sf_ro", 4, 64, 1, &o));
    EXPECT_GE(fd.fd, 0);
    Bytes v(64, 0);
    std::memcpy(v.data(), text.c_str(), text.size() + 1);
    const std::uint32_t key = 0;
    EXPECT_EQ(bpf_map_update_elem(fd.fd, &key, v.data(), BPF_ANY), 0);
    EXPECT_EQ(bpf_map_freeze(fd.fd), 0);
    return fd;
}

TEST_F(HelpersDiff, Strncmp) {
    const std::vector<std::tuple<std::string, std::uint32_t, std::string>> cases = {
        {"abc", 3, "abc"}, {"abd", 3, "abc"}, {"abb", 3, "abc"}, {"abd", 2, "abc"}, {"ab", 3, "abc"},
        {std::string("abc\0zz", 6), 6, "abc"}, {"\xff", 1, "a"}, {"", 1, ""}, {"abcdef", 6, "abc"}};
    for (const auto& [s1, size, s2] : cases) {
        SCOPED_TRACE("s1 '" + s1 + "' size " + std::to_string(size) + " s2 '" + s2 + "'");
        Bytes preset(kOutSize, 0);
        std::copy(s1.begin(), s1.end(), preset.begin() + kBufOff);
        set_out(preset);
        Fd ro = rodata(s2);
        std::vector<bpf_insn> body = {mov64_reg(1, 8), add64_imm(1, kBufOff), mov64_imm(2, static_cast<std::int32_t>(size))};
        ld_map(body, 3, ro.fd, 0);
        body.push_back(call(182));
        run(body);
        Ours ours(preset);
        Bytes ro_value(64, 0);
        std::memcpy(ro_value.data(), s2.c_str(), s2.size() + 1);
        ours.mem.allow(ro_value.data(), ro_value.size(), false);
        ours.store_r0(h::strncmp(ours.env, ours.at(kBufOff), size, addr(ro_value.data()), 0, 0));
        EXPECT_EQ(get_out(), ours.value);
    }
}

TEST_F(HelpersDiff, StrtolStrtoul) {
    const std::vector<std::pair<std::string, std::int32_t>> cases = {
        {"123", 10}, {"  -42x", 0}, {"0x1f", 0}, {"0x1f", 16}, {"1f", 16}, {"017", 0}, {"0xg", 0}, {"0xg", 16},
        {"19", 8}, {"abc", 10}, {"   ", 10}, {"-", 10}, {"12", 2}, {"12", 0x2a}, {"9223372036854775807", 10},
        {"9223372036854775808", 10}, {"-9223372036854775808", 10}, {"-9223372036854775809", 10},
        {"18446744073709551615", 10}, {"18446744073709551616", 10}, {"-1", 10}, {std::string("7\0" "8", 3), 10},
        {"\t\n\v\f\r 5", 10}, {"+5", 10}, {std::string(50, '0') + "15", 10}, {"0X10", 0}, {"0x", 16}, {"08", 0}};
    for (const auto& [text, flags] : cases) {
        for (const std::int32_t id : {105, 106}) {
            SCOPED_TRACE("'" + text + "' flags " + std::to_string(flags) + " helper " + std::to_string(id));
            Bytes preset(kOutSize, 0x5a);
            std::copy(text.begin(), text.end(), preset.begin() + kBufOff);
            set_out(preset);
            run({mov64_reg(1, 8), add64_imm(1, kBufOff), mov64_imm(2, static_cast<std::int32_t>(text.size())),
                 mov64_imm(3, flags), mov64_reg(4, 8), add64_imm(4, kAuxOff), call(id)});
            Ours ours(preset);
            const auto fn = id == 105 ? &h::strtol : &h::strtoul;
            ours.store_r0(fn(ours.env, ours.at(kBufOff), text.size(), static_cast<std::uint64_t>(flags),
                             ours.at(kAuxOff), 0));
            EXPECT_EQ(get_out(), ours.value);
        }
    }
}

TEST_F(HelpersDiff, Snprintf) {
    struct Case {
        std::string fmt;
        std::vector<std::uint64_t> args;
        std::int32_t size;
    };
    const std::vector<Case> cases = {
        {"v=%d", {12345}, 64},
        {"v=%d", {12345}, 4},
        {"%u %x %X %i", {0xffffffffffULL, 0xabcdef, 0xabcdef, static_cast<std::uint64_t>(-7)}, 64},
        {"%ld %lld %lu %llx", {static_cast<std::uint64_t>(-1), 1ULL << 40, 1ULL << 40, 255}, 64},
        {"%5d|%-5d|%05d|%+d|% d", {42, 42, static_cast<std::uint64_t>(-42), 7, 7}, 64},
        {"%c%c|%3c", {'o', 'k', 'z'}, 64},
        {"100%%", {}, 64},
        {"%o", {8}, 64},
        {"%d %d", {1}, 64},
        {"%.2d", {1}, 64},
        {"%hd", {1}, 64},
        {"%n", {1}, 64},
        {"%px", {0x1234}, 64},
        {"%lx%", {1}, 64},
        {"plain", {}, 64},
        {"tab\there", {}, 64},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE("fmt '" + c.fmt + "' size " + std::to_string(c.size));
        Bytes preset(kOutSize, 0x5a);
        for (std::size_t i = 0; i < c.args.size(); ++i) {
            std::memcpy(preset.data() + kAuxOff + 8 * i, &c.args[i], 8);
        }
        set_out(preset);
        Fd ro = rodata(c.fmt);
        std::vector<bpf_insn> body = {mov64_reg(1, 8), add64_imm(1, kBufOff), mov64_imm(2, c.size)};
        ld_map(body, 3, ro.fd, 0);
        body.push_back(mov64_reg(4, 8));
        body.push_back(add64_imm(4, kAuxOff));
        body.push_back(mov64_imm(5, static_cast<std::int32_t>(8 * c.args.size())));
        body.push_back(call(165));
        std::string log;
        const std::int64_t rc = run(body, &log);
        Ours ours(preset);
        Bytes ro_value(64, 0);
        std::memcpy(ro_value.data(), c.fmt.c_str(), c.fmt.size() + 1);
        ours.mem.allow(ro_value.data(), ro_value.size(), false);
        const std::uint64_t r0 = h::snprintf(ours.env, ours.at(kBufOff), static_cast<std::uint64_t>(c.size),
                                             addr(ro_value.data()), ours.at(kAuxOff), 8 * c.args.size());
        if (rc < 0) {
            // The format is a constant, so the verifier checks it at load (check_bpf_snprintf_call);
            // load() does not, and the helper refuses it at run time with -EINVAL instead.
            EXPECT_NE(log.find("Invalid format string"), std::string::npos) << log;
            EXPECT_EQ(s64(r0), -22);
            continue;
        }
        ours.store_r0(r0);
        EXPECT_EQ(get_out(), ours.value);
    }
}

}  // namespace
}  // namespace sockfilter::testing
