// SPDX-License-Identifier: MIT
// Creating an instance's maps from an object's specs, and the deterministic sources helpers read.
#include "runtime/instance.h"

#include <algorithm>
#include <array>

#include "runtime/maps/fd_maps.h"
#include "support/assert.h"
#include "support/bytes.h"

namespace sockfilter::runtime {

namespace {

/// splitmix64: a small, well-mixed generator; reproducible for a given --seed.
std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

}  // namespace

Result<std::unique_ptr<Instance>> Instance::create(std::span<const program::MapSpec> maps,
                                                   std::span<const std::string> programs,
                                                   const InstanceOptions& options) {
    std::unique_ptr<Instance> inst(new Instance());
    inst->options_ = options;
    inst->rng_ = options.seed;
    inst->programs_.assign(programs.begin(), programs.end());
    MapOptions mo;
    mo.cpus = options.cpus;
    mo.seed = options.seed;
    for (const program::MapSpec& spec : maps) {
        auto m = create_map(spec, mo);
        if (!m) {
            return tl::unexpected(std::move(m.error()).with_context(fmt::format("map \"{}\"", spec.name)));
        }
        inst->maps_.push_back(std::move(*m));
        inst->names_.push_back(spec.name);
    }
    for (std::size_t i = 0; i < maps.size(); ++i) {
        const program::MapSpec& spec = maps[i];
        Map& m = *inst->maps_[i];
        for (const auto& [slot, target] : spec.initial_slots) {
            std::array<std::uint8_t, 4> key{};
            store_le<std::uint32_t>(key.data(), slot);
            if (spec.type == program::MapType::ProgArray) {
                auto it = std::find(programs.begin(), programs.end(), target);
                if (it == programs.end()) {
                    return fail(Errc::InvalidProgram, "map \"{}\": slot {} names program \"{}\", which the object lacks",
                                spec.name, slot, target);
                }
                std::array<std::uint8_t, 4> value{};
                store_le<std::uint32_t>(value.data(), static_cast<std::uint32_t>(it - programs.begin()));
                if (const std::int64_t rc = m.update_user(key.data(), value.data(), kBpfAny); rc < 0) {
                    return fail(Errc::InvalidProgram, "map \"{}\": cannot fill slot {} (error {})", spec.name, slot, rc);
                }
                continue;
            }
            const std::int64_t inner = inst->find_map(target);
            auto* outer = map_as<MapOfMaps>(m);
            if (inner < 0 || outer == nullptr) {
                return fail(Errc::InvalidProgram, "map \"{}\": slot {} names map \"{}\", which the object lacks",
                            spec.name, slot, target);
            }
            if (const std::int64_t rc = outer->update_map(key.data(), inst->maps_[static_cast<std::size_t>(inner)].get(),
                                                          kBpfAny);
                rc < 0) {
                return fail(Errc::InvalidProgram, "map \"{}\": cannot put map \"{}\" in slot {} (error {})", spec.name,
                            target, slot, rc);
            }
        }
    }
    return inst;
}

std::int64_t Instance::find_map(std::string_view name) const {
    for (std::size_t i = 0; i < names_.size(); ++i) {
        if (names_[i] == name) {
            return static_cast<std::int64_t>(i);
        }
    }
    return -1;
}

std::uint64_t Instance::map_handle(std::size_t i) const { return reinterpret_cast<std::uintptr_t>(maps_[i].get()); }

std::int64_t Instance::map_index(std::uint64_t handle) const {
    for (std::size_t i = 0; i < maps_.size(); ++i) {
        if (map_handle(i) == handle) {
            return static_cast<std::int64_t>(i);
        }
    }
    return -1;
}

std::int64_t Instance::index_of(const Map* m) const {
    for (std::size_t i = 0; i < maps_.size(); ++i) {
        if (maps_[i].get() == m) {
            return static_cast<std::int64_t>(i);
        }
    }
    return -1;
}

Map* Instance::map_from_handle(std::uint64_t handle) const {
    const std::int64_t i = map_index(handle);
    return i < 0 ? nullptr : maps_[static_cast<std::size_t>(i)].get();
}

std::vector<MemRegion> Instance::regions() const {
    std::vector<MemRegion> out;
    for (const auto& m : maps_) {
        const auto arena = m->arena();
        if (!arena.empty()) {
            out.push_back(MemRegion{reinterpret_cast<std::uintptr_t>(arena.data()), arena.size(), m->program_writable()});
        }
    }
    out.push_back(MemRegion{reinterpret_cast<std::uintptr_t>(key_scratch_.data()), key_scratch_.size(), false});
    std::sort(out.begin(), out.end(), [](const MemRegion& a, const MemRegion& b) { return a.lo < b.lo; });
    return out;
}

std::uint8_t* Instance::key_scratch(std::size_t level) {
    SF_ASSERT(level < kKeyScratchSlots);
    return key_scratch_.data() + level * kKeyScratchSlot;
}

std::vector<DueTimer> Instance::due_timers(std::uint64_t now) const {
    std::vector<DueTimer> out;
    for (const auto& [addr, t] : timers_) {
        if (t.armed && t.expires <= now) {
            out.push_back(DueTimer{addr, t.expires, t.seq});
        }
    }
    std::sort(out.begin(), out.end(), [](const DueTimer& a, const DueTimer& b) {
        return a.expires != b.expires ? a.expires < b.expires : a.seq < b.seq;
    });
    return out;
}

std::optional<TimerCall> Instance::start_timer_callback(const DueTimer& due) {
    auto it = timers_.find(due.timer);
    if (it == timers_.end() || !it->second.armed || it->second.seq != due.seq || it->second.expires != due.expires) {
        return std::nullopt;
    }
    Timer& t = it->second;
    t.armed = false;
    running_timer_ = due.timer;
    SF_ASSERT(key_scratch_level_ < kKeyScratchSlots);
    std::uint8_t* key = key_scratch(key_scratch_level_++);
    std::copy(t.key.begin(), t.key.end(), key);
    return TimerCall{t.program, t.callback, map_handle(t.map), reinterpret_cast<std::uintptr_t>(key), t.value};
}

void Instance::finish_timer_callback() {
    SF_ASSERT(key_scratch_level_ > 0);
    --key_scratch_level_;
    running_timer_ = 0;
}

std::uint32_t Instance::prandom_u32() { return static_cast<std::uint32_t>(splitmix64(rng_) >> 32); }

void Instance::set_cpu(std::uint32_t cpu) {
    SF_ASSERT(cpu < options_.cpus);
    cpu_ = cpu;
    for (auto& m : maps_) {
        m->set_current_cpu(cpu);
    }
}

void Instance::emit(Output output) {
    output.packet = packet_;
    outputs_.push_back(std::move(output));
}

std::vector<Output> Instance::take_outputs() {
    std::vector<Output> out;
    out.swap(outputs_);
    return out;
}

}  // namespace sockfilter::runtime
