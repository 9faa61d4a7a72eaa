// SPDX-License-Identifier: MIT
// The kernel backend's program calls (Linux only, through libbpf's low-level API): load a socket
// filter and get the verifier's verdict and log, run it with BPF_PROG_TEST_RUN, probe whether
// bpf() is permitted at all.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/fd.h"
#include "program/program.h"
#include "support/result.h"

namespace sockfilter::kernel {

/// sizeof(struct __sk_buff) in 6.18: the context BPF_PROG_TEST_RUN takes and returns.
inline constexpr std::size_t kSkBuffSize = 192;

/// Attributes of BPF_PROG_LOAD besides the instructions.
struct LoadOptions {
    std::string license = "GPL";
    /// Verifier log level bits (1 = BPF_LOG_LEVEL1, 2 = BPF_LOG_LEVEL2, 4 = BPF_LOG_STATS). With 0
    /// the kernel writes no log on success; a failed load is then repeated at level 1 (by libbpf)
    /// so that the error still has the verifier's message.
    std::uint32_t log_level = 1;
    /// BPF_F_* load flags (BPF_F_STRICT_ALIGNMENT, BPF_F_ANY_ALIGNMENT, BPF_F_TEST_RND_HI32, ...).
    std::uint32_t prog_flags = 0;
};

/// Loads `prog` as a BPF_PROG_TYPE_SOCKET_FILTER named after the program (truncated to the
/// kernel's 15 characters, non-identifier characters dropped).
///
/// On failure the Error has Errc::Kernel, `sys_errno` = the errno of bpf(2), and `message` = the
/// verifier log's summary (summarize_log), or "BPF_PROG_LOAD: <strerror>" when the kernel wrote
/// no log (E2BIG for too many instructions, EPERM without privileges). The full log is not put in
/// the Error (whose context layers are rendered in one line); pass `log` to receive it, on success
/// (when log_level != 0) and on failure alike.
[[nodiscard]] Result<Fd> load_socket_filter(const program::Program& prog, const LoadOptions& opts = {},
                                            std::string* log = nullptr);

/// load_socket_filter for instruction slots that need not form a valid program::Program (a
/// malformed program, to get the kernel's verdict and message on it), named `name`.
[[nodiscard]] Result<Fd> load_socket_filter(std::string_view name, std::span<const isa::Insn> slots,
                                            const LoadOptions& opts = {}, std::string* log = nullptr);

/// The one line that says why a verifier log ended as it did: the last non-empty line that is
/// neither a statistics line (`processed N insns ...`, `verification time`, `stack depth`) nor a
/// source annotation from BTF line info (`; <source> @ file.c:12`). Empty if there is no such line.
[[nodiscard]] std::string summarize_log(std::string_view log);

/// What one BPF_PROG_TEST_RUN returned.
struct TestRunResult {
    std::uint32_t retval = 0;                  ///< the program's 32-bit return value
    std::vector<std::uint8_t> data_out;        ///< the packet afterwards (Ethernet header re-pushed, zeroed)
    std::array<std::uint8_t, kSkBuffSize> ctx_out{};  ///< the __sk_buff afterwards (cb[] written by the program)
};

/// Runs a loaded socket filter once on `data` (an Ethernet frame of at least 14 bytes; the kernel
/// strips the header with eth_type_trans, spec §1.7). `ctx_in`, if given, presets the fields
/// BPF_PROG_TEST_RUN accepts (mark, priority, ingress_ifindex, ifindex, cb, tstamp, wire_len,
/// gso_segs, gso_size, hwtstamp; any other non-zero byte makes the kernel return EINVAL).
/// Errors: Errc::Kernel with the errno of bpf(2).
[[nodiscard]] Result<TestRunResult> test_run(const Fd& prog, std::span<const std::uint8_t> data,
                                             const std::optional<std::array<std::uint8_t, kSkBuffSize>>& ctx_in);

/// What BPF_OBJ_GET_INFO_BY_FD reports of a loaded program.
struct ProgramInfo {
    std::uint32_t id = 0;              ///< the kernel's program id (bpftool prog show id N)
    std::string name;                  ///< the kernel's name (at most 15 characters)
    std::uint32_t xlated_insns = 0;    ///< slots of the program as the verifier rewrote it
    std::uint32_t jited_bytes = 0;     ///< 0 when the JIT is off
    std::uint32_t verified_insns = 0;  ///< instructions the verifier processed
};

/// BPF_OBJ_GET_INFO_BY_FD of a program. Errors: Errc::Kernel with the errno.
[[nodiscard]] Result<ProgramInfo> program_info(const Fd& prog);

/// The program as the kernel rewrote it (xlated_prog_insns): context accesses converted, helper
/// calls resolved, map pointers replaced (the kernel hides their addresses unless the caller may
/// read kernel pointers). Errors: Errc::Kernel with the errno, or Errc::NotSupported when the
/// kernel withholds the instructions (it does without CAP_BPF, or under kernel.kptr_restrict).
[[nodiscard]] Result<std::vector<isa::Insn>> xlated(const Fd& prog);

/// Whether this process may use bpf() for socket filters.
struct Probe {
    bool permitted = false;
    int sys_errno = 0;   ///< why not: the errno of the probe load (EPERM, EACCES, ENOSYS)
    std::string reason;  ///< why not, in words (includes kernel.unprivileged_bpf_disabled when readable)
};

/// Loads the 2-instruction socket filter `r0 = 0; exit`. A refusal for lack of permission or
/// support (EPERM, EACCES, ENOSYS) is a Probe with `permitted == false`; any other failure is an
/// Error with Errc::NotSupported and the errno.
[[nodiscard]] Result<Probe> probe();

}  // namespace sockfilter::kernel
