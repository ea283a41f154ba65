#!/usr/bin/env bash
# Make sure the virtual environment holding the real Label Studio that the labelstudio
# tests drive exists and works; build it when absent (about 1 GB and 5 minutes).
#
# Where: $LDB_LABEL_STUDIO_VENV, else ~/.cache/ldb-clone/label-studio-<version>.
# Label Studio pins Django and many other packages, so it never goes into the
# project's own environment. Prints the environment's path on its last line.
set -euo pipefail

VERSION=1.23.2
VENV="${LDB_LABEL_STUDIO_VENV:-$HOME/.cache/ldb-clone/label-studio-$VERSION}"
PYTHON="${PYTHON:-python3}"

works() {
    [ -x "$VENV/bin/label-studio" ] &&
        "$VENV/bin/python" -c "
import sys
from importlib.metadata import version
sys.exit(version('label-studio') != '$VERSION')" 2>/dev/null
}

mkdir -p "$(dirname "$VENV")"
# one build at a time on this machine; a second caller waits and then reuses it
exec 9>"$VENV.lock"
flock 9

if works; then
    echo "$VENV"
    exit 0
fi
if [ -e "$VENV" ] && [ ! -e "$VENV/.ldb-building" ] && [ -n "$(ls -A "$VENV")" ]; then
    # not one this script started: never delete someone else's folder
    echo "error: $VENV exists but holds no working label-studio==$VERSION; remove it or set LDB_LABEL_STUDIO_VENV" >&2
    exit 1
fi

echo "Building Label Studio $VERSION in $VENV (about 1 GB, 5 minutes)..." >&2
rm -rf "$VENV"
mkdir -p "$VENV"
touch "$VENV/.ldb-building" # an interrupted build is removed and redone by the next run
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "label-studio==$VERSION"
works || {
    echo "error: label-studio==$VERSION installed into $VENV but does not run" >&2
    exit 1
}
rm -f "$VENV/.ldb-building"
echo "$VENV"
