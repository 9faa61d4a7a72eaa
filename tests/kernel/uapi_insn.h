// SPDX-License-Identifier: MIT
// Instructions for the kernel side of differential tests, encoded with the kernel's own UAPI
// (`struct bpf_insn`, BPF_* constants) rather than sockfilter's isa table, so that the oracle's
// programs do not depend on the code under test.
#pragma once

#include <linux/bpf.h>

#include <cstdint>

namespace sockfilter::testing {

/// One `struct bpf_insn`.
inline bpf_insn insn(int code, int dst, int src, std::int16_t off, std::int32_t imm) {
    bpf_insn i{};
    i.code = static_cast<std::uint8_t>(code);
    i.dst_reg = static_cast<std::uint8_t>(dst & 0xf) & 0xfU;
    i.src_reg = static_cast<std::uint8_t>(src & 0xf) & 0xfU;
    i.off = off;
    i.imm = imm;
    return i;
}

}  // namespace sockfilter::testing
