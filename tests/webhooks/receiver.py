"""A webhook receiver for Frontdesk's end-to-end test (crates/frontdesk/tests/webhooks.rs).

Verifies every delivery with the independent Standard Webhooks implementation from PyPI
(`standardwebhooks`), and writes one JSON line per request to the log file:
{"path", "id", "attempt", "status", "verified", "payload"}.

  POST /hooks  fails the first FAILS attempts of each webhook-id with 500, then answers 204
  POST /gone   always answers 410 Gone

Usage: python receiver.py SECRET LOG_FILE FAILS. Prints "listening PORT" once ready.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET, LOG, FAILS = sys.argv[1], sys.argv[2], int(sys.argv[3])
verifier = Webhook(SECRET)
attempts = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            payload = verifier.verify(body, headers)
            verified = True
        except WebhookVerificationError:
            payload = None
            verified = False
        msg_id = headers.get("webhook-id")
        with lock:
            attempt = attempts[(self.path, msg_id)] = attempts.get((self.path, msg_id), 0) + 1
            if not verified:
                status = 401
            elif self.path == "/gone":
                status = 410
            elif attempt <= FAILS:
                status = 500
            else:
                status = 204
            with open(LOG, "a", encoding="utf-8") as log:
                log.write(json.dumps({
                    "path": self.path,
                    "id": msg_id,
                    "attempt": attempt,
                    "status": status,
                    "verified": verified,
                    "payload": payload,
                }) + "\n")
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()
