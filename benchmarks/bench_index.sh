#!/bin/sh
# Usage: benchmarks/bench_index.sh LDB_EXECUTABLE DATA_DIR [RUNS=3]
# Env: LAYOUT (strict|bare|infer|label-studio, default strict), FORMAT (ldb index -m value).
exec python3 "$(dirname "$0")/bench_index.py" "$@"
