// SPDX-License-Identifier: MIT
// Callback helpers, dynptrs and kfuncs against the running kernel: each hand-encoded socket
// filter runs under BPF_PROG_TEST_RUN and in our interpreter on make_skb(frame, test-run), and
// the return values must agree (bpf_loop, bpf_for_each_map_elem on an array and a hash, the skb dynptr
// kfuncs with bpf_dynptr_read/write/data, bpf_iter_num, bpf_map_sum_elem_count, the RCU and
// preemption sections). kfunc calls carry vmlinux BTF ids for the kernel (libbpf's
// btf__find_by_name_kind) and an index into the kfunc names for us.
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernel/fd.h"
#include "kernel_env.h"
#include "uapi_insn.h"
#include "program/object.h"
#include "program/program.h"
#include "runtime/instance.h"
#include "runtime/load.h"
#include "runtime/packet.h"
#include "vm/interpreter.h"

namespace sockfilter::testing {
namespace {

using Bytes = std::vector<std::uint8_t>;

bpf_insn mov_imm(int dst, std::int32_t imm) { return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
bpf_insn mov_reg(int dst, int src) { return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn add_imm(int dst, std::int32_t imm) { return insn(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm); }
bpf_insn add_reg(int dst, int src) { return insn(BPF_ALU64 | BPF_ADD | BPF_X, dst, src, 0, 0); }
bpf_insn mul_imm(int dst, std::int32_t imm) { return insn(BPF_ALU64 | BPF_MUL | BPF_K, dst, 0, 0, imm); }
bpf_insn lsh_imm(int dst, std::int32_t imm) { return insn(BPF_ALU64 | BPF_LSH | BPF_K, dst, 0, 0, imm); }
bpf_insn ldx(int size, int dst, int src, std::int16_t off) { return insn(BPF_LDX | BPF_MEM | size, dst, src, off, 0); }
bpf_insn stx(int size, int dst, int src, std::int16_t off) { return insn(BPF_STX | BPF_MEM | size, dst, src, off, 0); }
bpf_insn st_dw(int dst, std::int16_t off, std::int32_t imm) { return insn(BPF_ST | BPF_MEM | BPF_DW, dst, 0, off, imm); }
bpf_insn jne_imm(int dst, std::int32_t imm, std::int16_t off) { return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm); }
bpf_insn jeq_imm(int dst, std::int32_t imm, std::int16_t off) { return insn(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, off, imm); }
bpf_insn ja(std::int16_t off) { return insn(BPF_JMP | BPF_JA, 0, 0, off, 0); }
bpf_insn call(std::int32_t id) { return insn(BPF_JMP | BPF_CALL, 0, 0, 0, id); }
/// A kfunc call; `index` into the test's kfunc names (patched to a BTF id for the kernel).
bpf_insn kcall(std::int32_t index) { return insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, index); }
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }
/// lddw of map `index` of the test (patched to the kernel map's fd for the kernel).
void ld_map(std::vector<bpf_insn>& p, int dst, std::int32_t index) {
    p.push_back(insn(BPF_LD | BPF_IMM | BPF_DW, dst, BPF_PSEUDO_MAP_FD, 0, index));
    p.push_back(insn(0, 0, 0, 0, 0));
}
/// lddw of the function starting `delta` slots after this lddw's first slot + 1.
void ld_func(std::vector<bpf_insn>& p, int dst, std::int32_t delta) {
    p.push_back(insn(BPF_LD | BPF_IMM | BPF_DW, dst, BPF_PSEUDO_FUNC, 0, delta));
    p.push_back(insn(0, 0, 0, 0, 0));
}

/// An IPv4/UDP frame: 14-byte Ethernet header, then 46 bytes from the IP header on (skb->len 46).
Bytes frame() {
    Bytes f = {0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0x11, 0x22, 0x33, 0, 1, 0, 0, 64, 17, 0, 0,
               127, 0, 0, 1, 127, 0, 0, 1, 0x30, 0x39, 0x00, 0x35, 0, 26, 0, 0};
    for (std::uint8_t i = 0; i < 18; ++i) {
        f.push_back(static_cast<std::uint8_t>(0xa0 + i));
    }
    return f;
}

/// A map both sides create: the kernel's by bpf_map_create, ours in the Instance.
struct TestMap {
    program::MapSpec spec;
    std::vector<std::pair<Bytes, Bytes>> entries;  ///< syscall-side updates after creation
};

using kernel::Fd;

class CallbacksKfuncsDiff : public KernelTest {
protected:
    void SetUp() override {
        KernelTest::SetUp();
        if (IsSkipped() || HasFailure()) {
            return;
        }
        btf_ = btf__load_vmlinux_btf();
        ASSERT_NE(btf_, nullptr) << "no vmlinux BTF";
    }
    void TearDown() override {
        btf__free(btf_);
        btf_ = nullptr;
        KernelTest::TearDown();
    }

    /// The kernel's retval for `prog` (kfunc calls naming `kfuncs`, maps `maps`), or "error: <log tail>".
    std::string kernel(std::vector<bpf_insn> prog, const std::vector<std::string>& kfuncs,
                       const std::vector<TestMap>& maps) {
        std::vector<Fd> fds;
        for (const TestMap& m : maps) {
            fds.emplace_back(bpf_map_create(static_cast<bpf_map_type>(m.spec.type), nullptr, m.spec.key_size,
                                            m.spec.value_size, m.spec.max_entries, nullptr));
            if (fds.back().get() < 0) {
                return "error: map create";
            }
            for (const auto& [k, v] : m.entries) {
                if (bpf_map_update_elem(fds.back().get(), k.data(), v.data(), BPF_ANY) != 0) {
                    return "error: map update";
                }
            }
        }
        for (bpf_insn& in : prog) {
            if (in.code == (BPF_JMP | BPF_CALL) && in.src_reg == BPF_PSEUDO_KFUNC_CALL) {
                const int id = btf__find_by_name_kind(btf_, kfuncs[static_cast<std::size_t>(in.imm)].c_str(),
                                                      BTF_KIND_FUNC);
                if (id < 0) {
                    return "error: no BTF id for " + kfuncs[static_cast<std::size_t>(in.imm)];
                }
                in.imm = id;
            } else if (in.code == (BPF_LD | BPF_IMM | BPF_DW) && in.src_reg == BPF_PSEUDO_MAP_FD) {
                in.imm = fds[static_cast<std::size_t>(in.imm)].get();
            }
        }
        // Callbacks need BTF func_info: one `int f(void)` per function (main, then each callback).
        std::vector<bpf_func_info> funcs = {{0, 0}};
        for (std::size_t pc = 0; pc < prog.size(); ++pc) {
            if (prog[pc].code == (BPF_LD | BPF_IMM | BPF_DW) && prog[pc].src_reg == BPF_PSEUDO_FUNC) {
                funcs.push_back({static_cast<__u32>(static_cast<std::int64_t>(pc) + 1 + prog[pc].imm), 0});
            }
        }
        std::unique_ptr<btf, void (*)(btf*)> types(btf__new_empty(), btf__free);
        const int int_id = btf__add_int(types.get(), "int", 4, BTF_INT_SIGNED);
        const int proto = btf__add_func_proto(types.get(), int_id);
        for (std::size_t i = 0; i < funcs.size(); ++i) {
            funcs[i].type_id = static_cast<__u32>(btf__add_func(types.get(), i == 0 ? "main" : ("cb" + std::to_string(i)).c_str(),
                                                                i == 0 ? BTF_FUNC_GLOBAL : BTF_FUNC_STATIC, proto));
        }
        if (funcs.size() > 1 && btf__load_into_kernel(types.get()) != 0) {
            return "error: BTF load";
        }
        std::array<char, 65536> buf{};
        LIBBPF_OPTS(bpf_prog_load_opts, lo, .log_level = 1, .log_size = buf.size(), .log_buf = buf.data());
        if (funcs.size() > 1) {
            lo.prog_btf_fd = static_cast<__u32>(btf__fd(types.get()));
            lo.func_info = funcs.data();
            lo.func_info_cnt = static_cast<__u32>(funcs.size());
            lo.func_info_rec_size = sizeof(bpf_func_info);
        }
        Fd fd(bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "sf_cb", "GPL", prog.data(), prog.size(), &lo));
        if (fd.get() < 0) {
            // The last line before the verifier's statistics.
            std::string last;
            std::string line;
            for (const char* c = buf.data(); *c != '\0'; ++c) {
                if (*c != '\n') {
                    line += *c;
                    continue;
                }
                if (!line.empty() && line.rfind("processed ", 0) != 0 && line.rfind("verification time", 0) != 0 &&
                    line.rfind("stack depth", 0) != 0) {
                    last = line;
                }
                line.clear();
            }
            return "error: " + last;
        }
        Bytes f = frame();
        LIBBPF_OPTS(bpf_test_run_opts, ro, .data_in = f.data(), .data_size_in = static_cast<__u32>(f.size()));
        if (bpf_prog_test_run_opts(fd.get(), &ro) != 0) {
            return "error: test run";
        }
        return std::to_string(static_cast<std::int32_t>(ro.retval));
    }

    /// Our retval for the same program, or "error: <load or run message>".
    static std::string ours(const std::vector<bpf_insn>& prog, const std::vector<std::string>& kfuncs,
                            const std::vector<TestMap>& maps) {
        std::vector<isa::Insn> slots;
        for (const bpf_insn& in : prog) {
            isa::Insn s;
            s.opcode = in.code;
            s.dst = in.dst_reg;
            const bool map_fd = in.src_reg == BPF_PSEUDO_MAP_FD && in.code == (BPF_LD | BPF_IMM | BPF_DW);
            s.src = map_fd ? static_cast<std::uint8_t>(isa::kPseudoMapIdx) : in.src_reg;
            s.off = in.off;
            s.imm = in.imm;
            slots.push_back(s);
        }
        auto p = program::Program::from_slots("sf_cb", std::move(slots));
        if (!p) {
            return "error: " + p.error().render();
        }
        std::vector<program::MapSpec> specs;
        for (const TestMap& m : maps) {
            specs.push_back(m.spec);
        }
        auto inst = runtime::Instance::create(specs, {});
        if (!inst) {
            return "error: " + inst.error().render();
        }
        for (std::size_t i = 0; i < maps.size(); ++i) {
            for (const auto& [k, v] : maps[i].entries) {
                if ((*inst)->map(i).update_user(k.data(), v.data(), 0) != 0) {
                    return "error: map update";
                }
            }
        }
        std::vector<program::KfuncRef> refs;
        for (const std::string& k : kfuncs) {
            refs.push_back(program::KfuncRef{k});
        }
        runtime::Environment env = runtime::socket_filter_env();
        env.instance = inst->get();
        env.kfuncs = refs;
        auto loaded = runtime::load(*p, env);
        if (!loaded) {
            return "error: " + loaded.error().message;
        }
        auto skb = runtime::make_skb(frame(), runtime::dlt::kEn10mb, runtime::SocketKind::TestRun);
        if (!skb) {
            return "error: " + skb.error().render();
        }
        vm::Interpreter interp(*loaded);
        vm::RunInput in;
        in.skb = &*skb;
        const vm::ExecResult r = interp.run(in);
        if (r.status != vm::ExecStatus::Ok) {
            return "error: " + interp.fault_message();
        }
        return std::to_string(static_cast<std::int32_t>(static_cast<std::uint32_t>(r.r0)));
    }

    /// Asserts both sides agree and returns the kernel's answer.
    std::string both(const std::vector<bpf_insn>& prog, const std::vector<std::string>& kfuncs = {},
                     const std::vector<TestMap>& maps = {}) {
        const std::string k = kernel(prog, kfuncs, maps);
        EXPECT_EQ(k, ours(prog, kfuncs, maps));
        return k;
    }

    btf* btf_ = nullptr;
};

/// bpf_loop(n, cb, &sum, flags); cb adds i to sum and stops at `stop`; returns (r0 << 16) + sum.
std::vector<bpf_insn> loop_prog(std::int32_t n, std::int32_t flags, std::int32_t stop) {
    std::vector<bpf_insn> p = {st_dw(10, -8, 0), mov_imm(1, n)};
    ld_func(p, 2, 9);  // slots 2-3; the callback at 12
    p.insert(p.end(), {mov_reg(3, 10), add_imm(3, -8), mov_imm(4, flags), call(BPF_FUNC_loop), ldx(BPF_DW, 1, 10, -8),
                       lsh_imm(0, 16), add_reg(0, 1), exit_insn()});
    p.insert(p.end(), {ldx(BPF_DW, 3, 2, 0), add_reg(3, 1), stx(BPF_DW, 2, 3, 0), mov_imm(0, 0),
                       jne_imm(1, stop, 1), mov_imm(0, 1), exit_insn()});
    return p;
}

TEST_F(CallbacksKfuncsDiff, Loop) {
    EXPECT_EQ(both(loop_prog(10, 0, 100)), std::to_string((10 << 16) + 45));
    EXPECT_EQ(both(loop_prog(10, 0, 6)), std::to_string((7 << 16) + 21));
    EXPECT_EQ(both(loop_prog(0, 0, 0)), "0");
    EXPECT_EQ(both(loop_prog(3, 1, 100)), std::to_string(-22 * 65536));
    EXPECT_EQ(both(loop_prog(8388609, 0, 100)), std::to_string(-7 * 65536));
}

/// bpf_for_each_map_elem over map 0 (array of 4 u64: 10, 20, 30, 40); cb adds value + 1000 * key
/// and stops at key `stop`; returns (r0 << 16) + sum.
std::vector<bpf_insn> for_each_prog(std::int32_t flags, std::int32_t stop) {
    std::vector<bpf_insn> p = {st_dw(10, -8, 0)};
    ld_map(p, 1, 0);   // slots 1-2
    ld_func(p, 2, 9);  // slots 3-4; the callback at 13
    p.insert(p.end(), {mov_reg(3, 10), add_imm(3, -8), mov_imm(4, flags), call(BPF_FUNC_for_each_map_elem),
                       ldx(BPF_DW, 1, 10, -8), lsh_imm(0, 16), add_reg(0, 1), exit_insn()});
    p.insert(p.end(), {ldx(BPF_W, 5, 2, 0), mul_imm(5, 1000), ldx(BPF_DW, 0, 3, 0), add_reg(5, 0),
                       ldx(BPF_DW, 0, 4, 0), add_reg(0, 5), stx(BPF_DW, 4, 0, 0), mov_imm(0, 0), ldx(BPF_W, 5, 2, 0),
                       jne_imm(5, stop, 1), mov_imm(0, 1), exit_insn()});
    return p;
}

TEST_F(CallbacksKfuncsDiff, ForEachArray) {
    TestMap array;
    array.spec.type = program::MapType::Array;
    array.spec.key_size = 4;
    array.spec.value_size = 8;
    array.spec.max_entries = 4;
    for (std::uint8_t i = 0; i < 4; ++i) {
        array.entries.push_back({Bytes{i, 0, 0, 0}, Bytes{static_cast<std::uint8_t>(10 * (i + 1)), 0, 0, 0, 0, 0, 0, 0}});
    }
    EXPECT_EQ(both(for_each_prog(0, 100), {}, {array}), std::to_string((4 << 16) + 100 + 6000));
    EXPECT_EQ(both(for_each_prog(0, 1), {}, {array}), std::to_string((2 << 16) + 30 + 1000));
    EXPECT_EQ(both(for_each_prog(2, 100), {}, {array}), std::to_string(-22 * 65536));
    // A hash map: every element once (the sum does not depend on the bucket order).
    TestMap hash = array;
    hash.spec.type = program::MapType::Hash;
    hash.spec.max_entries = 8;
    hash.entries.pop_back();
    EXPECT_EQ(both(for_each_prog(0, 100), {}, {hash}), std::to_string((3 << 16) + 60 + 3000));
}

/// The skb dynptr kfuncs: r6 = ctx; dynptr at fp-16 from bpf_dynptr_from_skb(ctx, flags), then `body`.
std::vector<bpf_insn> dynptr_prog(std::int32_t flags, const std::vector<bpf_insn>& body) {
    std::vector<bpf_insn> p = {mov_reg(6, 1),  mov_reg(1, 6), mov_imm(2, flags), mov_reg(3, 10), add_imm(3, -16),
                               kcall(0)};
    p.insert(p.end(), body.begin(), body.end());
    p.push_back(exit_insn());
    return p;
}

const std::vector<std::string> kDynptrKfuncs = {"bpf_dynptr_from_skb", "bpf_dynptr_is_rdonly", "bpf_dynptr_size",
                                                "bpf_dynptr_is_null", "bpf_dynptr_slice", "bpf_dynptr_adjust",
                                                "bpf_dynptr_clone", "bpf_dynptr_slice_rdwr"};

std::vector<bpf_insn> dyn_arg(int reg, std::int16_t off) { return {mov_reg(reg, 10), add_imm(reg, off)}; }

TEST_F(CallbacksKfuncsDiff, SkbDynptr) {
    auto with = [](std::vector<bpf_insn> a, const std::vector<bpf_insn>& b) {
        a.insert(a.end(), b.begin(), b.end());
        return a;
    };
    EXPECT_EQ(both(dynptr_prog(0, {}), kDynptrKfuncs), "0");
    EXPECT_EQ(both(dynptr_prog(1, {}), kDynptrKfuncs), "-22");
    EXPECT_EQ(both(dynptr_prog(0, with(dyn_arg(1, -16), {kcall(1)})), kDynptrKfuncs), "1");
    EXPECT_EQ(both(dynptr_prog(0, with(dyn_arg(1, -16), {kcall(2)})), kDynptrKfuncs), "46");
    EXPECT_EQ(both(dynptr_prog(0, with(dyn_arg(1, -16), {kcall(3)})), kDynptrKfuncs), "0");
    // bpf_dynptr_read(fp-24, 4, dyn, off, 0) -> the word, or the error.
    for (const std::int32_t off : {0, 42, 43, 44}) {
        const std::vector<bpf_insn> read = {st_dw(10, -24, 0), mov_reg(1, 10), add_imm(1, -24), mov_imm(2, 4),
                                            mov_reg(3, 10), add_imm(3, -16), mov_imm(4, off), mov_imm(5, 0),
                                            call(BPF_FUNC_dynptr_read), jne_imm(0, 0, 1), ldx(BPF_W, 0, 10, -24)};
        both(dynptr_prog(0, read), kDynptrKfuncs);
    }
    // bpf_dynptr_write on the read-only skb dynptr -> -EINVAL.
    const std::vector<bpf_insn> write = {st_dw(10, -24, 0), mov_reg(1, 10), add_imm(1, -16), mov_imm(2, 0),
                                         mov_reg(3, 10), add_imm(3, -24), mov_imm(4, 4), mov_imm(5, 0),
                                         call(BPF_FUNC_dynptr_write)};
    EXPECT_EQ(both(dynptr_prog(0, write), kDynptrKfuncs), "-22");
    // bpf_dynptr_data -> NULL for skb dynptrs.
    const std::vector<bpf_insn> data = {mov_reg(1, 10), add_imm(1, -16), mov_imm(2, 0), mov_imm(3, 4),
                                        call(BPF_FUNC_dynptr_data), jeq_imm(0, 0, 1), mov_imm(0, 1)};
    EXPECT_EQ(both(dynptr_prog(0, data), kDynptrKfuncs), "0");
    // bpf_dynptr_slice(dyn, off, fp-24, 4) -> *(u32 *), or 12345 for NULL.
    for (const std::int32_t off : {0, 10, 42, 43}) {
        const std::vector<bpf_insn> slice = {st_dw(10, -24, 0), mov_reg(1, 10), add_imm(1, -16), mov_imm(2, off),
                                             mov_reg(3, 10), add_imm(3, -24), mov_imm(4, 4), kcall(4),
                                             jne_imm(0, 0, 2), mov_imm(0, 12345), ja(1), ldx(BPF_W, 0, 0, 0)};
        both(dynptr_prog(0, slice), kDynptrKfuncs);
    }
    // bpf_dynptr_adjust(dyn, start, end) then size, or the error.
    for (const auto& [start, end] : std::vector<std::pair<std::int32_t, std::int32_t>>{{2, 6}, {6, 2}, {0, 47}, {47, 50}, {46, 46}}) {
        const std::vector<bpf_insn> adjust = {mov_reg(1, 10), add_imm(1, -16), mov_imm(2, start), mov_imm(3, end),
                                              kcall(5), jne_imm(0, 0, 3), mov_reg(1, 10), add_imm(1, -16), kcall(2)};
        both(dynptr_prog(0, adjust), kDynptrKfuncs);
    }
    // bpf_dynptr_clone then size of the clone.
    const std::vector<bpf_insn> clone = {mov_reg(1, 10), add_imm(1, -16), mov_reg(2, 10), add_imm(2, -32), kcall(6),
                                         mov_reg(1, 10), add_imm(1, -32), kcall(2)};
    EXPECT_EQ(both(dynptr_prog(0, clone), kDynptrKfuncs), "46");
    // bpf_dynptr_slice_rdwr is refused at load, with the kernel's message.
    const std::vector<bpf_insn> rdwr = {mov_reg(1, 10), add_imm(1, -16), mov_imm(2, 0), mov_reg(3, 10),
                                        add_imm(3, -24), mov_imm(4, 4), kcall(7), mov_imm(0, 0)};
    EXPECT_EQ(both(dynptr_prog(0, rdwr), kDynptrKfuncs), "error: the prog does not allow writes to packet data");
}

TEST_F(CallbacksKfuncsDiff, IterNumSum) {
    const std::vector<std::string> names = {"bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_destroy"};
    for (const auto& [start, end] : std::vector<std::pair<std::int32_t, std::int32_t>>{{0, 10}, {5, 5}, {7, 3}, {-3, 2}}) {
        const std::vector<bpf_insn> p = {
            mov_reg(1, 10), add_imm(1, -8), mov_imm(2, start), mov_imm(3, end), kcall(0), mov_imm(7, 0),
            // loop:
            mov_reg(1, 10), add_imm(1, -8), kcall(1), jeq_imm(0, 0, 3), ldx(BPF_W, 1, 0, 0), add_reg(7, 1), ja(-7),
            mov_reg(1, 10), add_imm(1, -8), kcall(2), mov_reg(0, 7), exit_insn()};
        both(p, names);
    }
}

TEST_F(CallbacksKfuncsDiff, MapSumElemCountAndSections) {
    TestMap hash;
    hash.spec.type = program::MapType::Hash;
    hash.spec.key_size = 4;
    hash.spec.value_size = 4;
    hash.spec.max_entries = 8;
    for (std::uint8_t i = 0; i < 3; ++i) {
        hash.entries.push_back({Bytes{i, 0, 0, 0}, Bytes{1, 0, 0, 0}});
    }
    std::vector<bpf_insn> sum;
    ld_map(sum, 1, 0);
    sum.insert(sum.end(), {kcall(0), exit_insn()});
    EXPECT_EQ(both(sum, {"bpf_map_sum_elem_count"}, {hash}), "3");
    const std::vector<bpf_insn> sections = {kcall(0), kcall(2), kcall(2), kcall(3), kcall(3), kcall(1),
                                            mov_imm(0, 7), exit_insn()};
    EXPECT_EQ(both(sections, {"bpf_rcu_read_lock", "bpf_rcu_read_unlock", "bpf_preempt_disable",
                              "bpf_preempt_enable"}),
              "7");
    const std::vector<std::string> names = {"bpf_rcu_read_lock", "bpf_rcu_read_unlock", "bpf_preempt_disable",
                                            "bpf_preempt_enable"};
    // The nesting rules: the verifier refuses at load what our run faults on, with the same words.
    const std::vector<std::pair<std::vector<bpf_insn>, std::string>> refused = {
        {{kcall(0), kcall(0), kcall(1), kcall(1)}, "nested rcu read lock (kernel function bpf_rcu_read_lock)"},
        {{kcall(1)}, "unmatched rcu read unlock (kernel function bpf_rcu_read_unlock)"},
        {{kcall(3)}, "unmatched attempt to enable preemption (kernel function bpf_preempt_enable)"},
        {{kcall(0)}, "BPF_EXIT instruction in main prog cannot be used inside bpf_rcu_read_lock-ed region"},
        {{kcall(2)}, "BPF_EXIT instruction in main prog cannot be used inside bpf_preempt_disable-ed region"},
    };
    for (const auto& [body, message] : refused) {
        std::vector<bpf_insn> p = body;
        p.insert(p.end(), {mov_imm(0, 7), exit_insn()});
        EXPECT_EQ(kernel(p, names, {}), "error: " + message);
        const std::string o = ours(p, names, {});
        EXPECT_NE(o.find(message), std::string::npos) << o;
    }
    // Sections interleave, and preemption sections nest.
    EXPECT_EQ(both({kcall(2), kcall(0), kcall(3), kcall(1), mov_imm(0, 7), exit_insn()}, names), "7");
    EXPECT_EQ(both({kcall(2), kcall(2), kcall(3), kcall(3), mov_imm(0, 7), exit_insn()}, names), "7");
}

}  // namespace
}  // namespace sockfilter::testing
