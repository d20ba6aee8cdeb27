#!/usr/bin/python3
"""A file server on loopback for the service's URL tests: serves FOLDER, answers
/redirect?to=URL with a 302 to URL, and writes the port it took to PORT_FILE once listening.
A POST (a callback) is kept as FOLDER/posts/N.json ({"path", "headers", "body"}, N counting
from 1) and answered 500 while fewer than ?fail=K posts came to that path, 204 after.

    file_server.py FOLDER PORT_FILE [HOST]
"""
import functools
import http.server
import json
import os
import socket
import sys
import threading
import urllib.parse

posts_lock = threading.Lock()
posts_seen = {}  # path -> count


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/redirect":
            to = urllib.parse.parse_qs(url.query).get("to", [""])[0]
            self.send_response(302)
            self.send_header("Location", to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        fail = int(urllib.parse.parse_qs(url.query).get("fail", ["0"])[0])
        folder = os.path.join(self.directory, "posts")
        with posts_lock:
            os.makedirs(folder, exist_ok=True)
            seen = posts_seen.get(url.path, 0)
            posts_seen[url.path] = seen + 1
            number = len(os.listdir(folder)) + 1
            record = {"path": self.path, "headers": dict(self.headers.items()),
                      "body": body.decode("utf-8", "replace")}
            with open(os.path.join(folder, f"{number}.json.tmp"), "w") as f:
                json.dump(record, f)
            os.rename(os.path.join(folder, f"{number}.json.tmp"),
                      os.path.join(folder, f"{number}.json"))
        self.send_response(500 if seen < fail else 204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    def __init__(self, address, handler):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler)


def main():
    folder, port_file = sys.argv[1], sys.argv[2]
    host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
    server = Server((host, 0), functools.partial(Handler, directory=folder))
    with open(port_file + ".tmp", "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
