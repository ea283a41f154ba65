#!/usr/bin/env bash
# Make sure the virtual environment holding the real Datumaro that the `datumaro` tests
# call exists and works; build it when absent (a few hundred MB, a few minutes).
#
# Where: $LDB_DATUMARO_VENV, else ~/.cache/ldb-clone/datumaro-<version>.
# Datumaro pins numpy, pandas and more, so it never goes into the project's own
# environment; the tests run tests/interop/datumaro_probe.py with its python.
# Prints the environment's path on its last line.
set -euo pipefail

VERSION=1.13.12
VENV="${LDB_DATUMARO_VENV:-$HOME/.cache/ldb-clone/datumaro-$VERSION}"
PYTHON="${PYTHON:-python3}"

usable() {
    [ -x "$VENV/bin/python" ] && [ ! -e "$VENV/.ldb-building" ] &&
        "$VENV/bin/python" -c "
import sys
from importlib.metadata import version
import datumaro  # noqa: F401
sys.exit(version('datumaro') != '$VERSION')" 2>/dev/null
}

mkdir -p "$(dirname "$VENV")"
# one build at a time; a second caller waits for the first and reuses its result
exec 9>"$VENV.lock"
flock 9

if usable; then
    echo "$VENV"
    exit 0
fi
if [ -e "$VENV" ] && [ ! -e "$VENV/.ldb-building" ] && [ -n "$(ls -A "$VENV")" ]; then
    # a folder this script did not start: leave it alone
    echo "error: $VENV exists but holds no working datumaro==$VERSION; remove it or set LDB_DATUMARO_VENV" >&2
    exit 1
fi

echo "Building Datumaro $VERSION in $VENV ..." >&2
rm -rf "$VENV"
mkdir -p "$VENV"
touch "$VENV/.ldb-building" # an interrupted build is redone by the next run
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "datumaro==$VERSION"
rm -f "$VENV/.ldb-building"
usable || {
    echo "error: datumaro==$VERSION installed into $VENV but does not import" >&2
    exit 1
}
echo "$VENV"
