#!/bin/sh
# deploy/test/install.sh DEB — installs the package into a throwaway root with dpkg --root (maintainer
# scripts run chrootless with DPKG_ROOT set, as dpkg does for bootstrapping a root), checks what it put
# there, runs the installed leadd and leadctl on the installed conffile (with this host's shared libraries:
# the root has no libc of its own), turns the console kiosk on in that root and verifies the resulting unit,
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
    usr/share/leadd/kiosk/console.conf usr/share/doc/leadd/copyright usr/share/man/man8/leadd.8.gz; do
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

v=$("$R/usr/bin/leadd" --version) || fail "leadd --version exited $?"
[ "$v" = "$VERSION" ] || fail "leadd --version printed '$v', the package is $VERSION"
pass "installed leadd --version: $v"
out=$("$R/usr/bin/leadctl" --config "$R/etc/leadd/leadd.conf" config check 2>&1) \
    || fail "leadctl config check on the installed conffile: $out"
echo "$out" | grep -q "event my-event" || fail "config check output: $out"
pass "installed leadctl config check on the installed conffile: exit 0"

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
mkdir -p "$R/var/lib/leadd"
"$R/usr/bin/leadctl" --db "$R/var/lib/leadd/leads.sqlite3" add first_name=Ada email=ada@example.com --consent \
    >/dev/null || fail "leadctl add"
echo "# local edit" >> "$R/etc/leadd/leadd.conf"
printf '[Kiosk]\nEvent=expo-2026\n' > "$R/etc/leadd/leadd.conf.d/50-local.conf"
db_sum=$(md5sum < "$R/var/lib/leadd/leads.sqlite3")
conf_sum=$(md5sum < "$R/etc/leadd/leadd.conf")

$DPKG -r leadd > "$SCRATCH/remove.log" 2>&1 || fail "dpkg -r: $(cat "$SCRATCH/remove.log")"
[ "$(status)" = config-files ] || fail "status after remove: $(status)"
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
