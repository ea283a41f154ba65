#!/usr/bin/env bash
# Stop a server that start_postgres.sh DIR started and delete DIR (the cluster is throwaway).
set -euo pipefail

DIR="${1:?usage: stop_postgres.sh DIR}"
if [ -f "$DIR/bindir" ] && [ -d "$DIR/data" ]; then
    BINDIR="$(cat "$DIR/bindir")"
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$BINDIR/pg_ctl" -D "$DIR/data" -m fast -w stop >&2 || true
    else
        "$BINDIR/pg_ctl" -D "$DIR/data" -m fast -w stop >&2 || true
    fi
fi
rm -rf "$DIR"
