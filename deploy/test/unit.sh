#!/bin/sh
# deploy/test/unit.sh [LEADD] — leadd.service from systemd/ (alone, with the console kiosk drop-in, and with
# a credentials drop-in as the Ansible playbook writes it): systemd-analyze verify prints nothing and the
# offline security exposure is ≤ 2.0. LEADD is the binary placed at ExecStart (default .build/release/leadd).
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
LEADD=${1:-.build/release/leadd}
[ -x "$LEADD" ] || fail "$LEADD missing (make release)"
scratch
R=$SCRATCH/root
systemd_base "$R"
install -D -m 0755 "$LEADD" "$R/usr/bin/leadd"
install -D -m 0644 systemd/leadd.service "$R/etc/systemd/system/leadd.service"

verify_clean "$R" leadd.service "leadd.service"
exposure_at_most "$R" leadd.service 2.0 "leadd.service"

# The verify check itself: a misspelt key must be reported.
cp "$R/etc/systemd/system/leadd.service" "$SCRATCH/good"
sed 's/^UMask=/UMaks=/' "$SCRATCH/good" > "$R/etc/systemd/system/leadd.service"
if (verify_clean "$R" leadd.service "a misspelt key" >/dev/null 2>&1); then fail "verify_clean accepted UMaks="; fi
pass "verify_clean rejects a misspelt key"
cp "$SCRATCH/good" "$R/etc/systemd/system/leadd.service"

install -D -m 0644 systemd/kiosk/console.conf "$R/etc/systemd/system/leadd.service.d/console.conf"
install -D -m 0755 systemd/kiosk/leadd-vt-lock "$R/usr/libexec/leadd/leadd-vt-lock"
cat > "$R/etc/systemd/system/leadd.service.d/50-credentials.conf" <<'UNIT'
[Service]
LoadCredential=leadd-office:/etc/credstore/leadd-office
LoadCredentialEncrypted=leadd-crm:/etc/credstore.encrypted/leadd-crm
ReadWritePaths=/media/usb/leads
UNIT
verify_clean "$R" leadd.service "leadd.service + console.conf + credentials drop-in"
exposure_at_most "$R" leadd.service 2.0 "leadd.service + console.conf + credentials drop-in"

# Both checks really read drop-ins: a misspelt key in one is reported, and PrivateNetwork=yes in one lowers
# the score.
printf '[Service]\nTTYPaht=/dev/tty2\n' > "$R/etc/systemd/system/leadd.service.d/99-probe.conf"
if (verify_clean "$R" leadd.service "probe" >/dev/null 2>&1); then fail "verify ignored a bad drop-in"; fi
printf '[Service]\nPrivateNetwork=yes\n' > "$R/etc/systemd/system/leadd.service.d/99-probe.conf"
if (exposure_at_most "$R" leadd.service 1.0 "probe" >/dev/null 2>&1); then :; else
    fail "security ignored PrivateNetwork=yes in a drop-in"
fi
pass "verify and security read the drop-ins"
