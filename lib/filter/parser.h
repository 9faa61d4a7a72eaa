// SPDX-License-Identifier: MIT
// The pcap-filter parser: libpcap's grammar (grammar.y) by recursive descent. `and` and `or` have
// equal precedence and associate to the left, `not` binds tighter, and a bare value after `and`/`or`
// carries over the qualifiers of the primitive before it (`host a or b` = `host a or host b`).
#pragma once

#include <string_view>

#include "filter/ast.h"
#include "support/result.h"

namespace sockfilter::filter {

/// Parses an expression. Errors are Errc::Parse at `expression:1:<column>` saying what was
/// expected, or Errc::NotSupported naming a refused family (DECnet, AppleTalk, IPX, OSI, LAT, MOP,
/// SCA, NetBEUI, gateway, pflog, SunATM, SS7, ARCnet, 802.11).
[[nodiscard]] Result<Expr> parse(std::string_view text);

}  // namespace sockfilter::filter
