#!/usr/bin/env python3
"""A real SMTP server for the mail end-to-end test: aiosmtpd (PyPI) on a free
local port, saving every message it accepts into a directory.

Each message becomes two files, written atomically (temporary name, then
rename) so a reader never sees half a message:
  NNNN.eml   the message exactly as delivered;
  NNNN.json  {"mail_from", "rcpt_tos", "from", "to", "subject", "text", "html"}
             with the text and HTML parts decoded (quoted-printable or base64
             undone), so a test can read a link without parsing MIME.

Usage: smtp_sink.py DIR [--port N]. Prints the port on stdout once listening,
then serves until SIGTERM or SIGINT.
"""
import argparse
import email
import email.policy
import json
import os
import signal
import socket
import sys
import threading

from aiosmtpd.controller import Controller


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parts(msg):
    """The first text/plain and text/html bodies, decoded."""
    text = html = None
    for part in msg.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and text is None:
            text = part.get_content()
        elif kind == "text/html" and html is None:
            html = part.get_content()
    return text, html


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    def write(self, name, data):
        tmp = os.path.join(self.directory, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(self.directory, name))

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        text, html = parts(msg)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "from": str(msg.get("From", "")),
            "to": str(msg.get("To", "")),
            "subject": str(msg.get("Subject", "")),
            "text": text,
            "html": html,
        }
        with self.lock:
            self.count += 1
            n = self.count
        self.write(f"{n:04d}.eml", raw)
        self.write(f"{n:04d}.json", json.dumps(record, indent=2).encode())
        return "250 Message accepted for delivery"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    port = args.port or free_port()
    controller = Controller(Sink(args.dir), hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
