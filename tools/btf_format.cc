// SPDX-License-Identifier: MIT
// BtfFormatter over libbpf's btf__new and btf_dump__dump_type_data.
#include "tools/btf_format.h"

#include <cstdarg>
#include <cstdio>

#include <bpf/btf.h>

namespace sockfilter::tools {

struct BtfFormatter::State {
    btf* types = nullptr;
    btf_dump* dump = nullptr;
    std::string out;  // what the current format() call printed

    ~State() {
        btf_dump__free(dump);
        btf__free(types);
    }
};

namespace {

void append(void* ctx, const char* fmt, va_list args) {
    auto* out = static_cast<std::string*>(ctx);
    va_list copy;
    va_copy(copy, args);
    const int n = std::vsnprintf(nullptr, 0, fmt, copy);
    va_end(copy);
    if (n <= 0) {
        return;
    }
    const std::size_t at = out->size();
    out->resize(at + static_cast<std::size_t>(n) + 1);
    std::vsnprintf(out->data() + at, static_cast<std::size_t>(n) + 1, fmt, args);
    out->resize(at + static_cast<std::size_t>(n));
}

}  // namespace

std::unique_ptr<BtfFormatter> BtfFormatter::create(std::span<const std::uint8_t> bytes) {
    if (bytes.empty()) {
        return nullptr;
    }
    std::unique_ptr<BtfFormatter> f(new BtfFormatter());
    f->state_ = std::make_unique<State>();
    f->state_->types = btf__new(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
    if (f->state_->types == nullptr) {
        return nullptr;
    }
    f->state_->dump = btf_dump__new(f->state_->types, &append, &f->state_->out, nullptr);
    if (f->state_->dump == nullptr) {
        return nullptr;
    }
    return f;
}

BtfFormatter::~BtfFormatter() = default;

std::optional<std::string> BtfFormatter::format(std::uint32_t type_id, std::span<const std::uint8_t> data) const {
    if (type_id == 0) {
        return std::nullopt;
    }
    const long long size = btf__resolve_size(state_->types, type_id);
    if (size <= 0 || static_cast<std::size_t>(size) != data.size()) {
        return std::nullopt;
    }
    btf_dump_type_data_opts opts{};
    opts.sz = sizeof(opts);
    opts.compact = true;
    opts.emit_zeroes = true;
    state_->out.clear();
    if (btf_dump__dump_type_data(state_->dump, type_id, data.data(), data.size(), &opts) < 0) {
        return std::nullopt;
    }
    return state_->out;
}

}  // namespace sockfilter::tools
