#!/usr/bin/env bash
# Builds one libFuzzer target and runs it: Fuzz/run.sh NAME SECONDS [more libFuzzer flags]
#
#   NAME     vcard | mecard | keyvalue | json | framer | auto   (the target is Fuzz/NAME.swift), or all
#   SECONDS  how long to fuzz (-max_total_time); 60 by default
#
# The target is compiled with all of Sources/LeadCore/*.swift into one instrumented binary
# (swiftc -sanitize=fuzzer,address). It starts from the committed seeds in Fuzz/corpus/NAME/ and writes what it
# finds to Fuzz/.build-fuzz/corpus/NAME/ (ignored by git), so the seed directory stays small. A crash leaves its
# input in Fuzz/.build-fuzz/artifacts/; rerun it with `Fuzz/.build-fuzz/NAME FILE`.
# Prints the libFuzzer summary; exits non-zero when the target crashed, leaked or timed out.
set -euo pipefail
cd "$(dirname "$0")/.."

targets="vcard mecard keyvalue json framer auto"
name=${1:-}
seconds=${2:-60}
if [[ "$name" == all ]]; then
    # Every target in turn (what `make fuzz` runs); fails if any target failed.
    failed=""
    for target in $targets; do "$0" "$target" "$seconds" || failed="$failed $target"; done
    [[ -z "$failed" ]] || { echo "== failed:$failed" >&2; exit 1; }
    exit 0
fi
if [[ -z "$name" || ! -f "Fuzz/$name.swift" ]]; then
    echo "usage: Fuzz/run.sh NAME SECONDS   (NAME: $targets, or all)" >&2
    exit 2
fi
shift $(($# >= 2 ? 2 : $#))

out=Fuzz/.build-fuzz
binary="$out/$name"
mkdir -p "$out/corpus/$name" "$out/artifacts"

sources=(Sources/LeadCore/*.swift Fuzz/Support/*.swift)
stale=no
if [[ ! -x "$binary" ]]; then
    stale=yes
else
    for f in "Fuzz/$name.swift" "${sources[@]}"; do
        if [[ "$f" -nt "$binary" ]]; then stale=yes; break; fi
    done
fi
if [[ $stale == yes ]]; then
    echo "== building $binary"
    "${SWIFTC:-swiftc}" -sanitize=fuzzer,address -parse-as-library -O -g \
        -enable-upcoming-feature ExistentialAny \
        -enable-upcoming-feature MemberImportVisibility \
        -enable-upcoming-feature InternalImportsByDefault \
        -module-name "Fuzz_$name" -module-cache-path "$out/module-cache" \
        "Fuzz/$name.swift" "${sources[@]}" -o "$binary" >"$out/$name.build.log" 2>&1 || {
        # ld.gold's "Cannot export local symbol '__asan_…'" warnings are expected noise; errors are not.
        grep -v 'Cannot export local symbol' "$out/$name.build.log" >&2
        exit 1
    }
fi

flags=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
    -artifact_prefix="$out/artifacts/$name-")
case $name in
    framer) flags+=(-max_len=4096) ;;
    *) flags+=(-max_len=9000) ;;
esac
[[ -f "Fuzz/dict/$name.dict" ]] && flags+=(-dict="Fuzz/dict/$name.dict")

log="$out/$name.log"
echo "== fuzzing $name for ${seconds}s (log: $log)"
status=0
"$binary" "${flags[@]}" "$@" "$out/corpus/$name" "Fuzz/corpus/$name" >"$log" 2>&1 || status=$?

summary='^(INFO: seed corpus|Done [0-9]+ runs|stat::|==[0-9]+==ERROR|SUMMARY:|Fatal error|.*Test unit written|MS: )'
grep -E "$summary" "$log" | grep -v '^#' || true
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
if [[ $status -eq 0 ]]; then
    echo "== $name: OK, ${runs:-?} executions in ${seconds}s, no crash"
else
    echo "== $name: FAILED (exit $status) after ${runs:-?} executions; see $log and $out/artifacts/" >&2
fi
exit $status
