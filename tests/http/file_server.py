#!/usr/bin/python3
"""A file server on loopback for the service's URL tests: serves FOLDER, answers
/redirect?to=URL with a 302 to URL, and writes the port it took to PORT_FILE once listening.

    file_server.py FOLDER PORT_FILE [HOST]
"""
import functools
import http.server
import socket
import sys
import urllib.parse


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
    import os
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
