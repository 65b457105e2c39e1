# What bench/stream.sh, bench/postgres.sh and bench/mariadb.sh share. Each
# sources it first, with its own arguments:
#
#   source "$(dirname "$0")/lib.sh" "$@"
#
# and defines `report ROWS`, which makes (or finds) a table of ROWS rows
# and calls `compare`; `bench` then runs the whole benchmark.
#
# Sets, in the repository's root: rows (the first argument, default
# 1,000,000), runs (RUNS, default 5), jobs (JOBS, default "2": each also
# measured as `dump2py -j N`), sizes (SIZES, default "10 1": the table of
# rows/10 and of rows; "10 1 0.2" adds 5 times the rows), work (a temporary
# directory, removed on exit) and bin (dump2py, built for release).
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
runs="${RUNS:-5}"
jobs="${JOBS:-2}"
sizes="${SIZES:-10 1}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release -q -p dump2py
bin="$PWD/target/release/dump2py"

measure() { # command... ; prints "seconds peak_kb" (median of $runs by time)
    local results=()
    for _ in $(seq "$runs"); do
        rm -rf "$work/out" "$work/out.sql"
        /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || {
            cat "$work/err" >&2; exit 1; }
        results+=("$(cat "$work/time")")
    done
    printf '%s\n' "${results[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}

# Measures `dump2py -d URL` and the shell command line OTHER (which writes
# $work/out.sql), and prints a line of both and their ratios; a ratio to a
# time or size that rounds to 0 is n/a.
compare() { # rows url label other
    local n="$1" url="$2" label="$3" other="$4" d o j
    o=($(measure sh -c "$other"))
    for j in 1 $jobs; do
        d=($(measure "$bin" -v 0 -j "$j" -d "$url" "$work/out"))
        awk -v n="$n" -v j="$j" -v label="$label" -v dt="${d[0]}" -v dm="${d[1]}" -v ot="${o[0]}" -v om="${o[1]}" '
        function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
        BEGIN {
            printf "%9d rows  dump2py -j %d %6.2f s %7.1f MB | %s %6.2f s %7.1f MB | time ratio %s, memory ratio %s\n",
                n, j, dt, dm / 1024, label, ot, om / 1024, ratio(dt, ot), ratio(dm, om) }'
    done
}

# The versions, then a tenth of the rows, to show that memory does not grow
# with the table (streaming), and all of them.
bench() { # the other tool's version
    echo "dump2py $("$bin" --version | cut -d' ' -f2), $1, median of $runs runs, $(nproc) cores"
    local s
    for s in $sizes; do
        report "$(awk -v r="$rows" -v s="$s" 'BEGIN { printf "%d", r / s }')"
    done
    if declare -F report_tables >/dev/null; then
        report_tables "$rows"
    fi
}
