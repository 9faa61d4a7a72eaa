// SPDX-License-Identifier: MIT
// BPF_PROG_LOAD, BPF_PROG_TEST_RUN and the permission probe through libbpf's low-level API.
#include "kernel/bpf.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "kernel/prog_load.h"

namespace sockfilter::kernel {

namespace {

/// The verifier log grows until the kernel stops reporting ENOSPC (a truncated log fails the
/// load), up to this size.
constexpr std::size_t kInitialLogSize = std::size_t{1} << 20;
constexpr std::size_t kMaxLogSize = std::size_t{1} << 28;

tl::unexpected<Error> kernel_error(int err, std::string message) {
    return tl::unexpected<Error>(Error{Errc::Kernel, std::move(message), {}, {}, err});
}

std::string unprivileged_setting() {
    std::ifstream f("/proc/sys/kernel/unprivileged_bpf_disabled");
    std::string v;
    if (f >> v) {
        return v;
    }
    return "unreadable";
}

}  // namespace

std::string summarize_log(std::string_view log) {
    std::string_view best;
    std::size_t pos = 0;
    while (pos < log.size()) {
        std::size_t nl = log.find('\n', pos);
        if (nl == std::string_view::npos) {
            nl = log.size();
        }
        std::string_view line = log.substr(pos, nl - pos);
        pos = nl + 1;
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\0')) {
            line.remove_suffix(1);
        }
        const bool stats = line.starts_with("processed ") || line.starts_with("verification time ") ||
                           line.starts_with("stack depth ");
        // "; <source line> @ file.c:12": the verifier's annotation from BTF line info, which it may
        // print after the message.
        const bool source = line.starts_with("; ");
        if (!line.empty() && !stats && !source) {
            best = line;
        }
    }
    return std::string(best);
}

namespace detail {

std::string kernel_name(std::string_view name) {
    // BPF_OBJ_NAME_LEN - 1.
    constexpr std::size_t kMaxNameLen = 15;
    std::string out;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                        c == '.';
        if (ok && out.size() < kMaxNameLen) {
            out.push_back(c);
        }
    }
    return out;
}

std::vector<bpf_insn> to_kernel(std::span<const isa::Insn> slots) {
    std::vector<bpf_insn> out(slots.size());
    for (std::size_t i = 0; i < slots.size(); ++i) {
        const isa::Insn& in = slots[i];
        out[i].code = in.opcode;
        out[i].dst_reg = in.dst & 0x0f;
        out[i].src_reg = in.src & 0x0f;
        out[i].off = in.off;
        out[i].imm = in.imm;
    }
    return out;
}

Result<Fd> prog_load(const std::string& name, std::span<const bpf_insn> insns, const std::string& license,
                     const LoadOptions& opts, const ProgLoadExtras& extras, std::string* log) {
    std::vector<char> buf(kInitialLogSize);
    while (true) {
        buf[0] = '\0';
        LIBBPF_OPTS(bpf_prog_load_opts, lo);
        lo.prog_flags = opts.prog_flags;
        lo.log_level = opts.log_level;
        lo.log_buf = buf.data();
        lo.log_size = static_cast<std::uint32_t>(buf.size());
        if (extras.btf_fd >= 0) {
            lo.prog_btf_fd = static_cast<std::uint32_t>(extras.btf_fd);
        }
        if (!extras.func_info.empty()) {
            lo.func_info = extras.func_info.data();
            lo.func_info_cnt = static_cast<std::uint32_t>(extras.func_info.size());
            lo.func_info_rec_size = sizeof(bpf_func_info);
        }
        if (!extras.line_info.empty()) {
            lo.line_info = extras.line_info.data();
            lo.line_info_cnt = static_cast<std::uint32_t>(extras.line_info.size());
            lo.line_info_rec_size = sizeof(bpf_line_info);
        }
        if (!extras.fd_array.empty()) {
            lo.fd_array = extras.fd_array.data();
        }
        errno = 0;
        const int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, name.empty() ? nullptr : name.c_str(),
                                     license.c_str(), insns.data(), insns.size(), &lo);
        const int err = fd < 0 ? -fd : 0;
        if (err == ENOSPC && buf.size() < kMaxLogSize) {
            buf.assign(buf.size() * 8, '\0');
            continue;
        }
        buf.back() = '\0';
        const std::string text(buf.data());
        if (log != nullptr) {
            *log = text;
        }
        if (fd >= 0) {
            return Fd(fd);
        }
        std::string summary = summarize_log(text);
        if (summary.empty()) {
            summary = std::string("BPF_PROG_LOAD: ") + std::strerror(err);
        }
        return kernel_error(err, std::move(summary));
    }
}

}  // namespace detail

Result<Fd> load_socket_filter(const program::Program& prog, const LoadOptions& opts, std::string* log) {
    return load_socket_filter(prog.name(), prog.slots(), opts, log);
}

Result<Fd> load_socket_filter(std::string_view name, std::span<const isa::Insn> slots, const LoadOptions& opts,
                              std::string* log) {
    const std::vector<bpf_insn> insns = detail::to_kernel(slots);
    return detail::prog_load(detail::kernel_name(name), insns, opts.license, opts, {}, log);
}

Result<TestRunResult> test_run(const Fd& prog, std::span<const std::uint8_t> data,
                               const std::optional<std::array<std::uint8_t, kSkBuffSize>>& ctx_in) {
    TestRunResult out;
    // The kernel writes back the whole packet; a socket filter cannot grow it.
    out.data_out.resize(data.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, ro);
    ro.data_in = data.data();
    ro.data_size_in = static_cast<std::uint32_t>(data.size());
    ro.data_out = out.data_out.data();
    ro.data_size_out = static_cast<std::uint32_t>(out.data_out.size());
    if (ctx_in) {
        ro.ctx_in = ctx_in->data();
        ro.ctx_size_in = static_cast<std::uint32_t>(ctx_in->size());
    }
    ro.ctx_out = out.ctx_out.data();
    ro.ctx_size_out = static_cast<std::uint32_t>(out.ctx_out.size());
    ro.repeat = 1;
    const int rc = bpf_prog_test_run_opts(prog.get(), &ro);
    if (rc < 0) {
        const int err = -rc;
        return kernel_error(err, std::string("BPF_PROG_TEST_RUN: ") + std::strerror(err));
    }
    out.data_out.resize(ro.data_size_out);
    out.retval = ro.retval;
    return out;
}

Result<ProgramInfo> program_info(const Fd& prog) {
    bpf_prog_info info{};
    std::uint32_t len = sizeof(info);
    if (const int rc = bpf_obj_get_info_by_fd(prog.get(), &info, &len); rc != 0) {
        const int err = -rc;
        return kernel_error(err, std::string("BPF_OBJ_GET_INFO_BY_FD: ") + std::strerror(err));
    }
    return ProgramInfo{info.id, info.name, info.xlated_prog_len / static_cast<std::uint32_t>(sizeof(bpf_insn)),
                       info.jited_prog_len, info.verified_insns};
}

Result<std::vector<isa::Insn>> xlated(const Fd& prog) {
    auto head = program_info(prog);
    if (!head) {
        return tl::unexpected(std::move(head.error()));
    }
    std::vector<bpf_insn> raw(head->xlated_insns);
    bpf_prog_info info{};
    info.xlated_prog_len = static_cast<std::uint32_t>(raw.size() * sizeof(bpf_insn));
    info.xlated_prog_insns = reinterpret_cast<std::uintptr_t>(raw.data());
    std::uint32_t len = sizeof(info);
    if (const int rc = bpf_obj_get_info_by_fd(prog.get(), &info, &len); rc != 0) {
        const int err = -rc;
        return kernel_error(err, std::string("BPF_OBJ_GET_INFO_BY_FD: ") + std::strerror(err));
    }
    if (raw.empty() || info.xlated_prog_insns == 0) {
        return fail(Errc::NotSupported, "the kernel does not show this process the translated program (it needs "
                    "CAP_BPF, and CAP_SYS_ADMIN or CAP_SYSLOG under kernel.kptr_restrict)");
    }
    std::vector<isa::Insn> out(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        out[i] = isa::Insn{raw[i].code, raw[i].dst_reg, raw[i].src_reg, raw[i].off, raw[i].imm};
    }
    return out;
}

Result<Probe> probe() {
    auto prog = program::Program::from_slots("sf_probe", {{0xb7, 0, 0, 0, 0}, {0x95, 0, 0, 0, 0}});
    if (!prog) {
        return tl::unexpected(std::move(prog.error()));
    }
    LoadOptions opts;
    opts.log_level = 0;
    auto fd = load_socket_filter(*prog, opts);
    if (fd) {
        return Probe{true, 0, {}};
    }
    const int err = fd.error().sys_errno;
    switch (err) {
        case EPERM:
        case EACCES:
            return Probe{false, err,
                         "bpf(BPF_PROG_LOAD) of a socket filter failed: " + std::string(std::strerror(err)) +
                             " (needs CAP_BPF, or kernel.unprivileged_bpf_disabled=0; it is " + unprivileged_setting() +
                             ")"};
        case ENOSYS:
            return Probe{false, err, "bpf() is not available: " + std::string(std::strerror(err))};
        default: break;
    }
    Error e{Errc::NotSupported, "probe load of a 2-instruction socket filter failed: " + fd.error().message, {}, {}, err};
    return tl::unexpected(std::move(e));
}

}  // namespace sockfilter::kernel
