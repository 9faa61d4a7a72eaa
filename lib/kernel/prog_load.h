// SPDX-License-Identifier: MIT
// Internal to lib/kernel: one BPF_PROG_LOAD of a socket filter with what an object adds to the
// instructions (program BTF, func_info, line_info, fd_array), shared by load_socket_filter and
// load_object.
#pragma once

#include <linux/bpf.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/bpf.h"
#include "kernel/fd.h"
#include "program/program.h"
#include "support/result.h"

namespace sockfilter::kernel::detail {

/// What BPF_PROG_LOAD gets besides the instructions, name and license; empty spans are not passed.
struct ProgLoadExtras {
    int btf_fd = -1;
    std::span<const bpf_func_info> func_info;
    std::span<const bpf_line_info> line_info;
    /// BPF_PSEUDO_MAP_IDX / _IDX_VALUE immediates index this array of map fds.
    std::span<const int> fd_array;
};

/// `name` as the kernel accepts an object name: identifier characters and '.', at most 15.
[[nodiscard]] std::string kernel_name(std::string_view name);

/// Instruction slots as struct bpf_insn.
[[nodiscard]] std::vector<bpf_insn> to_kernel(std::span<const isa::Insn> slots);

/// BPF_PROG_LOAD of a socket filter, growing the verifier log buffer until it fits; errors and
/// `log` as load_socket_filter documents.
[[nodiscard]] Result<Fd> prog_load(const std::string& name, std::span<const bpf_insn> insns, const std::string& license,
                                   const LoadOptions& opts, const ProgLoadExtras& extras, std::string* log);

}  // namespace sockfilter::kernel::detail
