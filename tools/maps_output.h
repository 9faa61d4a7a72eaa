// SPDX-License-Identifier: MIT
// Printing an instance's maps after a run (`sockfilter run --maps`).
#pragma once

#include "runtime/instance.h"

namespace sockfilter::tools {

/// Prints every map: name, type, and each key with its value in hex (per-CPU maps: one value per
/// CPU; prog arrays: the program name). Ring buffers and perf event arrays print what was left
/// unread. JSON prints one object per map.
void print_maps(runtime::Instance& instance, bool json);

}  // namespace sockfilter::tools
