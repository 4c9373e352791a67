"""A small webhook receiver that `touchpoint demo` starts beside the server, so the demo's
deliveries have somewhere to go: it checks each signature as any receiver would and counts what
came, saying so for the first delivery and for every refused one (a quiet terminal keeps the demo's
passwords in view). Not for production: a real receiver is your own system."""

import http.server
import json
import threading

from server.followup.webhooks import SIGNATURE_HEADER, verify

PATH = "/touchpoint-demo"


class DemoReceiver:
    def __init__(self, secret: str, host: str = "127.0.0.1", port: int = 0, say=print):
        self.secret, self.received, self.say, self.lock = secret, 0, say, threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                good = self.path == PATH and verify(receiver.secret, self.headers.get(SIGNATURE_HEADER, ""), body)
                self.send_response(204 if good else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver.lock:
                    receiver.received += good
                    first = good and receiver.received == 1
                try:
                    event = json.loads(body).get("event", "?")
                except ValueError:
                    event = "not JSON"
                if not good or first:
                    more = " (further deliveries are counted quietly: /manage/webhooks lists them)" if good else ""
                    receiver.say(f"webhook receiver: {event} {'(signature verified)' if good else '(REFUSED: bad signature)'}{more}")

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer((host, port), Handler)
        self.url = f"http://{host}:{self.httpd.server_port}{PATH}"

    def start(self) -> "DemoReceiver":
        threading.Thread(target=self.httpd.serve_forever, name="touchpoint-demo-receiver", daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
