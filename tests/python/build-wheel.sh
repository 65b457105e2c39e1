#!/usr/bin/env bash
# Builds the dump2py wheel (pyproject.toml, maturin) into target/wheels and
# prints its path as the last line; older dump2py wheels there are removed.
# maturin comes from PyPI into a venv cached beside the Lino reference
# environment (~/.cache/dump2py/maturin-VERSION). Safe to run from several
# processes at once.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
maturin_version=1.16.0
venv="$HOME/.cache/dump2py/maturin-$maturin_version"
mkdir -p "$root/target"
exec 9>"$root/target/wheels.lock"
flock 9  # tests build it side by side: one at a time, the others reuse it
if [ ! -x "$venv/bin/maturin" ]; then
    mkdir -p "$(dirname "$venv")"
    tmp="$(mktemp -d "$venv.tmp.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    python3 -m venv "$tmp" >&2
    "$tmp/bin/python" -m pip install --disable-pip-version-check --no-input -q \
        "maturin==$maturin_version" >&2
    grep -rlIF "$tmp" "$tmp/bin" "$tmp/pyvenv.cfg" | xargs -r sed -i "s|$tmp|$venv|g"
    rm -rf "$venv"
    mv -T "$tmp" "$venv"
    trap - EXIT
fi
out="$root/target/wheels"
mkdir -p "$out"
# Built aside and renamed in: a test may be installing the previous one.
tmp="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && "$venv/bin/maturin" build --release -o "$tmp") >&2
wheel="$(basename "$(ls "$tmp"/dump2py-*.whl)")"
mv -f "$tmp/$wheel" "$out/$wheel"
# Only the newest: `pip install target/wheels/dump2py-*.whl` takes one.
find "$out" -maxdepth 1 -name 'dump2py-*.whl' ! -name "$wheel" -delete
echo "$out/$wheel"
