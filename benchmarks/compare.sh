#!/bin/sh
# Usage: benchmarks/compare.sh DATA_DIR [RUNS=3]
# Env: LDB_NEW (default: ldb), LDB_UPSTREAM (default: /opt/upstream-ldb/bin/ldb),
#      LAYOUT, FORMAT (as for bench_index.sh).
exec python3 "$(dirname "$0")/compare.py" "$@"
