// SPDX-License-Identifier: MIT
// Map keys and values printed through an object's BTF, as `bpftool map dump` prints them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace sockfilter::tools {

/// Formats data of a BTF type with libbpf's btf_dump (compact C initializer syntax).
class BtfFormatter {
public:
    /// A formatter over raw `.BTF` bytes; null when there are none or libbpf cannot parse them.
    [[nodiscard]] static std::unique_ptr<BtfFormatter> create(std::span<const std::uint8_t> btf);
    ~BtfFormatter();
    BtfFormatter(const BtfFormatter&) = delete;
    BtfFormatter& operator=(const BtfFormatter&) = delete;

    /// `data` as a value of type `type_id`, e.g. `(struct flow){.proto = (__u16)2048,.len = (__u32)60,}`;
    /// nullopt when the type is 0, unknown, or its size differs from `data` (the caller prints hex).
    [[nodiscard]] std::optional<std::string> format(std::uint32_t type_id, std::span<const std::uint8_t> data) const;

private:
    BtfFormatter() = default;
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace sockfilter::tools
