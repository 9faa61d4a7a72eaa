// SPDX-License-Identifier: MIT
// Dumping a map through its syscall-side operations, and comparing two dumps.
#include "runtime/maps/dump.h"

#include <algorithm>

namespace sockfilter::runtime {

std::vector<MapEntry> read_entries(Map& m) {
    std::vector<MapEntry> out;
    std::vector<std::uint8_t> key(m.key_size()), next(m.key_size()), value(m.user_value_size());
    const std::uint8_t* prev = nullptr;
    // A map holds at most max_entries keys; the bound stops a walk that would not end.
    for (std::size_t guard = 0; guard <= m.max_entries(); ++guard) {
        if (m.get_next_key(prev, next.data()) != 0) {
            break;
        }
        key = next;
        prev = key.data();
        if (m.lookup_user(key.data(), value.data()) == 0) {
            out.push_back({key, value});
        }
    }
    return out;
}

std::vector<MapEntry> drain_values(Map& m) {
    std::vector<MapEntry> out;
    std::vector<std::uint8_t> value(m.value_size());
    while (m.pop(value.data()) == 0) {
        out.push_back({{}, value});
    }
    return out;
}

std::optional<EntryMismatch> compare_entries(std::vector<MapEntry> first, std::vector<MapEntry> second, bool ordered) {
    if (ordered) {
        const std::size_t n = std::max(first.size(), second.size());
        for (std::size_t i = 0; i < n; ++i) {
            const bool in_first = i < first.size();
            const bool in_second = i < second.size();
            if (in_first && in_second && first[i].value == second[i].value) {
                continue;
            }
            EntryMismatch m;
            m.position = i;
            if (in_first) {
                m.first = first[i].value;
            }
            if (in_second) {
                m.second = second[i].value;
            }
            return m;
        }
        return std::nullopt;
    }
    std::sort(first.begin(), first.end());
    std::sort(second.begin(), second.end());
    auto a = first.begin();
    auto b = second.begin();
    while (a != first.end() || b != second.end()) {
        EntryMismatch m;
        if (b == second.end() || (a != first.end() && a->key < b->key)) {
            m.key = a->key;
            m.first = a->value;
        } else if (a == first.end() || b->key < a->key) {
            m.key = b->key;
            m.second = b->value;
        } else if (a->value != b->value) {
            m.key = a->key;
            m.first = a->value;
            m.second = b->value;
        } else {
            ++a;
            ++b;
            continue;
        }
        return m;
    }
    return std::nullopt;
}

}  // namespace sockfilter::runtime
