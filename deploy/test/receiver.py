#!/usr/bin/python3
"""receiver.py DIR — a minimal webhook receiver on 127.0.0.1 for the sandbox test: writes its port to
DIR/port, every POST (headers and body) to DIR/post-N.txt, and answers 200 with an empty body (which accepts
every lead of the batch)."""
import http.server
import itertools
import os
import sys

OUT = sys.argv[1]
COUNTER = itertools.count(1)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(os.path.join(OUT, f"post-{next(COUNTER)}.txt"), "wb") as f:
            f.write(str(self.headers).encode() + b"\n" + body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(OUT, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(OUT, "port.tmp"), os.path.join(OUT, "port"))
server.serve_forever()
