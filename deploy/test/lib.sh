# Shared by the deploy tests (sourced). Every check prints what it checked; the first failure exits 1.
set -eu

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok   $*"; }

# A throwaway directory removed on exit.
scratch() {
    SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/leadd-deploy.XXXXXX")
    trap 'rm -rf "$SCRATCH"' EXIT
}

# The host's systemd units inside ROOT, so that systemd-analyze --root=ROOT resolves the dependencies of
# leadd.service (sysinit.target, getty@.service, …).
systemd_base() { # ROOT
    mkdir -p "$1/usr/lib/systemd"
    cp -a /usr/lib/systemd/system "$1/usr/lib/systemd/"
}

# systemd-analyze verify must print nothing and succeed (it exits 0 on unknown keys: the output is what counts).
verify_clean() { # ROOT UNIT WHAT
    out=$(systemd-analyze verify --man=no --root="$1" "$2" 2>&1) || fail "$3: systemd-analyze verify failed: $out"
    [ -z "$out" ] || fail "$3: systemd-analyze verify printed:
$out"
    pass "$3: systemd-analyze verify clean"
}

# The overall exposure of systemd-analyze security --offline=yes must be at most MAX.
exposure_at_most() { # ROOT UNIT MAX WHAT
    out=$(systemd-analyze security --offline=yes --no-pager --root="$1" "$2" 2>&1) || true
    score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\) .*/\1/p')
    [ -n "$score" ] || fail "$4: no exposure score in systemd-analyze security output:
$out"
    awk -v s="$score" -v m="$3" 'BEGIN { exit !(s + 0 <= m + 0) }' \
        || fail "$4: exposure $score > $3:
$(printf '%s\n' "$out" | grep '✗')"
    pass "$4: exposure $score ≤ $3"
}
