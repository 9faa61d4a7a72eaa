// SPDX-License-Identifier: MIT
// The socket-filter cases of the kernel's test_verifier (../shared/conformance/kernel/
// test_verifier_socket_filter.json, spec §9.2) and the runner's rules both replays share: which
// result, error text and return value a pass expects, the fix-up maps, the ordered-substring match
// of `errstr`, test names and the strict expected-failure list.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "isa/isa.h"
#include "program/object.h"
#include "support/result.h"

namespace sockfilter::testing::test_verifier {

/// `result` / `result_unpriv` of struct bpf_test.
enum class Expect : std::uint8_t { Undef, Accept, Reject, VerboseAccept };

/// POINTER_VALUE: an expected return value that is not compared.
inline constexpr std::uint32_t kPointerValue = 0xcafe4a;

/// The fix-up maps the socket-filter cases use, in the order do_test_fixup creates them.
enum class FixupMap : std::uint8_t { Hash8b, Hash48b, Array48b, ArraySmall, EventOutput };

/// The JSON key of a fix-up list ("fixup_map_hash_8b").
[[nodiscard]] std::string_view fixup_key(FixupMap map);

/// The map do_test_fixup creates for `map`: its type, sizes and flags (hash maps get
/// BPF_F_NO_PREALLOC) and, for arrays, element 0 as update_map() writes it (struct test_val
/// {.index = 28, .foo[6] = 0xabcdef12}, cut to the value size). Named after the JSON key.
[[nodiscard]] program::MapSpec fixup_spec(FixupMap map);

/// One fix-up: the map and the instructions (first slots of `lddw` map references) whose `imm`
/// receives it.
struct Fixup {
    FixupMap map = FixupMap::Hash8b;
    std::vector<std::uint32_t> insns;
};

/// One `retvals` entry: the expected return values and the 64 bytes BPF_PROG_TEST_RUN is given.
struct Run {
    std::uint32_t retval = 0;
    std::uint32_t retval_unpriv = 0;  ///< 0: same as retval
    std::vector<std::uint8_t> data;
};

/// One case of the JSON file.
struct Case {
    std::uint32_t idx = 0;
    std::string descr;
    Expect result = Expect::Undef;
    Expect result_unpriv = Expect::Undef;
    std::optional<std::string> errstr;
    std::optional<std::string> errstr_unpriv;
    std::uint32_t flags = 0;  ///< F_NEEDS_EFFICIENT_UNALIGNED_ACCESS 1, F_LOAD_WITH_STRICT_ALIGNMENT 2
    std::int32_t runs = 0;    ///< 0: one run of retvals[0]; N: retvals[0..N); -1: never run
    std::uint32_t insn_processed = 0;
    bool as_unpriv = false;   ///< test_as_unpriv(): the case also runs unprivileged
    std::vector<Run> retvals;
    std::vector<Fixup> fixups;  ///< non-empty lists only, in FixupMap order
    std::vector<isa::Insn> insns;

    /// The result a pass expects: result_unpriv where it is set, for the unprivileged pass.
    [[nodiscard]] Expect expected(bool unpriv) const;
    /// The log text a rejection must contain: errstr_unpriv where it is set, for the unprivileged pass.
    [[nodiscard]] const std::optional<std::string>& expected_errstr(bool unpriv) const;
    /// The runs the runner makes after a successful load (runs == 0 means one).
    [[nodiscard]] std::size_t run_count() const;
    /// The return value run `i` expects: retval_unpriv where it is non-zero, for the unprivileged pass.
    [[nodiscard]] std::uint32_t expected_retval(std::size_t i, bool unpriv) const;
};

/// Reads the JSON file. Cases this replay cannot set up (another program type, fill helpers,
/// BTF, kfunc BTF ids, a fix-up map other than FixupMap's) are an error naming the case, so a
/// changed file is noticed rather than silently skipped.
[[nodiscard]] Result<std::vector<Case>> read_cases(const std::string& path);

/// The runner's cmp_str_seq: every tab-separated part of `errstr` occurs in `log`, in order (an
/// empty errstr matches).
[[nodiscard]] bool errstr_matches(std::string_view log, std::string_view errstr);

/// The case as test_verifier prints it, "#<idx>/p <descr>" or "#<idx>/u <descr>": its name in
/// tests/EXPECTED_FAIL (after "test_verifier/").
[[nodiscard]] std::string pass_name(const Case& c, bool unpriv);

/// A GoogleTest name for the case: "c<idx>_" and the descr with every run of characters outside
/// [A-Za-z0-9] turned into one '_'.
[[nodiscard]] std::string test_name(const Case& c);

}  // namespace sockfilter::testing::test_verifier
