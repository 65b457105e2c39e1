#!/usr/bin/env bash
# Creates, once, the Python virtualenv with Lino that the tests use as the
# reference (see README.md), and prints its path as the last line of stdout.
#
#   setup-env.sh [REQUIREMENTS]   another requirements file of this directory
#                                 (requirements-django.txt: Django alone)
#
#   DUMP2PY_PYENV   where the venv goes
#                   (default: ~/.cache/dump2py/pyenv-<12 hex of sha256 of requirements.txt>)
#   DUMP2PY_PYTHON  the Python that makes it (default: python3)
#
# Safe to run again and from several processes at once: a venv counts as
# complete only when its marker file holds the same requirements.txt; it is
# built in a temporary directory and renamed into place when complete.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
req="$here/${1:-requirements.txt}"
hash="$(sha256sum "$req" | cut -c1-12)"
venv="${DUMP2PY_PYENV:-$HOME/.cache/dump2py/pyenv-$hash}"
venv="$(realpath -m "$venv")"
python="${DUMP2PY_PYTHON:-python3}"
marker=.dump2py-complete  # inside the venv: a copy of requirements.txt

complete() { [ -f "$venv/$marker" ] && cmp -s "$req" "$venv/$marker"; }

if ! complete; then
    mkdir -p "$(dirname "$venv")"
    exec 9>"$venv.lock"
    flock 9  # another process may be building it right now
    if ! complete; then
        rm -rf "$venv".tmp.*  # left by an interrupted run (we hold the lock)
        tmp="$(mktemp -d "$venv.tmp.XXXXXX")"
        trap 'rm -rf "$tmp"' EXIT
        {
            "$python" -m venv --prompt "$(basename "$venv")" "$tmp"
            # --no-compile: compiled files would remember the temporary path.
            "$tmp/bin/python" -m pip install --disable-pip-version-check --no-input \
                --no-compile -r "$req"
        } >&2
        # Scripts (django-admin, ...) and activate name the venv by its path.
        grep -rlIF "$tmp" "$tmp/bin" "$tmp/pyvenv.cfg" | xargs -r sed -i "s|$tmp|$venv|g"
        cp "$req" "$tmp/$marker"
        rm -rf "$venv"
        mv -T "$tmp" "$venv"
        trap - EXIT
        # Best effort: compile once now rather than at each first import.
        "$venv/bin/python" -m compileall -q "$venv/lib" >/dev/null 2>&1 || true
    fi
    exec 9>&-
fi

echo "$venv"
