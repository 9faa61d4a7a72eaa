// SPDX-License-Identifier: MIT
// Loading a whole BPF object into the kernel through libbpf's low-level API: its BTF, its maps
// (global data written, .rodata frozen), every program with func_info and line_info, kfunc calls
// resolved against vmlinux BTF, and prog arrays filled from their declared initial values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernel/bpf.h"
#include "kernel/fd.h"
#include "program/object.h"
#include "support/result.h"

namespace sockfilter::kernel {

/// One map of an object, created in the kernel.
struct KernelMap {
    std::string name;  ///< MapSpec::name (the kernel's own name may be shortened to 15 characters)
    Fd fd;
};

/// The kernel objects made for one program::Object; vectors in the Object's order.
struct LoadedObject {
    Fd btf;                        ///< the object's BTF, or nothing when it has none or the kernel refused it
    /// Why the kernel refused the object's BTF (empty when it has none or it loaded). As under
    /// libbpf, BTF is then optional: maps and programs load without it (no func_info or
    /// line_info), and a program that needs it fails with the verifier's message.
    std::string btf_error;
    std::vector<KernelMap> maps;   ///< index = Object::maps index
    std::vector<Fd> programs;      ///< index = Object::programs index; empty Fd if not loaded
};

/// What load_object loads and how.
struct ObjectLoadOptions {
    /// Attributes of every BPF_PROG_LOAD; an empty license takes the object's own.
    LoadOptions load{.license = ""};
    /// Load only this program (with all maps); the other programs are not loaded and prog-array
    /// slots naming them stay empty.
    std::optional<std::size_t> only;
};

/// Creates the object's maps with the same specs (with map BTF where the object has it),
/// writes global data and freezes `.rodata`, loads every program as a socket filter (program
/// BTF, func_info and line_info where the object has them; map references through fd_array;
/// kfunc calls resolved by name in vmlinux BTF), then fills prog arrays and map-in-map
/// slots from MapSpec::initial_slots.
///
/// On failure nothing stays loaded. A program the verifier refuses gives Errc::Kernel with
/// context "program NAME" and the log's summary; `log`, if given, receives that program's full
/// verifier log (and on success, with a non-zero log level, the last program's log).
[[nodiscard]] Result<LoadedObject> load_object(const program::Object& obj, const ObjectLoadOptions& opts = {},
                                               std::string* log = nullptr);

}  // namespace sockfilter::kernel
