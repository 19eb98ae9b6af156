"""A stand-in webhook receiver: logs each Alertmanager notification.

docker-compose.yml runs it as the "webhook" service so the stack shows its
alerts end to end without any outside service; replace the receiver's URL in
alertmanager.yml with your own endpoint to send them somewhere real.

    python alertmanager/webhook_logger.py [--port 8080]

POST any path with Alertmanager's webhook JSON: one log line per alert.
GET answers 200 (the health check).
"""

from __future__ import annotations

import argparse
import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger("webhook")

_MAX_BODY = 1 << 20


def describe(notification: dict) -> list[str]:
    """One line per alert of an Alertmanager webhook notification."""
    lines = []
    for alert in notification.get("alerts", []):
        labels = alert.get("labels", {})
        annotations = alert.get("annotations", {})
        lines.append(
            "{status} {severity} {name}: {summary}".format(
                status=alert.get("status", "?").upper(),
                severity=labels.get("severity", "-"),
                name=labels.get("alertname", "?"),
                summary=annotations.get("summary", ""),
            )
        )
    return lines


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        self._reply(200, b"ok\n")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self._reply(413, b"too large\n")
            return
        try:
            notification = json.loads(self.rfile.read(length))
        except ValueError:
            self._reply(400, b"not JSON\n")
            return
        for line in describe(notification):
            log.info("%s", line)
        self._reply(200, b"ok\n")

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per alert is logged instead of one per request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    server = ThreadingHTTPServer((args.host, args.port), _Handler)
    log.info("listening on http://%s:%d", args.host, server.server_port)
    server.serve_forever()


if __name__ == "__main__":
    main()
