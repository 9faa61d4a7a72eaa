// SPDX-License-Identifier: MIT
// Every helper id the 6.18 kernel knows (0..211): its name and which privilege a socket filter
// needs to call it, as measured on the running kernel (spec §5.1, empirical/hp_*.tsv).
#pragma once

#include <cstdint>
#include <string_view>

namespace sockfilter::runtime {

/// __BPF_FUNC_MAX_ID of 6.18: helper ids at or past it do not exist at all.
inline constexpr std::int32_t kHelperIdCount = 212;

/// Who loads the program: root (CAP_SYS_ADMIN, which implies CAP_BPF and CAP_PERFMON), a process
/// with only CAP_BPF, or an unprivileged one (kernel.unprivileged_bpf_disabled = 0).
enum class Privilege : std::uint8_t { Root, Bpf, None };

/// The least privilege that lets a socket filter call a helper (bpf_base_func_proto's three tiers
/// plus sk_filter_func_proto's own helpers); Refused: the kernel refuses it at every privilege.
enum class HelperTier : std::uint8_t {
    Refused,       ///< `program of this type cannot use helper bpf_<name>#N` for everyone
    Perfmon,       ///< root (CAP_BPF and CAP_PERFMON) only
    Bpf,           ///< CAP_BPF
    Unprivileged,  ///< everyone
};

/// The kernel's name of helper `id` (`bpf_map_lookup_elem`, `bpf_unspec` for 0), or `unknown` for
/// ids outside 0..211, as the verifier prints them.
[[nodiscard]] std::string_view helper_name(std::int32_t id);

/// The tier of helper `id`; Refused for ids outside 0..211.
[[nodiscard]] HelperTier helper_tier(std::int32_t id);

/// Whether a socket filter loaded with `privilege` may call helper `id` (the kernel resolves it;
/// argument checks are the verifier's business).
[[nodiscard]] bool helper_allowed(std::int32_t id, Privilege privilege);

}  // namespace sockfilter::runtime
