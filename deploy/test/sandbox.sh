#!/bin/sh
# deploy/test/sandbox.sh [LEADD LEADCTL] — leadd at work under the seccomp part of leadd.service's sandbox
# (SystemCallFilter=, SystemCallErrorNumber=, RestrictAddressFamilies=, MemoryDenyWriteExecute=; applied by
# unit-seccomp.py from the unit file, since this machine has no systemd as PID 1): it starts, a lead added
# by leadctl reaches a webhook (HTTP on 127.0.0.1, libcurl, a credential) and a directory sink, and it stops on
# SIGTERM; strace records every system call it made, and none was outside the filter. The filter itself is
# checked too: it refuses an AF_PACKET socket, sched_setaffinity, chroot and a writable+executable mapping.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
LEADD=$(realpath "${1:-.build/release/leadd}")
LEADCTL=$(realpath "${2:-.build/release/leadctl}")
UNIT=systemd/leadd.service
SECCOMP=deploy/test/unit-seccomp.py
for t in strace /usr/bin/python3; do command -v $t >/dev/null || fail "$t missing (apt-get install strace python3-seccomp)"; done
/usr/bin/python3 -c 'import seccomp' 2>/dev/null || fail "python3-seccomp missing"
scratch
D=$SCRATCH

# The filter refuses what the unit refuses (and allows what leadd needs: the run below).
/usr/bin/python3 "$SECCOMP" "$UNIT" -- /usr/bin/python3 - <<'PY' || fail "the emulated filter does not refuse what the unit refuses"
import mmap, socket, sys
bad = []
try:
    socket.socket(17, socket.SOCK_RAW, 0)  # AF_PACKET
    bad.append("AF_PACKET socket")
except OSError:
    pass
socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
socket.socket(16, socket.SOCK_RAW, 0).close()  # AF_NETLINK
import os
try:
    os.sched_setaffinity(0, os.sched_getaffinity(0))  # @resources
    bad.append("sched_setaffinity")
except OSError:
    pass
try:
    os.chroot("/")  # @privileged (this test runs as root, so only the filter can refuse it)
    bad.append("chroot")
except OSError:
    pass
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    bad.append("W+X mmap")
except OSError:
    pass
mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE).close()
sys.exit(1 if bad else 0)
PY
pass "the emulated filter refuses an AF_PACKET socket, sched_setaffinity, chroot and a W+X mapping; allows AF_INET, AF_NETLINK"

mkdir -p "$D/data" "$D/out" "$D/creds" "$D/http"
printf 'whsec_%s' "$(head -c 32 /dev/urandom | base64)" > "$D/creds/leadd-office"
/usr/bin/python3 deploy/test/receiver.py "$D/http" &
receiver=$!
trap 'set +e; kill $receiver 2>/dev/null; [ -z "${pid:-}" ] || pkill -KILL -P "$pid" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$SCRATCH"; true' EXIT
i=0; until [ -s "$D/http/port" ]; do i=$((i + 1)); [ $i -lt 100 ] || fail "receiver did not start"; sleep 0.1; done
cat > "$D/leadd.conf" <<CONF
[Kiosk]
Event=sandbox-test
DataDirectory=$D/data
[Terminal]
TTY=none
[Sink]
Name=office
Type=webhook
URL=http://127.0.0.1:$(cat "$D/http/port")/leads
Credential=leadd-office
[Sink]
Name=usb
Type=directory
Directory=$D/out
CONF

# As an unprivileged user, as under User=leadd (as root SQLite would fchown its journal files, which the
# filter refuses and a service user never does).
chown -R 65534:65534 "$D/data" "$D/out" "$D/creds"
chmod 0755 "$D"
# That user may not be able to read the checkout (a clone under /root is 0700): it runs copies.
install -d -m 0755 "$D/bin"
install -m 0755 "$LEADD" "$D/bin/leadd"
install -m 0644 "$UNIT" "$D/bin/leadd.service"
install -m 0644 "$SECCOMP" "$D/bin/unit-seccomp.py"
CREDENTIALS_DIRECTORY=$D/creds strace -f -qq -o "$D/strace.log" \
    setpriv --reuid=65534 --regid=65534 --clear-groups \
    /usr/bin/python3 "$D/bin/unit-seccomp.py" "$D/bin/leadd.service" -- "$D/bin/leadd" --config "$D/leadd.conf" \
    < /dev/null > "$D/leadd.log" 2>&1 &
pid=$!
i=0; until grep -q "leadd starting" "$D/leadd.log" 2>/dev/null && [ -s "$D/data/leads.sqlite3" ]; do
    i=$((i + 1)); [ $i -lt 300 ] || fail "leadd did not start under the filter: $(cat "$D/leadd.log")"
    kill -0 $pid 2>/dev/null || fail "leadd exited under the filter: $(cat "$D/leadd.log")"
    sleep 0.1
done
sleep 1
"$LEADCTL" --config "$D/leadd.conf" add first_name=Ada email=ada.sandbox@example.com --consent > /dev/null \
    || fail "leadctl add"
i=0; until ls "$D/out"/leads-*.json > /dev/null 2>&1 && ls "$D/http"/post-*.txt > /dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 300 ] || fail "the lead did not reach both sinks under the filter: $(cat "$D/leadd.log")"
    sleep 0.1
done
grep -q 'ada.sandbox@example.com' "$D"/http/post-*.txt || fail "the webhook POST does not hold the lead"
grep -qi '^webhook-signature: v1,' "$D"/http/post-*.txt || fail "the webhook POST is not signed (credential not read?)"
grep -q 'ada.sandbox@example.com' "$D"/out/leads-*.json || fail "the batch file does not hold the lead"
i=0; until "$LEADCTL" --config "$D/leadd.conf" status --json | /usr/bin/python3 -c '
import json, sys
s = {x["name"]: x for x in json.load(sys.stdin)["sinks"]}
sys.exit(0 if s["office"]["synced"] == 1 and s["usb"]["synced"] == 1 else 1)'; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "leadctl status does not show the lead synced to both sinks"
    sleep 0.1
done
pass "under the filter: leadd started, a lead reached the signed webhook (libcurl, 127.0.0.1) and the directory sink"

# $pid is strace; leadd (python exec'd into it) is its child, and strace exits with leadd's status.
kill -TERM "$(pgrep -P $pid)"
rc=0; wait $pid || rc=$?
[ $rc = 0 ] || fail "leadd under the filter exited $rc on SIGTERM: $(tail -5 "$D/leadd.log")"
pass "under the filter: SIGTERM stops leadd with exit 0"

# Every system call leadd made (after its execve; python's own start-up before it does not count).
/usr/bin/python3 "$SECCOMP" "$UNIT" --list > "$D/allowed"
rc=0
/usr/bin/python3 - "$D/strace.log" "$D/allowed" "$D/bin/leadd" "$UNIT" > "$D/report" <<'PY' || rc=$?
import re, sys
log, allowed_file, leadd, unit = sys.argv[1:5]
allowed = set(open(allowed_file).read().split())
families = set()
for line in open(unit):
    if line.startswith("RestrictAddressFamilies="):
        families |= set(line.split("=", 1)[1].split())
mdwe = any(l.strip() == "MemoryDenyWriteExecute=yes" for l in open(unit))
call = re.compile(r"^(\d+)\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]")
# Refused by the filter on purpose, and harmless: libdispatch sets its worker threads' nice value (to 0, or
# -4 for higher QoS, which a service without CAP_SYS_NICE could not do anyway); leadd works with it refused,
# as the run above shows.
KNOWN = {"setpriority"}
started, used, denied = False, set(), set()
for line in open(log, errors="replace"):
    if not started:
        if 'execve("' + leadd + '"' in line and line.rstrip().endswith("= 0"):
            started = True
        continue
    m = call.match(line)
    if not m or m.group(2) in ("exited", "killed", "resumed", "unfinished"):
        continue
    name = m.group(2)
    used.add(name)
    if name not in allowed:
        denied.add(name)
    f = re.search(r"\bsocket\((AF_[A-Z0-9]+)", line)
    if f and families and f.group(1) not in families:
        denied.add("socket(" + f.group(1) + ")")
    if mdwe and re.search(r"\b(mmap|mprotect|pkey_mprotect)\(.*PROT_EXEC", line) and (
        name != "mmap" or "PROT_WRITE" in line
    ):
        denied.add(name + "(PROT_EXEC)")
print("used:", len(used), " ".join(sorted(used)))
print("outside the filter:", " ".join(sorted(denied - KNOWN)) or "none")
print("refused on purpose:", " ".join(sorted(denied & KNOWN)) or "none")
denied -= KNOWN
sys.exit(2 if not started else (1 if denied else 0))
PY
case $rc in
    0) pass "strace: leadd made $(sed -n 's/^used: \([0-9]*\).*/\1/p' "$D/report") different system calls, none outside the unit's filter but $(sed -n 's/^refused on purpose: //p' "$D/report") (refused on purpose)" ;;
    2) fail "strace log has no execve of $D/bin/leadd" ;;
    *) fail "leadd called what leadd.service forbids: $(sed -n 's/^outside the filter: //p' "$D/report")" ;;
esac
