// SPDX-License-Identifier: MIT
// The reference loader of the kernel tests: an object file opened and loaded by libbpf.
#pragma once

#include <bpf/libbpf.h>

#include <optional>
#include <set>
#include <string>

namespace sockfilter::testing {

/// A libbpf object, opened and loaded, closed on destruction. With `socket_filters`, only the
/// programs it names are loaded, each as a socket filter (libbpf knows no `socket/...` section
/// other than `socket`).
class LibbpfObject {
public:
    explicit LibbpfObject(const std::string& path,
                          const std::optional<std::set<std::string>>& socket_filters = std::nullopt) {
        obj_ = bpf_object__open_file(path.c_str(), nullptr);
        if (obj_ == nullptr) {
            error_ = "bpf_object__open_file failed";
            return;
        }
        if (socket_filters) {
            bpf_program* p = nullptr;
            bpf_object__for_each_program(p, obj_) {
                if (socket_filters->contains(bpf_program__name(p))) {
                    bpf_program__set_type(p, BPF_PROG_TYPE_SOCKET_FILTER);
                } else {
                    bpf_program__set_autoload(p, false);
                }
            }
        }
        if (int err = bpf_object__load(obj_); err != 0) {
            error_ = "bpf_object__load failed: " + std::to_string(err);
        }
    }
    LibbpfObject(const LibbpfObject&) = delete;
    LibbpfObject& operator=(const LibbpfObject&) = delete;
    ~LibbpfObject() { bpf_object__close(obj_); }

    /// Empty when the object loaded.
    [[nodiscard]] const std::string& error() const { return error_; }
    /// The fd of the program called `name`, or -1.
    [[nodiscard]] int program_fd(const std::string& name) const {
        const bpf_program* p = bpf_object__find_program_by_name(obj_, name.c_str());
        return p == nullptr ? -1 : bpf_program__fd(p);
    }

private:
    bpf_object* obj_ = nullptr;
    std::string error_;
};

}  // namespace sockfilter::testing
