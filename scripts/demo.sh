#!/usr/bin/env bash
# A short scripted tour of leadctl on a throwaway database in ./leadd-demo/tour/ (`make tour`).
set -euo pipefail
bin=${1:-.build/debug}
dir=leadd-demo/tour
mkdir -p "$dir"
cat > "$dir/leadd.conf" <<CONF
[Kiosk]
ID=demo-kiosk
Event=demo-expo
DataDirectory=$PWD/$dir
Country=RU
CONF
run() { printf '\n\033[1m$ leadctl %s\033[0m\n' "$*"; "$bin/leadctl" --config "$dir/leadd.conf" "$@"; }
run add first_name=Анна last_name=Петрова email=Anna@Example.RU phone="8 916 123-45-67" company="ООО Ромашка" --consent --rating hot
run add first_name=John email=john@example.com phone="+1 415 555 2671" interest=pricing --consent
run add first_name=Анна email=anna@example.ru --consent
run list
run stats --cost 1500
run export --format csv
run status
printf '\nThe database is %s/leads.sqlite3; try: %s/leadctl --config %s/leadd.conf show <ID>\n' "$dir" "$bin" "$dir"
