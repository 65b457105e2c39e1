#!/usr/bin/env bash
# Fetches, once, the tests of Django's source distribution that
# tests/tests/django_data.rs puts on its site's path (the apps
# `serializers` and `fixtures`), for the Django of the virtualenv VENV, and
# prints the path of its tests/ directory as the last line of stdout.
#
#   django-tests.sh VENV
#
# The sdist comes from PyPI (`pip download --no-binary :all:`) into
# ~/.cache/dump2py/django-tests-<version>; nothing is copied into the
# repository. Safe to run from several processes at once (a lock, and a
# temporary directory renamed into place when complete).
set -euo pipefail

venv="$1"
version="$("$venv/bin/python" -c 'import django; print(django.__version__)')"
dest="$HOME/.cache/dump2py/django-tests-$version"
apps=(serializers fixtures)

complete() { [ -f "$dest/.complete" ]; }

if ! complete; then
    mkdir -p "$(dirname "$dest")"
    exec 9>"$dest.lock"
    flock 9
    if ! complete; then
        rm -rf "$dest".tmp.*
        tmp="$(mktemp -d "$dest.tmp.XXXXXX")"
        trap 'rm -rf "$tmp"' EXIT
        "$venv/bin/python" -m pip download --disable-pip-version-check --no-input \
            --no-deps --no-binary :all: "django==$version" -d "$tmp/sdist" >&2
        sdist=("$tmp"/sdist/*.tar.gz)
        top="$(tar -tzf "${sdist[0]}" | sed -n 1p | cut -d/ -f1)"
        tar -xzf "${sdist[0]}" -C "$tmp" "${apps[@]/#/$top/tests/}"
        mv -T "$tmp/$top" "$tmp/django"
        touch "$tmp/django/.complete"
        rm -rf "$dest"
        mv -T "$tmp/django" "$dest"
        rm -rf "$tmp"
        trap - EXIT
    fi
    exec 9>&-
fi

echo "$dest/tests"
