// SPDX-License-Identifier: MIT
// Functions, relocations and linking of code sections (the facts follow libbpf's loader: calls are
// pc-relative in units of slots, relocated calls target symbol value / 8 + imm + 1, lddw-func and
// data references add the symbol value to the instruction's own immediate).
#include "elf/programs.h"

#include <elf.h>

#include <algorithm>
#include <map>

namespace sockfilter::elf {

namespace {

constexpr std::uint8_t kOpCall = 0x85;
constexpr std::uint8_t kOpLddw = 0x18;
constexpr std::uint8_t kPseudoCall = 1;       // BPF_PSEUDO_CALL: bpf-to-bpf call
constexpr std::uint8_t kPseudoKfuncCall = 2;  // BPF_PSEUDO_KFUNC_CALL

std::optional<std::size_t> function_at(const CodeSection& cs, std::size_t slot) {
    for (std::size_t i = 0; i < cs.functions.size(); ++i) {
        if (slot >= cs.functions[i].start && slot < cs.functions[i].end) {
            return i;
        }
    }
    return std::nullopt;
}

Result<std::vector<Function>> read_functions(const ElfFile& file, const Section& sec) {
    std::vector<Function> funcs;
    for (const Symbol& s : file.symbols()) {
        if (s.shndx != sec.index || s.type != STT_FUNC) {
            continue;
        }
        if (s.value % 8 != 0 || s.size % 8 != 0 || s.size == 0 || s.value > sec.size || s.size > sec.size - s.value) {
            return fail(Errc::Format, ElfPos{sec.name, s.value},
                        "function '{}' ({} bytes at {:#x}) is not a whole number of instructions inside the section "
                        "({} bytes)", s.name, s.size, s.value, sec.size);
        }
        funcs.push_back(Function{s.name, s.value / 8, (s.value + s.size) / 8, s.bind != STB_LOCAL});
    }
    std::sort(funcs.begin(), funcs.end(), [](const Function& a, const Function& b) { return a.start < b.start; });
    for (std::size_t i = 1; i < funcs.size(); ++i) {
        if (funcs[i].start < funcs[i - 1].end) {
            return fail(Errc::Format, ElfPos{sec.name, funcs[i].start * 8}, "functions '{}' and '{}' overlap",
                        funcs[i - 1].name, funcs[i].name);
        }
    }
    return funcs;
}

struct Relocator {
    const ElfFile& file;
    const MapTable& maps;
    CodeSections& code;
    std::map<std::size_t, std::size_t> code_index;  // ELF section index -> CodeSections index

    std::uint32_t kfunc(const std::string& name) {
        for (std::size_t i = 0; i < code.kfuncs.size(); ++i) {
            if (code.kfuncs[i].name == name) {
                return static_cast<std::uint32_t>(i);
            }
        }
        code.kfuncs.push_back(program::KfuncRef{name});
        return static_cast<std::uint32_t>(code.kfuncs.size() - 1);
    }

    Result<void> apply(CodeSection& cs, const Reloc& r) {
        const Section& sec = *cs.elf;
        const ElfPos pos{file.relocation_section_name(sec.index), r.entry_offset};
        if (r.offset % 8 != 0 || r.offset / 8 >= cs.slots.size()) {
            return fail(Errc::Format, pos, "relocation offset {:#x} is not an instruction of section {} ({} bytes)",
                        r.offset, sec.name, sec.size);
        }
        if (r.sym == 0 || r.sym >= file.symbols().size()) {
            return fail(Errc::Format, pos, "relocation at {}+{:#x} against missing symbol #{} (the symbol table has {} "
                        "entries)",
                        sec.name, r.offset, r.sym, file.symbols().size());
        }
        const Symbol& sym = file.symbols()[r.sym];
        const std::size_t pc = r.offset / 8;
        isa::Insn& in = cs.slots[pc];
        const char* want = in.opcode == kOpCall ? "R_BPF_64_32" : "R_BPF_64_64";
        if ((in.opcode == kOpCall && r.type != kRel64_32) || (in.opcode == kOpLddw && r.type != kRel64_64)) {
            return fail(Errc::Format, pos, "bad relocation type {} at {}+{:#x} (expected {} for this instruction)",
                        r.type, sec.name, r.offset, want);
        }
        const bool undefined = sym.shndx == SHN_UNDEF;
        if (in.opcode == kOpCall) {
            if (in.src != kPseudoCall) {
                return fail(Errc::Format, pos, "relocation on a call with src {} at {}+{:#x} (expected a bpf-to-bpf "
                            "call, src 1)", in.src, sec.name, r.offset);
            }
            if (undefined) {
                if (sym.name.empty() || sym.bind == STB_LOCAL) {
                    return fail(Errc::Format, pos, "call at {}+{:#x} against undefined symbol #{}", sec.name, r.offset,
                                r.sym);
                }
                in.src = kPseudoKfuncCall;
                in.off = 0;
                in.imm = static_cast<std::int32_t>(kfunc(sym.name));
                return {};
            }
            auto target_sec = code_index.find(sym.shndx);
            if (target_sec == code_index.end()) {
                return fail(Errc::Format, pos, "call at {}+{:#x} against '{}', which is not in a code section",
                            sec.name, r.offset, sym.name);
            }
            const std::int64_t target = static_cast<std::int64_t>(sym.value / 8) + in.imm + 1;
            return set_target(cs, pc, target_sec->second, target, pos);
        }
        if (in.opcode != kOpLddw) {
            return fail(Errc::Format, pos, "relocation at {}+{:#x} on opcode {:#04x}, which is neither lddw nor call",
                        sec.name, r.offset, in.opcode);
        }
        if (pc + 1 >= cs.slots.size()) {
            return fail(Errc::Format, pos, "lddw at {}+{:#x} has no second slot", sec.name, r.offset);
        }
        if (undefined) {
            return fail(Errc::NotSupported, pos, "lddw at {}+{:#x} references extern variable '{}' (__ksym/__kconfig "
                        "variables are not supported)", sec.name, r.offset, sym.name);
        }
        if (auto t = code_index.find(sym.shndx); t != code_index.end()) {
            const std::int64_t byte = static_cast<std::int64_t>(sym.value) + in.imm;
            if (byte % 8 != 0) {
                return fail(Errc::Format, pos, "function address {}+{} is not an instruction", sym.name, in.imm);
            }
            in.src = isa::kPseudoFunc;
            return set_target(cs, pc, t->second, byte / 8, pos);
        }
        if (maps.is_map_section(sym.shndx)) {
            const std::uint64_t off = sym.value + (sym.type == STT_SECTION ? static_cast<std::uint32_t>(in.imm) : 0U);
            auto idx = maps.by_symbol(sym.shndx, off);
            if (!idx) {
                return fail(Errc::Format, pos, "lddw at {}+{:#x} references '{}' (offset {:#x}), which is not a map "
                            "definition", sec.name, r.offset, sym.name, off);
            }
            in.src = isa::kPseudoMapIdx;
            in.imm = static_cast<std::int32_t>(*idx);
            cs.slots[pc + 1].imm = 0;
            return {};
        }
        if (auto idx = maps.by_data_section(sym.shndx)) {
            const std::int64_t off = static_cast<std::int64_t>(sym.value) + in.imm;
            const auto& m = maps.maps[*idx];
            if (off < 0 || off > static_cast<std::int64_t>(m.value_size)) {
                return fail(Errc::Format, pos, "lddw at {}+{:#x}: offset {} is outside {} ({} bytes)", sec.name,
                            r.offset, off, m.name, m.value_size);
            }
            in.src = isa::kPseudoMapIdxValue;
            in.imm = static_cast<std::int32_t>(*idx);
            cs.slots[pc + 1].imm = static_cast<std::int32_t>(off);
            return {};
        }
        const Section* where = file.at(sym.shndx);
        return fail(Errc::Format, pos, "lddw at {}+{:#x} references '{}' in section {}, which is neither a map nor "
                    "global data", sec.name, r.offset, sym.name, where != nullptr ? where->name : std::string("?"));
    }

    Result<void> set_target(CodeSection& cs, std::size_t pc, std::size_t target_sec, std::int64_t slot,
                            const ElfPos& pos) {
        const CodeSection& ts = code.sections[target_sec];
        if (slot < 0 || static_cast<std::size_t>(slot) >= ts.slots.size() ||
            !function_at(ts, static_cast<std::size_t>(slot))) {
            return fail(Errc::Format, pos, "call target {}+{:#x} is not inside a function", ts.elf->name, slot * 8);
        }
        cs.targets[pc] = CodeRef{target_sec, static_cast<std::size_t>(slot)};
        return {};
    }
};

}  // namespace

bool is_socket_section(std::string_view name) { return name == "socket" || name.starts_with("socket/"); }

Result<CodeSections> relocate_code(const ElfFile& file, const std::vector<std::size_t>& wanted, const MapTable& maps,
                                   const std::vector<std::vector<isa::Insn>>& patched_slots) {
    CodeSections code;
    Relocator rel{file, maps, code, {}};
    for (std::size_t k = 0; k < wanted.size(); ++k) {
        const Section& sec = *file.at(wanted[k]);
        auto funcs = read_functions(file, sec);
        if (!funcs) {
            return tl::unexpected(std::move(funcs.error()));
        }
        CodeSection cs;
        cs.elf = &sec;
        cs.slots = patched_slots[k];
        cs.functions = std::move(*funcs);
        cs.targets.resize(cs.slots.size());
        rel.code_index[sec.index] = code.sections.size();
        code.sections.push_back(std::move(cs));
    }
    for (CodeSection& cs : code.sections) {
        for (const Reloc& r : file.relocations_for(cs.elf->index)) {
            if (auto a = rel.apply(cs, r); !a) {
                return tl::unexpected(std::move(a.error()));
            }
        }
        // Calls and lddw-func without a relocation are relative to their own section.
        const std::size_t self = rel.code_index[cs.elf->index];
        for (std::size_t pc = 0; pc < cs.slots.size(); ++pc) {
            const isa::Insn& in = cs.slots[pc];
            const bool local_call = in.opcode == kOpCall && in.src == kPseudoCall;
            const bool func_addr = in.opcode == kOpLddw && in.src == isa::kPseudoFunc;
            if ((local_call || func_addr) && !cs.targets[pc]) {
                const std::int64_t target = static_cast<std::int64_t>(pc) + in.imm + 1;
                if (auto t = rel.set_target(cs, pc, self, target, ElfPos{cs.elf->name, pc * 8}); !t) {
                    return tl::unexpected(std::move(t.error()));
                }
            }
            if (in.opcode == kOpLddw) {
                ++pc;
            }
        }
    }
    return code;
}

namespace {

struct Linker {
    const CodeSections& code;
    const BtfExt& ext;
    const struct btf* btf;
    std::vector<isa::Insn> out;
    std::vector<program::LineInfo> lines;
    std::vector<program::FuncInfo> funcs;
    std::map<std::pair<std::size_t, std::size_t>, std::size_t> placed;  // (section, function) -> first slot

    void add_lines(const CodeSection& cs, const Function& f, std::size_t at) {
        auto it = ext.lines.find(cs.elf->name);
        if (it == ext.lines.end() || btf == nullptr) {
            return;
        }
        for (const LineInfoRecord& r : it->second) {
            const std::size_t slot = r.insn_off / 8;
            if (r.insn_off % 8 != 0 || slot < f.start || slot >= f.end) {
                continue;
            }
            const char* file = btf_string(btf, r.file_name_off);
            const char* text = btf_string(btf, r.line_off);
            lines.push_back(program::LineInfo{static_cast<std::uint32_t>(at + slot - f.start), file ? file : "",
                                              r.line_col >> 10, r.line_col & 0x3ff, text ? text : "",
                                              r.file_name_off, r.line_off, r.line_col});
        }
    }

    void add_funcs(const CodeSection& cs, const Function& f, std::size_t at) {
        auto it = ext.funcs.find(cs.elf->name);
        if (it == ext.funcs.end()) {
            return;
        }
        for (const FuncInfoRecord& r : it->second) {
            if (r.insn_off == f.start * 8) {
                funcs.push_back(program::FuncInfo{static_cast<std::uint32_t>(at), r.type_id});
            }
        }
    }

    void append(std::size_t s, std::size_t f) {
        const CodeSection& cs = code.sections[s];
        const Function& fn = cs.functions[f];
        const std::size_t at = out.size();
        placed[{s, f}] = at;
        out.insert(out.end(), cs.slots.begin() + static_cast<std::ptrdiff_t>(fn.start),
                   cs.slots.begin() + static_cast<std::ptrdiff_t>(fn.end));
        add_lines(cs, fn, at);
        add_funcs(cs, fn, at);
        for (std::size_t slot = fn.start; slot < fn.end; ++slot) {
            const auto& t = cs.targets[slot];
            if (!t) {
                continue;
            }
            const CodeSection& ts = code.sections[t->section];
            const std::size_t tf = *function_at(ts, t->slot);
            if (!placed.contains({t->section, tf})) {
                append(t->section, tf);
            }
            const std::int64_t dest = static_cast<std::int64_t>(placed[{t->section, tf}] + (t->slot - ts.functions[tf].start));
            const std::int64_t here = static_cast<std::int64_t>(at + (slot - fn.start));
            out[at + (slot - fn.start)].imm = static_cast<std::int32_t>(dest - here - 1);
        }
    }
};

}  // namespace

Result<program::ObjectProgram> link_program(const CodeSections& code, std::size_t section, std::size_t func,
                                            const BtfExt& ext, const struct btf* btf) {
    Linker l{code, ext, btf, {}, {}, {}, {}};
    l.append(section, func);
    const CodeSection& cs = code.sections[section];
    const std::string& name = cs.functions[func].name;
    auto p = program::Program::from_slots(name, std::move(l.out));
    if (!p) {
        return tl::unexpected(
            std::move(p.error()).with_context(fmt::format("section \"{}\": program \"{}\"", cs.elf->name, name)));
    }
    return program::ObjectProgram{std::move(*p), cs.elf->name, std::move(l.lines), std::move(l.funcs)};
}

}  // namespace sockfilter::elf
