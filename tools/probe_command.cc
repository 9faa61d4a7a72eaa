// SPDX-License-Identifier: MIT
// `sockfilter probe`: what this machine lets this process do with BPF (kernel::probe_features).
#include <memory>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "kernel/features.h"
#include "tools/commands.h"

namespace sockfilter::tools {

namespace {

std::string jit_text(const std::optional<int>& v) {
    if (!v) {
        return "unknown (net.core.bpf_jit_enable unreadable)";
    }
    const char* what = *v == 0 ? "off: programs run in the kernel's interpreter" : *v == 1 ? "on" : "on, with debug output";
    return fmt::format("{} (net.core.bpf_jit_enable={})", what, *v);
}

std::string unprivileged_text(const std::optional<int>& v) {
    if (!v) {
        return "unknown (kernel.unprivileged_bpf_disabled unreadable)";
    }
    const char* what = *v == 0   ? "allowed: users without CAP_BPF may load socket filters"
                       : *v == 1 ? "disabled until reboot: only CAP_BPF or CAP_SYS_ADMIN may use bpf()"
                                 : "disabled: only CAP_BPF or CAP_SYS_ADMIN may use bpf() (root may set it back to 0)";
    return fmt::format("{} (kernel.unprivileged_bpf_disabled={})", what, *v);
}

int probe_main(bool json) {
    auto f = kernel::probe_features();
    if (!f) {
        fmt::print(stderr, "sockfilter probe: {}\n", f.error().render());
        return kExitFailure;
    }
    if (json) {
        nlohmann::ordered_json j;
        j["bpf"] = {{"permitted", f->bpf.permitted}, {"errno", f->bpf.sys_errno}, {"reason", f->bpf.reason}};
        j["privilege"] = kernel::privilege_name(f->privilege);
        j["capabilities"] = f->capabilities;
        j["jit_enable"] = f->jit_enable ? nlohmann::ordered_json(*f->jit_enable) : nlohmann::ordered_json();
        j["jit_harden"] = f->jit_harden ? nlohmann::ordered_json(*f->jit_harden) : nlohmann::ordered_json();
        j["unprivileged_bpf_disabled"] = f->unprivileged_bpf_disabled
                                             ? nlohmann::ordered_json(*f->unprivileged_bpf_disabled)
                                             : nlohmann::ordered_json();
        j["bpffs"] = {{"path", kernel::kBpffsPath}, {"mounted", f->bpffs_mounted}};
        j["kernel"] = f->kernel_release;
        fmt::print("{}\n", j.dump());
    } else {
        fmt::print("bpf():            {}\n", f->bpf.permitted ? "permitted: socket filters load" : "not permitted: " + f->bpf.reason);
        fmt::print("privilege:        {} ({}), the helpers of `run --privilege {}`\n", kernel::privilege_name(f->privilege),
                   f->capabilities.empty() ? "no BPF-related capability" : f->capabilities,
                   kernel::privilege_name(f->privilege));
        fmt::print("JIT:              {}\n", jit_text(f->jit_enable));
        if (f->jit_harden) {
            fmt::print("JIT hardening:    {} (net.core.bpf_jit_harden)\n", *f->jit_harden);
        }
        fmt::print("unprivileged bpf: {}\n", unprivileged_text(f->unprivileged_bpf_disabled));
        fmt::print("bpffs:            {} {}\n", f->bpffs_mounted ? "mounted at" : "not mounted at", kernel::kBpffsPath);
        fmt::print("kernel:           {}\n", f->kernel_release);
    }
    return f->bpf.permitted ? kExitOk : kExitFailure;
}

}  // namespace

void add_probe_command(CLI::App& app, int& exit_code) {
    auto json = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand("probe", "Say what this machine lets this process do with BPF");
    cmd->add_flag("--json", *json, "One JSON object instead of text");
    cmd->footer("Exit status 0 when bpf() may load socket filters here, 1 when it may not.");
    cmd->callback([json, &exit_code] { exit_code = probe_main(*json); });
}

}  // namespace sockfilter::tools
