#!/usr/bin/env bash
# Set up everything autograd_lite needs, once: a virtual environment in .venv
# with the package and its development extras, and Graphviz's `dot` program
# (from the system's package manager) when it is missing. Safe to re-run: it
# reinstalls only when pyproject.toml has changed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.installed"

find_python() {
    for candidate in python3.13 python3.12 python3.11 python3.10 python3.9 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "autograd_lite needs Python 3.9 or newer with the venv module (Debian: apt-get install python3-venv)" >&2
    return 1
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"
    else return 1
    fi
}

install_system_packages() {
    # $@: Debian package names. Returns non-zero if they could not be installed.
    if command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        as_root apt-get install -y -qq "$@" >/dev/null 2>&1 ||
            { as_root apt-get update -qq >/dev/null 2>&1 && as_root apt-get install -y -qq "$@" >/dev/null; }
    elif command -v brew >/dev/null 2>&1; then
        brew install graphviz
    else
        return 1
    fi
}

if ! command -v dot >/dev/null 2>&1; then
    echo "bootstrap: installing Graphviz (the 'dot' program) for graph pictures..."
    install_system_packages graphviz ||
        echo "bootstrap: could not install Graphviz; pictures will be unavailable until you install it" \
            "(Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz)." >&2
fi

# Debian's Chromium runs the browser test of the HTML backprop walkthrough
# (driven by the playwright package; its own browser download is not used).
if [ ! -x /usr/bin/chromium ]; then
    if command -v apt-get >/dev/null 2>&1 && install_system_packages chromium; then
        echo "bootstrap: installed Chromium (/usr/bin/chromium) for the browser test."
    else
        echo "bootstrap: could not install Chromium at /usr/bin/chromium; the browser test will be skipped" \
            "(Debian/Ubuntu: sudo apt-get install chromium)." >&2
    fi
fi

if [ ! -x "$VENV/bin/python" ]; then
    PYTHON=$(find_python)
    echo "bootstrap: creating $VENV with $PYTHON..."
    "$PYTHON" -m venv "$VENV"
fi

if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    echo "bootstrap: installing autograd_lite and its development tools into $VENV..."
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e ".[dev]"
    touch "$STAMP"
fi
