#!/bin/sh
# deploy/test/udev.sh — udev/70-leadd-scanners.rules through the real udev rule engine (udevadm test) on a
# real tty device of this machine, in a private mount namespace (tmpfs over /etc/udev/rules.d, /dev and /run)
# so nothing reaches the host's /dev or udev database. A local rule naming the device gives
# /dev/leadd-scanner-<name>; a known vendor id gives /dev/leadd-scanner-<port>; any other tty is left alone.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
command -v udevadm >/dev/null || fail "udevadm missing (apt-get install udev)"
[ "$(id -u)" = 0 ] || fail "needs root (a private mount namespace)"
vts=$(for d in /sys/class/tty/tty[0-9]* /sys/class/tty/ttyS[0-9]*; do [ -e "$d" ] && basename "$d"; done | sort -V)
dev=$(echo "$vts" | sed -n 2p)
other=$(echo "$vts" | sed -n 3p)
[ -n "$dev" ] && [ -n "$other" ] || fail "fewer than 3 ttys in /sys/class/tty to test on"
scratch

udev_test() { # LOCAL_RULE DEVICE OUT
    unshare --mount sh -c '
        set -e
        mount -t tmpfs none /etc/udev/rules.d
        mount -t tmpfs none /dev
        mount -t tmpfs none /run
        cp udev/70-leadd-scanners.rules /etc/udev/rules.d/
        printf "%s\n" "$1" > /etc/udev/rules.d/65-leadd-local.rules
        udevadm test --action=add "/sys/class/tty/$2"' sh "$1" "$2" > "$3" 2>&1 || fail "udevadm test $2: $(tail -5 "$3")"
    grep -q 'Reading rules file: /etc/udev/rules.d/70-leadd-scanners.rules' "$3" || fail "the rules file was not read"
    if grep -iE 'invalid|unknown key|failed to parse' "$3" | grep -q leadd; then
        fail "udev rejects a rule: $(grep -iE 'invalid|unknown key|failed to parse' "$3")"
    fi
}

udev_test "SUBSYSTEM==\"tty\", KERNEL==\"$dev\", ENV{LEADD_SCANNER}=\"entrance\"" "$dev" "$SCRATCH/named"
grep -qx 'DEVLINKS=/dev/leadd-scanner-entrance' "$SCRATCH/named" || fail "named scanner: $(grep -E 'DEVLINKS|LINK' "$SCRATCH/named")"
grep -q "70-leadd-scanners.rules:[0-9]* GROUP $(getent group dialout | cut -d: -f3)\$" "$SCRATCH/named" || fail "named scanner not in group dialout"
grep -q '70-leadd-scanners.rules:[0-9]* MODE 0660' "$SCRATCH/named" || fail "named scanner not mode 0660"
pass "a locally named scanner: /dev/leadd-scanner-entrance, group dialout, mode 0660"

udev_test "SUBSYSTEM==\"tty\", KERNEL==\"$dev\", ENV{ID_VENDOR_ID}=\"0c2e\", ENV{ID_PATH_TAG}=\"usb-0_1_3_1_0\"" "$dev" "$SCRATCH/vendor"
grep -qx 'DEVLINKS=/dev/leadd-scanner-usb-0_1_3_1_0' "$SCRATCH/vendor" \
    || fail "Honeywell by port: $(grep -E 'DEVLINKS|LINK' "$SCRATCH/vendor")"
pass "a known vendor (0c2e) without a local name: /dev/leadd-scanner-<port>"

udev_test "SUBSYSTEM==\"tty\", KERNEL==\"$dev\", ENV{LEADD_SCANNER}=\"entrance\"" "$other" "$SCRATCH/other"
if grep -q "LINK 'leadd-scanner\|^DEVLINKS=.*leadd-scanner\|70-leadd-scanners.rules:[0-9]* \(GROUP\|MODE\)" "$SCRATCH/other"; then
    fail "an unrelated tty was touched: $(grep leadd "$SCRATCH/other")"
fi
pass "any other tty ($other) is left alone"
