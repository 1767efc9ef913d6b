#!/usr/bin/env bash
# `make demo` and `make test` come here: find a Python (the newest python3.N on
# PATH that the package supports, with the venv module) and hand over to
# scripts/dev.py, which does the work (and is the way in without make or bash:
# `python scripts/dev.py demo` / `python scripts/dev.py test`).
set -euo pipefail
cd "$(dirname "$0")/.."

oldest=$(sed -n 's/^requires-python *= *">= *3\.\([0-9]*\)".*/\1/p' pyproject.toml)
[ -n "$oldest" ] || { echo 'bootstrap: pyproject.toml has no requires-python = ">=3.N"' >&2; exit 1; }
for minor in $(seq 30 -1 "$oldest") ""; do
    candidate=python3${minor:+.$minor}
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c "import sys, venv; sys.exit(sys.version_info < (3, $oldest))" 2>/dev/null; then
        exec "$candidate" scripts/dev.py "$@"
    fi
done
echo "autograd_lite needs Python 3.$oldest or newer with the venv module (Debian: apt-get install python3-venv)" >&2
exit 1
