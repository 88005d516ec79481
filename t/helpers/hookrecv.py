#!/usr/bin/env python3
"""hookrecv: a loopback HTTP receiver for the notification tests.

usage: hookrecv.py DIR [PORT]

Listens on 127.0.0.1:PORT (0, the default, lets the kernel choose) and
writes the port to DIR/port once it listens.  Each request N (1, 2, ...)
is recorded as DIR/N.path, DIR/N.headers ("Name: value" lines), DIR/N.body
and DIR/N.time (seconds since the epoch, when it arrived), and a line
"N METHOD PATH" is appended to DIR/log after the other files are written.

How to answer is read per request: the first line of DIR/script is taken
(and removed) when that file has lines, else DIR/mode, else "200":
    200, 500, ... answer that status, with a short body
    hang          read the request, answer nothing until DIR/release
                  exists (at most 60 s), then close
    close         close the connection without an answer
    garbage       answer bytes that are not HTTP, then close
    huge          answer 200 with a 4 MiB body
Stops on SIGTERM, or by itself after 600 s.
"""

import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 0
LOCK = threading.Lock()
COUNT = [0]


def next_mode():
    """The answer for this request (DIR/script, then DIR/mode)."""
    script = os.path.join(DIR, "script")
    with LOCK:
        try:
            with open(script) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        if lines:
            with open(script + ".tmp", "w") as f:
                f.write("".join(line + "\n" for line in lines[1:]))
            os.replace(script + ".tmp", script)
            return lines[0].strip()
    try:
        with open(os.path.join(DIR, "mode")) as f:
            return f.read().strip() or "200"
    except FileNotFoundError:
        return "200"


def write(name, data):
    with open(os.path.join(DIR, name), "wb") as f:
        f.write(data)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        arrived = time.time()
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length > 0 else b""
        with LOCK:
            COUNT[0] += 1
            n = COUNT[0]
        write("%d.path" % n, self.path.encode())
        write("%d.headers" % n, "".join("%s: %s\n" % (k, v)
              for k, v in self.headers.items()).encode())
        write("%d.body" % n, body)
        write("%d.time" % n, ("%.3f\n" % arrived).encode())
        with LOCK:
            with open(os.path.join(DIR, "log"), "a") as f:
                f.write("%d %s %s\n" % (n, self.command, self.path))
        mode = next_mode()
        if mode == "hang":
            end = time.time() + 60
            while time.time() < end and \
                    not os.path.exists(os.path.join(DIR, "release")):
                time.sleep(0.05)
            self.close_connection = True
            return
        if mode == "close":
            self.close_connection = True
            return
        if mode == "garbage":
            self.wfile.write(b"\x00\xffNOT HTTP AT ALL\r\n\r\n")
            self.close_connection = True
            return
        if mode == "huge":
            size = 4 * 1024 * 1024
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(size // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass
            self.close_connection = True
            return
        code = int(mode)
        reply = ("status %d\n" % code).encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply)
        self.close_connection = True


def main():
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    server.daemon_threads = True
    write("port.tmp", ("%d\n" % server.server_address[1]).encode())
    os.replace(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    threading.Timer(600, lambda: os._exit(0)).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
