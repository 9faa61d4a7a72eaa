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

#include "kernel/fd.h"
#include "kernel_env.h"
#include "uapi_insn.h"
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

using kernel::Fd;

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
        out_.reset(bpf_map_create(BPF_MAP_TYPE_ARRAY, "sf_out", 4, kOutSize, 1, nullptr));
        ASSERT_GE(out_.get(), 0);
    }

    void TearDown() override {
        out_.reset();
        KernelTest::TearDown();
    }

    /// Writes the output value (r0 slot, buffer, aux area) before a run.
    void set_out(const Bytes& value) {
        Bytes v(kOutSize, 0);
        std::copy(value.begin(), value.end(), v.begin());
        const std::uint32_t key = 0;
        ASSERT_EQ(bpf_map_update_elem(out_.get(), &key, v.data(), BPF_ANY), 0);
    }
    Bytes get_out() {
        Bytes v(kOutSize);
        const std::uint32_t key = 0;
        EXPECT_EQ(bpf_map_lookup_elem(out_.get(), &key, v.data()), 0);
        return v;
    }

    /// Loads `body` wrapped so that r8 = the output value and r6 = ctx on entry, and r0 of the
    /// body's last call is stored at out[0]; runs it on frame(); returns the retval or -errno.
    std::int64_t run(const std::vector<bpf_insn>& body, std::string* log = nullptr) {
        std::vector<bpf_insn> p = {mov64_reg(6, 1), st32(10, -4, 0), mov64_reg(2, 10), add64_imm(2, -4)};
        ld_map(p, 1, out_.get());
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
        if (prog.get() < 0) {
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
        const int rc = bpf_prog_test_run_opts(prog.get(), &ro);
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
        const Bytes kernel = get_out();
        EXPECT_EQ(kernel, ours.value);
        if (off == 0 && len == 4) {
            EXPECT_EQ(Bytes(kernel.begin() + kBufOff, kernel.begin() + kBufOff + 4), (Bytes{0x45, 0, 0, 32}));
        }
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
    EXPECT_GE(fd.get(), 0);
    Bytes v(64, 0);
    std::memcpy(v.data(), text.c_str(), text.size() + 1);
    const std::uint32_t key = 0;
    EXPECT_EQ(bpf_map_update_elem(fd.get(), &key, v.data(), BPF_ANY), 0);
    EXPECT_EQ(bpf_map_freeze(fd.get()), 0);
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
        ld_map(body, 3, ro.get(), 0);
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
        ld_map(body, 3, ro.get(), 0);
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

TEST_F(HelpersDiff, SnprintfPointers) {
    // The argument points at out[200], which holds "hello" and then the bytes 10 0 0 1.
    constexpr std::int16_t kTarget = 200;
    Bytes preset(kOutSize, 0);
    const Bytes content = {'h', 'e', 'l', 'l', 'o', 0, 10, 0, 0, 1, 0xfe, 0x80, 0, 0, 0, 0, 0, 1};
    std::copy(content.begin(), content.end(), preset.begin() + kTarget);
    for (const std::string fmt : {"[%s]", "[%8s]", "[%-8s|", "%pks", "%pI4", "%pi4", "%pI6", "%pi6", "%pI6c!"}) {
        SCOPED_TRACE("fmt '" + fmt + "'");
        set_out(preset);
        Fd ro = rodata(fmt);
        std::vector<bpf_insn> body = {mov64_reg(1, 8), add64_imm(1, kTarget), stx64(8, kAuxOff, 1), mov64_reg(1, 8),
                                      add64_imm(1, kBufOff), mov64_imm(2, 64)};
        ld_map(body, 3, ro.get(), 0);
        body.push_back(mov64_reg(4, 8));
        body.push_back(add64_imm(4, kAuxOff));
        body.push_back(mov64_imm(5, 8));
        body.push_back(call(165));
        run(body);
        Ours ours(preset);
        const std::uint64_t target = ours.at(kTarget);
        std::memcpy(ours.value.data() + kAuxOff, &target, 8);
        Bytes ro_value(64, 0);
        std::memcpy(ro_value.data(), fmt.c_str(), fmt.size() + 1);
        ours.mem.allow(ro_value.data(), ro_value.size(), false);
        ours.store_r0(h::snprintf(ours.env, ours.at(kBufOff), 64, addr(ro_value.data()), ours.at(kAuxOff), 8));
        const Bytes kernel = get_out();
        // The pointer itself differs (kernel address vs ours); everything else must agree.
        EXPECT_EQ(Bytes(kernel.begin(), kernel.begin() + kAuxOff), Bytes(ours.value.begin(), ours.value.begin() + kAuxOff))
            << std::string(reinterpret_cast<const char*>(kernel.data() + kBufOff)) << " vs "
            << std::string(reinterpret_cast<const char*>(ours.value.data() + kBufOff));
    }
}

/// One map-helper call of a sequence: helper id, map (0 hash, 1 array), key, value, flags.
struct MapOp {
    std::int32_t id;
    int map;
    std::int32_t key;
    std::int32_t value;
    std::int32_t flags;
};

TEST_F(HelpersDiff, MapHelpers) {
    const std::vector<MapOp> ops = {
        {1, 0, 1, 0, 0},  {2, 0, 1, 10, 2}, {2, 0, 1, 10, 1}, {2, 0, 1, 11, 1}, {2, 0, 1, 12, 0},
        {1, 0, 1, 0, 0},  {2, 0, 2, 20, 0}, {2, 0, 3, 30, 0}, {2, 0, 2, 21, 2}, {2, 0, 1, 1, 4},
        {2, 0, 1, 1, 8},  {3, 0, 3, 0, 0},  {3, 0, 1, 0, 0},  {1, 0, 1, 0, 0},  {2, 0, 3, 30, 0},
        {1, 0, 2, 0, 0},  {2, 1, 0, 5, 0},  {2, 1, 4, 5, 0},  {2, 1, 0, 6, 1},  {2, 1, 0, 7, 2},
        {3, 1, 0, 0, 0},  {1, 1, 0, 0, 0},  {1, 1, 3, 0, 0},  {1, 1, 4, 0, 0},  {2, 1, 1, 9, 4},
        {2, 1, 1, 9, 3},  {1, 1, 1, 0, 0},
    };
    ASSERT_LE(ops.size(), 31U);
    Fd hash(bpf_map_create(BPF_MAP_TYPE_HASH, "sf_hash", 4, 8, 2, nullptr));
    Fd array(bpf_map_create(BPF_MAP_TYPE_ARRAY, "sf_array", 4, 8, 4, nullptr));
    ASSERT_GE(hash.get(), 0);
    ASSERT_GE(array.get(), 0);
    std::vector<bpf_insn> body;
    for (std::size_t i = 0; i < ops.size(); ++i) {
        const MapOp& op = ops[i];
        body.push_back(st32(10, -8, op.key));
        body.push_back(insn(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -16, op.value));
        ld_map(body, 1, op.map == 0 ? hash.get() : array.get());
        body.push_back(mov64_reg(2, 10));
        body.push_back(add64_imm(2, -8));
        body.push_back(mov64_reg(3, 10));
        body.push_back(add64_imm(3, -16));
        body.push_back(mov64_imm(4, op.flags));
        body.push_back(call(op.id));
        if (op.id == 1) {
            // A lookup stores the value it found, or -1 for NULL.
            body.push_back(jeq_imm(0, 0, 2));
            body.push_back(insn(BPF_LDX | BPF_MEM | BPF_DW, 0, 0, 0, 0));
            body.push_back(insn(BPF_JMP | BPF_JA, 0, 0, 1, 0));
            body.push_back(mov64_imm(0, -1));
        }
        body.push_back(stx64(8, static_cast<std::int16_t>(8 * (i + 1)), 0));
    }
    set_out({});
    run(body);

    auto inst = make_instance({map_spec("hash", program::MapType::Hash, 4, 8, 2),
                               map_spec("array", program::MapType::Array, 4, 8, 4)});
    ASSERT_NE(inst, nullptr);
    Ours ours({});
    std::array<std::uint8_t, 16> stack{};
    ours.mem.allow(stack.data(), stack.size());
    ours.mem.allow(*inst);
    ours.env.instance = inst.get();
    for (std::size_t i = 0; i < ops.size(); ++i) {
        const MapOp& op = ops[i];
        std::memcpy(stack.data(), &op.key, 4);
        const std::int64_t value = op.value;
        std::memcpy(stack.data() + 8, &value, 8);
        const auto fn = op.id == 1 ? &h::map_lookup_elem : op.id == 2 ? &h::map_update_elem : &h::map_delete_elem;
        std::uint64_t r0 = fn(ours.env, inst->map_handle(static_cast<std::size_t>(op.map)), addr(stack.data()),
                              addr(stack.data() + 8), static_cast<std::uint64_t>(static_cast<std::int64_t>(op.flags)), 0);
        ASSERT_TRUE(ours.env.fault.empty()) << ours.env.fault;
        if (op.id == 1) {
            std::uint64_t found = ~std::uint64_t{0};
            if (r0 != 0) {
                std::memcpy(&found, reinterpret_cast<const void*>(r0), 8);
            }
            r0 = found;
        }
        std::memcpy(ours.value.data() + 8 * (i + 1), &r0, 8);
    }
    const Bytes kernel = get_out();
    for (std::size_t i = 0; i < ops.size(); ++i) {
        std::int64_t k = 0;
        std::int64_t o = 0;
        std::memcpy(&k, kernel.data() + 8 * (i + 1), 8);
        std::memcpy(&o, ours.value.data() + 8 * (i + 1), 8);
        EXPECT_EQ(k, o) << "op " << i << ": helper " << ops[i].id << " key " << ops[i].key << " flags " << ops[i].flags;
    }
}

TEST_F(HelpersDiff, TestRunEnvironment) {
    // What the kernel returns where userspace has a model instead (docs/SEMANTICS.md "Helpers"):
    // the current task is the test process, the dummy socket has a cookie and uid 0.
    std::vector<bpf_insn> body;
    const std::vector<std::pair<std::int32_t, int>> calls = {{14, -1}, {15, -1}, {46, 6}, {47, 6},
                                                             {122, 0}, {122, 6}, {42, -1}};
    for (std::size_t i = 0; i < calls.size(); ++i) {
        if (calls[i].second == 6) {
            body.push_back(mov64_reg(1, 6));
        } else if (calls[i].second == 0) {
            body.push_back(mov64_imm(1, 0));
        }
        body.push_back(call(calls[i].first));
        body.push_back(stx64(8, static_cast<std::int16_t>(8 * (i + 1)), 0));
    }
    set_out({});
    run(body);
    const Bytes out = get_out();
    std::array<std::uint64_t, 8> v{};
    std::memcpy(v.data(), out.data(), 64);
    EXPECT_EQ(v[1] >> 32, static_cast<std::uint64_t>(getpid()));
    EXPECT_EQ(v[2], (std::uint64_t{getgid()} << 32) | getuid());
    EXPECT_NE(v[3], 0U);
    EXPECT_EQ(v[4], 0U);
    EXPECT_NE(v[5], 0U);
    EXPECT_NE(v[6], 0U);
    EXPECT_EQ(v[7], 0U);

    Ours ours({});
    ours.skb.meta.has_sk = true;
    EXPECT_EQ(h::get_current_pid_tgid(ours.env, 0, 0, 0, 0, 0), 0U);
    EXPECT_NE(h::get_socket_cookie(ours.env, kCtx, 0, 0, 0, 0), 0U);
    EXPECT_EQ(h::get_socket_uid(ours.env, kCtx, 0, 0, 0, 0), 0U);
    EXPECT_EQ(h::get_netns_cookie(ours.env, 0, 0, 0, 0, 0), 1U);
    EXPECT_EQ(h::get_numa_node_id(ours.env, 0, 0, 0, 0, 0), 0U);
}

/// Loads `p` as a socket filter (must succeed).
Fd load_prog(const std::vector<bpf_insn>& p) {
    std::array<char, 65536> buf{};
    LIBBPF_OPTS(bpf_prog_load_opts, lo, .log_level = 1, .log_size = buf.size(), .log_buf = buf.data());
    Fd fd(bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "sf_tail", "GPL", p.data(), p.size(), &lo));
    EXPECT_GE(fd.get(), 0) << buf.data();
    return fd;
}

std::uint32_t test_run(const Fd& prog) {
    Bytes f = frame();
    LIBBPF_OPTS(bpf_test_run_opts, ro, .data_in = f.data(), .data_size_in = static_cast<__u32>(f.size()));
    EXPECT_EQ(bpf_prog_test_run_opts(prog.get(), &ro), 0);
    return ro.retval;
}

TEST_F(HelpersDiff, TailCallFallThrough) {
    Fd progs(bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "sf_progs", 4, 4, 4, nullptr));
    ASSERT_GE(progs.get(), 0);
    Fd target = load_prog({mov64_imm(0, 42), exit_insn()});
    const std::uint32_t slot = 2;
    const int target_fd = target.get();
    ASSERT_EQ(bpf_map_update_elem(progs.get(), &slot, &target_fd, BPF_ANY), 0);

    auto inst = make_instance({map_spec("progs", program::MapType::ProgArray, 4, 4, 4)}, {"main", "target"});
    ASSERT_NE(inst, nullptr);
    const std::array<std::uint8_t, 4> key{2, 0, 0, 0};
    const std::array<std::uint8_t, 4> value{1, 0, 0, 0};
    ASSERT_EQ(inst->map(0).update_user(key.data(), value.data(), 0), 0);

    for (const std::uint64_t index : {2ULL, 1ULL, 3ULL, 4ULL, 0xffffffffULL, 0x100000002ULL}) {
        SCOPED_TRACE("index " + std::to_string(index));
        std::vector<bpf_insn> p = {mov64_reg(1, 1)};
        ld_map(p, 2, progs.get());
        p.push_back(insn(BPF_LD | BPF_IMM | BPF_DW, 3, 0, 0, static_cast<std::int32_t>(index & 0xffffffffU)));
        p.push_back(insn(0, 0, 0, 0, static_cast<std::int32_t>(index >> 32)));
        p.push_back(call(12));
        p.push_back(mov64_imm(0, 1));
        p.push_back(exit_insn());
        Fd main = load_prog(p);
        const std::uint32_t kernel = test_run(main);

        runtime::CallEnv env = make_env(inst.get(), nullptr);
        runtime::Skb skb;
        env.skb = &skb;
        h::tail_call(env, kCtx, inst->map_handle(0), index, 0, 0);
        ASSERT_TRUE(env.fault.empty()) << env.fault;
        EXPECT_EQ(kernel, env.stop ? 42U : 1U);
        if (env.stop) {
            EXPECT_EQ(env.tail_call_target, 1);
        }
    }
}

TEST_F(HelpersDiff, TailCallLimit) {
    // A program that counts its runs in out[0] and tail-calls itself through slot 0.
    Fd progs(bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "sf_progs", 4, 4, 1, nullptr));
    ASSERT_GE(progs.get(), 0);
    std::vector<bpf_insn> p = {mov64_reg(6, 1), st32(10, -4, 0), mov64_reg(2, 10), add64_imm(2, -4)};
    ld_map(p, 1, out_.get());
    p.push_back(call(1));
    p.push_back(jeq_imm(0, 0, 2));
    p.push_back(mov64_imm(1, 1));
    p.push_back(insn(BPF_STX | BPF_ATOMIC | BPF_DW, 0, 1, 0, BPF_ADD));
    p.push_back(mov64_reg(1, 6));
    ld_map(p, 2, progs.get());
    p.push_back(mov64_imm(3, 0));
    p.push_back(call(12));
    p.push_back(mov64_imm(0, 1));
    p.push_back(exit_insn());
    Fd self = load_prog(p);
    const std::uint32_t slot = 0;
    const int self_fd = self.get();
    ASSERT_EQ(bpf_map_update_elem(progs.get(), &slot, &self_fd, BPF_ANY), 0);
    set_out({});
    EXPECT_EQ(test_run(self), 1U);
    std::uint64_t kernel_runs = 0;
    std::memcpy(&kernel_runs, get_out().data(), 8);
    // Empty the slot so the program does not keep itself alive.
    ASSERT_EQ(bpf_map_delete_elem(progs.get(), &slot), 0);

    auto inst = make_instance({map_spec("progs", program::MapType::ProgArray, 4, 4, 1)}, {"self"});
    ASSERT_NE(inst, nullptr);
    const std::array<std::uint8_t, 4> zero{};
    ASSERT_EQ(inst->map(0).update_user(zero.data(), zero.data(), 0), 0);
    runtime::CallEnv env = make_env(inst.get(), nullptr);
    runtime::Skb skb;
    env.skb = &skb;
    std::uint64_t runs = 1;
    for (;;) {
        env.stop = false;
        h::tail_call(env, kCtx, inst->map_handle(0), 0, 0, 0);
        if (!env.stop) {
            break;
        }
        ++runs;
    }
    EXPECT_EQ(kernel_runs, 34U);
    EXPECT_EQ(runs, kernel_runs);
}

}  // namespace
}  // namespace sockfilter::testing
