// SPDX-License-Identifier: MIT
// CO-RE: relocating field offsets, sizes and existence, type existence, sizes and ids, and enum
// values against a target BTF, the way libbpf does at load time.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "elf/btf.h"
#include "isa/isa.h"
#include "support/result.h"

namespace sockfilter::elf {

/// Applies `relos` (the CO-RE records of ELF section `section`) to that section's slots. `local`
/// is the object's BTF, `target` the kernel's (named `target_name` in messages). A relocation that
/// cannot be resolved, or an instruction that does not hold the value the object's BTF predicts,
/// refuses the object, naming the relocation.
[[nodiscard]] Result<void> apply_core_relocations(const std::string& section, std::span<isa::Insn> slots,
                                                  const std::vector<CoreReloRecord>& relos,
                                                  const struct btf* local, const struct btf* target,
                                                  const std::string& target_name);

}  // namespace sockfilter::elf
