#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bpf_conformance plugin: `bpf_conformance_runner --plugin_path scripts/conformance-plugin.sh ...`
# runs the suite's own runner against sockfilter's interpreter, unchanged.
exec "${SOCKFILTER:-$(dirname "$0")/../build/tools/sockfilter}" exec "$@"
