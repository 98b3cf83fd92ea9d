#!/bin/sh
# deploy/test/install.sh DEB — installs the package into a throwaway root with dpkg --root (maintainer
# scripts run chrootless with DPKG_ROOT set, as dpkg does for bootstrapping a root), checks what it put
# there, runs the installed leadd and leadctl inside the root as the leadd user (chroot; this machine's shared
# libraries copied in for the dependencies), starts and stops the installed daemon there, turns the console
# kiosk on in that root and verifies the resulting unit,
# then removes the package (conffile and leads kept), reinstalls it (local edits kept) and purges it
# (conffile gone, leads kept).
. "$(dirname "$0")/lib.sh"
DEB=${1:?usage: install.sh leadd_VERSION_ARCH.deb}
[ -f "$DEB" ] || fail "$DEB missing"
[ "$(id -u)" = 0 ] || fail "dpkg --root needs root (files owned by root and the leadd user)"
scratch
R=$SCRATCH/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/log" "$R/etc"
: > "$R/var/lib/dpkg/status"
DPKG="dpkg --root=$R --force-script-chrootless --force-depends --no-triggers"
VERSION=$(dpkg-deb -f "$DEB" Version)
status() { dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${db:Status-Status}' leadd 2>/dev/null || echo not-installed; }

$DPKG -i "$DEB" > "$SCRATCH/install.log" 2>&1 || fail "dpkg -i: $(cat "$SCRATCH/install.log")"
[ "$(status)" = installed ] || fail "status after install: $(status)"
pass "dpkg --root -i $DEB"

for f in usr/bin/leadd usr/bin/leadctl usr/sbin/leadd-console-kiosk usr/sbin/leadd-credential usr/libexec/leadd/leadd-vt-lock; do
    [ -x "$R/$f" ] || fail "/$f not installed executable"
done
for f in lib/systemd/system/leadd.service lib/udev/rules.d/70-leadd-scanners.rules usr/lib/sysusers.d/leadd.conf \
    usr/lib/modules-load.d/leadd.conf usr/share/leadd/kiosk/console.conf usr/share/doc/leadd/copyright usr/share/man/man8/leadd.8.gz; do
    [ -f "$R/$f" ] || fail "/$f not installed"
done
cmp -s "$R/lib/systemd/system/leadd.service" "$(dirname "$0")/../../systemd/leadd.service" \
    || fail "installed unit differs from systemd/leadd.service"
pass "binaries, unit, udev rules, sysusers, kiosk files, docs installed"

grep -qx /etc/leadd/leadd.conf "$R/var/lib/dpkg/info/leadd.conffiles" || fail "leadd.conf is not a conffile"
"$R/usr/bin/leadctl" config example | cmp -s - "$R/etc/leadd/leadd.conf" \
    || fail "/etc/leadd/leadd.conf is not leadctl's commented default"
pass "/etc/leadd/leadd.conf is a conffile holding the commented default"

line=$(grep '^leadd:' "$R/etc/passwd") || fail "postinst made no leadd user in the root"
shell=$(echo "$line" | cut -d: -f7); home=$(echo "$line" | cut -d: -f6); uid=$(echo "$line" | cut -d: -f3)
[ "$shell" = /usr/sbin/nologin ] || fail "leadd's shell is $shell"
[ "$home" = /var/lib/leadd ] || fail "leadd's home is $home"
[ "$uid" -lt 1000 ] && [ "$uid" -gt 0 ] || fail "leadd's uid $uid is not a system uid"
gid=$(awk -F: '$1 == "leadd" { print $3 }' "$R/etc/group")
[ -n "$gid" ] || fail "no leadd group"
[ "$(stat -c '%u:%g %a' "$R/etc/leadd/leadd.conf")" = "0:$gid 640" ] \
    || fail "leadd.conf is $(stat -c '%u:%g %a' "$R/etc/leadd/leadd.conf"), expected 0:$gid 640"
pass "postinst: system user leadd (uid $uid, nologin), leadd.conf root:leadd 0640"

[ "$(readlink "$R/etc/systemd/system/multi-user.target.wants/leadd.service")" = /lib/systemd/system/leadd.service ] \
    || fail "postinst did not enable leadd.service"
pass "postinst: leadd.service enabled (multi-user.target.wants)"

# The installed programs run inside the root, as the leadd user. Added to the root: the shared libraries they
# link, copied from this machine (standing in for the packages the .deb depends on), /dev/null, and /proc in a
# private mount namespace (the Swift runtime reads its arguments from /proc/self/cmdline).
chmod 0755 "$R"
for lib in $(ldd "$R/usr/bin/leadd" "$R/usr/bin/leadctl" \
    | awk '$2 == "=>" && $3 ~ /^\// { print $3 } NF == 2 && $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u); do
    cp --parents -L "$lib" "$R"
done
mkdir -p "$R/proc" "$R/dev"
mknod -m 0666 "$R/dev/null" c 1 3
ug="$uid:$gid"
in_root() { # UID:GID COMMAND... — runs COMMAND in the root as that user. Call it in $(…) or with &: it execs,
    # so that a background call's $! is the command's own pid.
    exec unshare --mount sh -c 'r=$1 ug=$2; shift 2; mount -t proc proc "$r/proc" && exec chroot --userspec="$ug" "$r" "$@"' \
        sh "$R" "$@"
}

v=$(in_root "$ug" /usr/bin/leadd --version) || fail "leadd --version in the root exited $?"
[ "$v" = "$VERSION" ] || fail "leadd --version printed '$v', the package is $VERSION"
pass "installed leadd --version, in the root as leadd: $v"
out=$(in_root "$ug" /usr/bin/leadctl config check 2>&1) || fail "leadctl config check in the root as leadd: $out"
echo "$out" | grep -q "^ok: /etc/leadd/leadd.conf" || fail "config check did not read /etc/leadd/leadd.conf: $out"
echo "$out" | grep -q "event my-event" || fail "config check output: $out"
pass "installed leadctl config check, in the root as leadd, on the installed conffile: exit 0"
if out=$(in_root 65534:65534 /usr/bin/leadctl config check 2>&1); then fail "another user read the 0640 conffile"; fi
echo "$out" | grep -q "Permission denied\|cannot read" || fail "unexpected failure for another user: $out"
pass "another user cannot read the conffile (0640 root:leadd)"

# The daemon itself, from the installed layout: no form (a drop-in), the state directory as StateDirectory=
# makes it; it creates its database, and SIGTERM stops it with exit 0.
printf '[Terminal]\nTTY=none\n' > "$R/etc/leadd/leadd.conf.d/90-test.conf"
install -d -o "$uid" -g "$gid" -m 0700 "$R/var/lib/leadd"
STATE_DIRECTORY=/var/lib/leadd in_root "$ug" /usr/bin/leadd < /dev/null > "$SCRATCH/leadd.log" 2>&1 &
pid=$!
i=0
# Started: the database exists and SIGTERM is handled (caught or ignored for a dispatch source), not fatal.
term_handled() {
    ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null)
    cgt=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null)
    [ -n "$ign" ] && [ $(((0x$ign | 0x$cgt) & 0x4000)) != 0 ]
}
until [ -s "$R/var/lib/leadd/leads.sqlite3" ] && term_handled; do
    i=$((i + 1))
    [ $i -lt 100 ] || { kill -KILL $pid 2>/dev/null; fail "leadd did not start: $(cat "$SCRATCH/leadd.log")"; }
    kill -0 $pid 2>/dev/null || fail "leadd exited: $(cat "$SCRATCH/leadd.log")"
    sleep 0.1
done
kill -TERM $pid
rc=0; wait $pid || rc=$?
[ $rc = 0 ] || fail "leadd exited $rc on SIGTERM: $(cat "$SCRATCH/leadd.log")"
grep -q "leadd stopped" "$SCRATCH/leadd.log" || fail "no 'leadd stopped' in: $(cat "$SCRATCH/leadd.log")"
[ "$(stat -c '%u %a' "$R/var/lib/leadd/leads.sqlite3")" = "$uid 600" ] \
    || fail "leads.sqlite3 is $(stat -c '%u %a' "$R/var/lib/leadd/leads.sqlite3")"
rm "$R/etc/leadd/leadd.conf.d/90-test.conf"
pass "installed leadd, in the root as leadd: starts, creates leads.sqlite3 (leadd, 0600), exits 0 on SIGTERM"

# The console kiosk, switched on in the root, and the unit systemd would then run.
LEADD_KIOSK_SHARE="$R/usr/share/leadd/kiosk" "$R/usr/sbin/leadd-console-kiosk" enable --root "$R" >/dev/null \
    || fail "leadd-console-kiosk enable --root"
for f in etc/systemd/system/leadd.service.d/console.conf etc/systemd/logind.conf.d/leadd-kiosk.conf \
    etc/systemd/system.conf.d/leadd-kiosk.conf etc/sysctl.d/90-leadd-kiosk.conf; do
    [ -f "$R/$f" ] || fail "kiosk enable did not install /$f"
done
for u in ctrl-alt-del.target getty@tty2.service getty@tty6.service; do
    [ "$(readlink "$R/etc/systemd/system/$u")" = /dev/null ] || fail "kiosk enable did not mask $u"
done
grep -qx 'CtrlAltDelBurstAction=none' "$R/etc/systemd/system.conf.d/leadd-kiosk.conf" || fail "no CtrlAltDelBurstAction"
grep -qx 'kernel.sysrq = 0' "$R/etc/sysctl.d/90-leadd-kiosk.conf" || fail "no kernel.sysrq"
pass "leadd-console-kiosk enable --root: drop-ins installed, ctrl-alt-del and getty@tty2..6 masked"
systemd_base "$R"
verify_clean "$R" leadd.service "installed leadd.service + console kiosk"
exposure_at_most "$R" leadd.service 2.0 "installed leadd.service + console kiosk"
"$R/usr/sbin/leadd-console-kiosk" disable --root "$R" >/dev/null || fail "leadd-console-kiosk disable --root"
[ ! -e "$R/etc/systemd/system/leadd.service.d/console.conf" ] || fail "kiosk disable left console.conf"
[ ! -e "$R/etc/systemd/system/ctrl-alt-del.target" ] || fail "kiosk disable left ctrl-alt-del masked"
pass "leadd-console-kiosk disable --root undoes it"

# leadd-credential, plain mode (the Ansible test covers the encrypted one).
out=$(printf 'tok-1' | "$R/usr/sbin/leadd-credential" leadd-test --plain --root "$R") || fail "leadd-credential: $out"
[ "$out" = "changed plain" ] || fail "leadd-credential printed '$out'"
[ "$(cat "$R/etc/credstore/leadd-test")" = tok-1 ] || fail "credstore/leadd-test does not hold the secret"
[ "$(stat -c %a "$R/etc/credstore/leadd-test") $(stat -c %a "$R/etc/credstore")" = "600 700" ] || fail "credential modes"
out=$(printf 'tok-1' | "$R/usr/sbin/leadd-credential" leadd-test --plain --root "$R")
[ "$out" = "unchanged plain" ] || fail "the same secret again: '$out'"
printf '' | "$R/usr/sbin/leadd-credential" leadd-test --plain --root "$R" 2>/dev/null && fail "an empty secret was accepted"
pass "leadd-credential --plain: root-only file, unchanged when the same, empty refused"

# State and local configuration the package must never touch.
"$R/usr/bin/leadctl" --db "$R/var/lib/leadd/leads.sqlite3" add first_name=Ada email=ada@example.com --consent \
    >/dev/null || fail "leadctl add"
echo "# local edit" >> "$R/etc/leadd/leadd.conf"
printf '[Kiosk]\nEvent=expo-2026\n' > "$R/etc/leadd/leadd.conf.d/50-local.conf"
db_sum=$(md5sum < "$R/var/lib/leadd/leads.sqlite3")
conf_sum=$(md5sum < "$R/etc/leadd/leadd.conf")
# A console kiosk still on when the package goes: removing it must give the box its logins back.
LEADD_KIOSK_SHARE="$R/usr/share/leadd/kiosk" "$R/usr/sbin/leadd-console-kiosk" enable --root "$R" >/dev/null \
    || fail "leadd-console-kiosk enable --root (before remove)"

$DPKG -r leadd > "$SCRATCH/remove.log" 2>&1 || fail "dpkg -r: $(cat "$SCRATCH/remove.log")"
[ "$(status)" = config-files ] || fail "status after remove: $(status)"
[ ! -e "$R/etc/systemd/system/leadd.service.d/console.conf" ] || fail "remove left the console kiosk drop-in"
for u in ctrl-alt-del.target getty@tty2.service; do
    [ ! -e "$R/etc/systemd/system/$u" ] || fail "remove left $u masked: the box would have no login"
done
pass "dpkg -r with the console kiosk on: kiosk undone, logins and Ctrl-Alt-Del back"
for f in usr/bin/leadd usr/bin/leadctl lib/systemd/system/leadd.service lib/udev/rules.d/70-leadd-scanners.rules; do
    [ ! -e "$R/$f" ] || fail "remove left /$f"
done
[ "$(md5sum < "$R/etc/leadd/leadd.conf")" = "$conf_sum" ] || fail "remove changed the edited conffile"
[ "$(md5sum < "$R/var/lib/leadd/leads.sqlite3")" = "$db_sum" ] || fail "remove changed the database"
[ -f "$R/etc/leadd/leadd.conf.d/50-local.conf" ] || fail "remove deleted a local drop-in"
pass "dpkg -r: files gone; edited conffile, drop-in and database untouched"

$DPKG -i "$DEB" > "$SCRATCH/reinstall.log" 2>&1 || fail "reinstall: $(cat "$SCRATCH/reinstall.log")"
[ "$(md5sum < "$R/etc/leadd/leadd.conf")" = "$conf_sum" ] || fail "reinstall overwrote the edited conffile"
out=$("$R/usr/bin/leadctl" --config "$R/etc/leadd/leadd.conf" config check 2>&1) || fail "config check: $out"
echo "$out" | grep -q "event expo-2026" || fail "the local drop-in is not in effect after reinstall: $out"
pass "reinstall keeps the edited conffile and drop-in"

$DPKG -P leadd > "$SCRATCH/purge.log" 2>&1 || fail "dpkg -P: $(cat "$SCRATCH/purge.log")"
[ "$(status)" = not-installed ] || fail "status after purge: $(status)"
[ ! -e "$R/etc/leadd/leadd.conf" ] || fail "purge left /etc/leadd/leadd.conf"
[ ! -e "$R/etc/systemd/system/multi-user.target.wants/leadd.service" ] || fail "purge left the enable symlink"
[ ! -e "$R/etc/systemd/system/leadd.service" ] || fail "purge left leadd.service masked"
[ -f "$R/etc/leadd/leadd.conf.d/50-local.conf" ] || fail "purge deleted the administrator's own drop-in"
[ "$(md5sum < "$R/var/lib/leadd/leads.sqlite3")" = "$db_sum" ] || fail "purge changed the database"
grep -q "leads kept in /var/lib/leadd" "$SCRATCH/purge.log" || fail "purge did not say where the leads are"
n=$("$(dirname "$0")/../../.build/release/leadctl" --db "$R/var/lib/leadd/leads.sqlite3" list 2>&1 | grep -c ada@example.com) \
    || fail "the lead is not readable after purge"
pass "dpkg -P: conffile and unit links gone; the leads database kept and readable ($n lead)"

# build-deb.sh refuses binaries of another architecture (an arm64 leadd must be packaged on arm64).
mkdir -p "$SCRATCH/arm64"
cp "$(dirname "$0")/../../.build/release/leadctl" "$SCRATCH/arm64/leadctl"
cp "$(dirname "$0")/../../.build/release/leadd" "$SCRATCH/arm64/leadd"
printf '\267\000' | dd of="$SCRATCH/arm64/leadd" bs=1 seek=18 conv=notrunc 2>/dev/null # e_machine = EM_AARCH64
[ "$(readelf -h "$SCRATCH/arm64/leadd" | sed -n 's/^ *Machine: *//p')" = AArch64 ] || fail "could not fake an arm64 ELF header"
if [ "$(dpkg --print-architecture)" != arm64 ]; then
    if out=$("$(dirname "$0")/../build-deb.sh" "$SCRATCH/arm64" 2>&1); then fail "build-deb packaged an arm64 binary here"; fi
    echo "$out" | grep -q "is arm64, this machine is" || fail "build-deb's refusal does not say why: $out"
    pass "build-deb.sh refuses an arm64 binary on $(dpkg --print-architecture)"
fi
