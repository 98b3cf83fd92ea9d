#!/usr/bin/env python3
"""The sync drain written the obvious way, as the baseline for leadd's: read 100 pending leads from the leadd
database with sqlite3, build the protocol's batch with json, sign it (Standard Webhooks, hmac), POST it with
http.client over one kept-alive connection, mark the leads synced; repeat until nothing is pending.

usage: baseline_drain.py DATABASE URL SECRET_FILE SINK [BATCH_SIZE]
"""
import base64
import datetime
import hashlib
import hmac
import http.client
import json
import sqlite3
import sys
import time
import urllib.parse
import uuid


def iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def main():
    db_path, url, secret_file, sink = sys.argv[1:5]
    batch_size = int(sys.argv[5]) if len(sys.argv) > 5 else 100
    secret = open(secret_file).read().split()[0]
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    target = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(target.hostname, target.port)
    db = sqlite3.connect(db_path)
    sent = 0
    while True:
        rows = db.execute(
            """SELECT l.seq, l.lead_id, l.revision, l.captured_at, l.channel, l.fields, l.consent_given,
                      l.consent_sha256, l.consent_language, l.consent_at, l.rating, l.notes, l.badge_id, l.duplicate_of
               FROM deliveries d JOIN leads l ON l.seq = d.lead_seq
               WHERE d.sink = ? AND d.state = 'pending' LIMIT ?""",
            (sink, batch_size),
        ).fetchall()
        if not rows:
            break
        leads = []
        for r in rows:
            leads.append({
                "lead_id": r[1], "revision": r[2], "captured_at": iso(r[3]), "channel": r[4],
                "fields": json.loads(r[5]),
                "consent": None if r[6] is None else {
                    "given": bool(r[6]), "text_sha256": r[7], "language": r[8], "at": iso(r[9] or r[3])},
                "rating": r[10], "notes": r[11], "badge_id": r[12], "duplicate_of": r[13],
            })
        batch_id = str(uuid.uuid4())
        body = json.dumps({
            "type": "leads.batch", "schema_version": 1, "batch_id": batch_id,
            "created_at": iso(int(time.time() * 1000)),
            "source": {"kiosk_id": "baseline", "event_id": "expo-2026", "app_version": "baseline"},
            "leads": leads,
        }, ensure_ascii=False).encode()
        ts = str(int(time.time()))
        signature = base64.b64encode(
            hmac.new(key, batch_id.encode() + b"." + ts.encode() + b"." + body, hashlib.sha256).digest()).decode()
        conn.request("POST", target.path, body, {
            "Content-Type": "application/json; charset=utf-8", "webhook-id": batch_id, "webhook-timestamp": ts,
            "webhook-signature": "v1," + signature, "Idempotency-Key": '"%s"' % batch_id,
            "User-Agent": "baseline-drain",
        })
        response = conn.getresponse()
        answer = response.read()
        if response.status != 200:
            sys.exit("HTTP %d: %s" % (response.status, answer[:200]))
        remote = {r["lead_id"]: r.get("remote_id") for r in json.loads(answer)["results"]}
        now = int(time.time() * 1000)
        with db:
            db.executemany(
                "UPDATE deliveries SET state = 'synced', remote_id = ?, synced_at = ? WHERE sink = ? AND lead_seq = ?",
                [(remote.get(r[1]), now, sink, r[0]) for r in rows])
        sent += len(rows)
    print(sent)


if __name__ == "__main__":
    main()
