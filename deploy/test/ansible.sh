#!/bin/sh
# deploy/test/ansible.sh DEB — the fleet playbook (deploy/ansible) with ansible-core from PyPI (pinned,
# in a venv under .build/): --syntax-check, then real runs with connection: local against a throwaway root
# (leadd_root): the package is installed, the kiosk config rendered and accepted by leadctl, the secrets are
# systemd credentials encrypted with that root's host key, the unit with the drop-ins verifies; a second
# run changes nothing and restarts nothing; --check reports a change without making it; a changed secret
# changes only the credential and restarts; and --check against this machine itself (no leadd_root, the apt
# path) reports what it would do and changes nothing here.
. "$(dirname "$0")/lib.sh"
DEB=$(realpath "${1:?usage: ansible.sh leadd_VERSION_ARCH.deb}")
cd "$(dirname "$0")/../.." || exit 1
REPO=$(pwd)
ANSIBLE_CORE=2.19.14
VENV=$REPO/.build/ansible-venv
if ! "$VENV/bin/ansible-playbook" --version 2>/dev/null | grep -q "core $ANSIBLE_CORE\]"; then
    rm -rf "$VENV"
    /usr/bin/python3 -m venv "$VENV" || fail "python3 -m venv (install python3-venv)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "ansible-core==$ANSIBLE_CORE" \
        || fail "pip install ansible-core==$ANSIBLE_CORE"
fi
pass "ansible-core $ANSIBLE_CORE in $VENV"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0 \
    ANSIBLE_INVENTORY_UNPARSED_WARNING=0 ANSIBLE_HOME="$REPO/.build/ansible-home"
PB="$VENV/bin/ansible-playbook"
PLAY=deploy/ansible/site.yml

$PB -i deploy/ansible/inventory.example.yml "$PLAY" --syntax-check >/dev/null 2>"$REPO/.build/ansible-syntax.err" \
    || fail "syntax-check: $(cat "$REPO/.build/ansible-syntax.err")"
pass "ansible-playbook --syntax-check"

scratch
R=$SCRATCH/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/log" "$R/etc" "$R/media/usb/leads"
: > "$R/var/lib/dpkg/status"
INV=$SCRATCH/inventory.yml
inventory() { # LANGUAGE OFFICE_SECRET
    cat > "$INV" <<YAML
all:
  children:
    kiosks:
      hosts:
        booth-a1:
          ansible_connection: local
          ansible_python_interpreter: $VENV/bin/python3
          ansible_become: false
          leadd_root: $R
          leadd_deb: $DEB
          leadd_event: expo-2026
          leadd_language: $1
          leadd_country: RU
          leadd_sinks:
            - {name: office, type: webhook, url: "https://leads.example.com/leadd", credential: leadd-office}
            - {name: usb, type: directory, directory: /media/usb/leads}
          leadd_serials:
            - {device: /dev/leadd-scanner-entrance, format: vcard}
          leadd_secrets:
            leadd-office: "$2"
            leadd-staff-pin: "246813"
          leadd_staff_pin_credential: leadd-staff-pin
YAML
}
run() { # LOG [ansible-playbook options]
    log=$1; shift
    $PB -i "$INV" "$PLAY" "$@" > "$log" 2>&1 || fail "ansible-playbook $*: $(tail -30 "$log")"
    changed=$(sed -n 's/^booth-a1 *: .*changed=\([0-9]*\).*/\1/p' "$log")
    [ -n "$changed" ] || fail "no recap in $log: $(tail -5 "$log")"
}
handler_ran() { grep -q 'RUNNING HANDLER \[leadd : Restart leadd' "$1"; }
decrypt() { SYSTEMD_CREDENTIAL_SECRET=$R/var/lib/systemd/credential.secret systemd-creds decrypt --name="$1" "$R/etc/credstore.encrypted/$1" - 2>/dev/null; }

inventory ru 'whsec_first'
run "$SCRATCH/run1.log"
[ "$changed" -gt 0 ] || fail "first run changed nothing"
handler_ran "$SCRATCH/run1.log" || fail "first run did not notify the restart handler"
[ "$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${db:Status-Status}' leadd)" = installed ] || fail "package not installed"
out=$("$R/usr/bin/leadctl" --config "$R/etc/leadd/leadd.conf" config check 2>&1) || fail "config check: $out"
for want in "event expo-2026" "kiosk booth-a1" "language ru, country RU" "office (webhook), usb (directory)"; do
    echo "$out" | grep -qF "$want" || fail "config check does not show '$want': $out"
done
grep -qx 'PINCredential=leadd-staff-pin' "$R/etc/leadd/leadd.conf.d/50-ansible.conf" || fail "no PINCredential"
grep -qx 'Device=/dev/leadd-scanner-entrance' "$R/etc/leadd/leadd.conf.d/50-ansible.conf" || fail "no [Serial]"
pass "run 1: package installed, kiosk config rendered from the inventory, leadctl config check: $(echo "$out" | head -1)"

for name in leadd-office leadd-staff-pin; do
    f=$R/etc/credstore.encrypted/$name
    [ "$(stat -c %a "$f")" = 600 ] || fail "$f mode $(stat -c %a "$f")"
    grep -q 'whsec_first\|246813' "$f" && fail "$f holds the secret in clear"
    systemd-creds decrypt --name="$name" "$f" - >/dev/null 2>&1 && fail "$f decrypts without the root's host key"
done
[ "$(decrypt leadd-office)" = whsec_first ] || fail "leadd-office does not decrypt to the secret"
[ "$(decrypt leadd-staff-pin)" = 246813 ] || fail "leadd-staff-pin does not decrypt to the PIN"
DROPIN=$R/etc/systemd/system/leadd.service.d/50-ansible.conf
for want in 'LoadCredentialEncrypted=leadd-office:/etc/credstore.encrypted/leadd-office' \
    'LoadCredentialEncrypted=leadd-staff-pin:/etc/credstore.encrypted/leadd-staff-pin' 'ReadWritePaths=-/media/usb/leads'; do
    grep -qxF "$want" "$DROPIN" || fail "unit drop-in lacks $want"
done
pass "run 1: secrets are systemd-creds encrypted with the root's host key (0600), unit drop-in loads them"

[ -f "$R/etc/systemd/system/leadd.service.d/console.conf" ] || fail "console kiosk not enabled"
systemd_base "$R"
verify_clean "$R" leadd.service "leadd.service with the playbook's drop-ins"
exposure_at_most "$R" leadd.service 2.0 "leadd.service with the playbook's drop-ins"

conf_sum=$(md5sum < "$R/etc/leadd/leadd.conf.d/50-ansible.conf")
cred_before=$(md5sum < "$R/etc/credstore.encrypted/leadd-office")
run "$SCRATCH/run2.log"
[ "$changed" = 0 ] || fail "second run changed $changed: $(grep '^changed:' "$SCRATCH/run2.log")"
handler_ran "$SCRATCH/run2.log" && fail "second run restarted leadd"
[ "$(md5sum < "$R/etc/credstore.encrypted/leadd-office")" = "$cred_before" ] || fail "second run re-encrypted a secret"
pass "run 2 (nothing changed): changed=0, no restart, credentials untouched"

inventory en 'whsec_first'
run "$SCRATCH/check.log" --check --diff
[ "$changed" -gt 0 ] || fail "--check did not report the language change"
grep -q '^+Language=en' "$SCRATCH/check.log" || fail "--diff does not show Language=en"
[ "$(md5sum < "$R/etc/leadd/leadd.conf.d/50-ansible.conf")" = "$conf_sum" ] || fail "--check changed the config"
pass "--check --diff with a new language: reports changed=$changed, shows +Language=en, changes nothing"

inventory ru 'whsec_second'
run "$SCRATCH/run3.log"
[ "$changed" = 1 ] || fail "new secret: changed=$changed, expected 1 (the credential): $(grep '^changed:' "$SCRATCH/run3.log")"
handler_ran "$SCRATCH/run3.log" || fail "a new secret did not restart leadd"
[ "$(decrypt leadd-office)" = whsec_second ] || fail "leadd-office not updated"
[ "$(md5sum < "$R/etc/leadd/leadd.conf.d/50-ansible.conf")" = "$conf_sum" ] || fail "a new secret changed the config"
grep -q whsec_second "$SCRATCH/run3.log" && fail "the secret appears in Ansible's output"
pass "run 3 (rotated secret): only the credential changed, restart notified, secret not in the output"

# --check against this very machine (leadd_root unset: the live path with apt): it must say what it would do
# and leave the system as it was.
snapshot() {
    for d in /etc/leadd /var/cache/leadd /etc/credstore /etc/credstore.encrypted /etc/systemd/system \
        /etc/sysctl.d /etc/systemd/logind.conf.d /etc/systemd/system.conf.d; do
        [ -e "$d" ] && find "$d" -printf '%p %T@ %s %l\n'
    done | sort | md5sum
}
cat > "$INV" <<YAML
all:
  children:
    kiosks:
      hosts:
        booth-live:
          ansible_connection: local
          ansible_python_interpreter: /usr/bin/python3
          ansible_become: false
          leadd_deb: $DEB
          leadd_event: expo-2026
          leadd_sinks:
            - {name: office, type: webhook, url: "https://leads.example.com/leadd", credential: leadd-office}
          leadd_secrets:
            leadd-office: "whsec_live"
YAML
before=$(snapshot)
log=$SCRATCH/live-check.log
$PB -i "$INV" "$PLAY" --check --diff > "$log" 2>&1 || fail "--check on this machine: $(tail -30 "$log")"
changed=$(sed -n 's/^booth-live *: .*changed=\([0-9]*\).*/\1/p' "$log")
[ -n "$changed" ] && [ "$changed" -gt 0 ] || fail "--check on this machine reported no change: $(tail -5 "$log")"
grep -q '^+Event=expo-2026' "$log" || fail "--check on this machine does not show the config it would write"
if ! dpkg-query -W -f='${db:Status-Status}' leadd 2>/dev/null | grep -qx installed; then
    grep -q 'would install leadd_' "$log" || fail "--check on this machine does not say it would install the package"
fi
grep -q '^+LoadCredentialEncrypted=leadd-office:/etc/credstore.encrypted/leadd-office' "$log" \
    || fail "--check before the install would not encrypt the credential (systemd-creds is here)"
[ "$(snapshot)" = "$before" ] || fail "--check changed this machine"
grep -q whsec_live "$log" && fail "the secret appears in --check output"
pass "--check --diff on this machine (apt path): changed=$changed reported, nothing written here"
