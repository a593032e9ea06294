"""The web chat page: a small static file server for the widget built in web/dist/.

    python -m sga_tools.webchat [--host 127.0.0.1] [--port 8080] [--rasa-url http://localhost:5005]

It serves web/dist/ (index.html, widget.js, widget.css, page.css; built by scripts/setup-web.sh)
and `/config.js`, which tells the widget where Rasa's socket.io channel is. Nothing else: no
directory listings, no other methods than GET and HEAD, no files outside web/dist/, no source maps
or dotfiles (the build stamp), and a 400 for a path with a NUL or control character. Every response
carries a Content-Security-Policy that lets the page load only its own files and talk only to the
Rasa server, so nothing leaves the machine.

Defaults come from the settings: WEBCHAT_HOST (127.0.0.1), WEBCHAT_PORT (8080), and
http://RASA_HOST:RASA_PORT for Rasa (0.0.0.0 becomes localhost).
The page's origin (for example http://localhost:8080) must be in the Rasa server's `--cors`
(RASA_CORS_ORIGINS) for the socket.io long-polling fallback.

The widget talks to the socket.io channel in rasa_addons/channels/socketio.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import Optional
from urllib.parse import unquote, urlsplit

from sga.settings import PROJECT_ROOT, load_settings

DIST_DIR = PROJECT_ROOT / "web" / "dist"
# Never served, even when the build leaves them in web/dist: source maps (they carry the source)
# and build stamps (.sga-built; any dotfile).
HIDDEN_SUFFIXES = (".map",)


def default_rasa_url(settings) -> str:
    host = settings.rasa_host
    if host in ("0.0.0.0", "::", ""):
        host = "localhost"  # a browser cannot connect to the wildcard address
    return f"http://{host}:{settings.rasa_port}"


def check_rasa_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {url!r}")
    if parts.query or parts.fragment or any(c in url for c in " \"'<>;\\"):
        raise argparse.ArgumentTypeError(f"the Rasa URL must be plain scheme://host:port[/path]: {url!r}")
    return url.rstrip("/")


def config_script(rasa_url: str, socket_path: str = "/socket.io") -> bytes:
    config = {"socketUrl": rasa_url, "socketPath": socket_path}
    # json.dumps output is a valid JS literal; escape "<" so it could also be inlined in HTML.
    body = json.dumps(config).replace("<", "\\u003c")
    return f"window.SGA_CONFIG = {body};\n".encode()


def content_security_policy(rasa_url: str) -> str:
    parts = urlsplit(rasa_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    ws_origin = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {origin} {ws_origin}; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'self'"
    )


class Handler(SimpleHTTPRequestHandler):
    """Static files from web/dist plus /config.js; GET and HEAD only."""

    server_version = "sga-webchat"
    sys_version = ""
    rasa_url = "http://localhost:5005"

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".html": "text/html; charset=utf-8",
    }

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", content_security_policy(self.rasa_url))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def send_head(self):
        path = urlsplit(self.path).path
        if path == "/config.js":
            body = config_script(self.rasa_url)
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/javascript; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return BytesIO(body)
        if path == "/favicon.ico":  # the page declares no icon; answer quietly instead of 404
            self.send_response(HTTPStatus.NO_CONTENT)
            self.end_headers()
            return None
        decoded = unquote(path)
        if any(ord(c) < 0x20 or c == "\x7f" for c in decoded):  # NUL and other controls: no such file
            self.send_error(HTTPStatus.BAD_REQUEST)
            return None
        name = decoded.rsplit("/", 1)[-1]
        if (path.endswith("/") and path != "/") or name.startswith(".") or name.endswith(HIDDEN_SUFFIXES):
            self.send_error(HTTPStatus.NOT_FOUND)
            return None
        return super().send_head()

    def list_directory(self, path):  # no directory listings
        self.send_error(HTTPStatus.NOT_FOUND)
        return None

    def _refuse(self) -> None:
        self.send_error(HTTPStatus.METHOD_NOT_ALLOWED)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def log_message(self, format: str, *args) -> None:  # request line and status only, never bodies
        line = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in format % args)
        sys.stderr.write(f"webchat {self.address_string()} {line}\n")


def make_server(host: str, port: int, rasa_url: str, directory: Path = DIST_DIR) -> ThreadingHTTPServer:
    if not (directory / "index.html").exists() or not (directory / "widget.js").exists():
        raise FileNotFoundError(f"the web widget is not built in {directory}: run scripts/setup-web.sh")
    handler = type("ConfiguredHandler", (Handler,), {"rasa_url": check_rasa_url(rasa_url)})
    server = ThreadingHTTPServer((host, port), partial(handler, directory=str(directory)))
    server.daemon_threads = True
    return server


def serve_in_thread(host: str, port: int, rasa_url: str) -> ThreadingHTTPServer:
    """Start the server on a daemon thread (for tests and embedding); stop with `.shutdown()`."""
    server = make_server(host, port, rasa_url)
    threading.Thread(target=server.serve_forever, name="webchat", daemon=True).start()
    return server


def main(argv: Optional[list] = None) -> int:
    settings = load_settings()
    parser = argparse.ArgumentParser(prog="python -m sga_tools.webchat", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=settings.webchat_host, help="interface to bind (default: WEBCHAT_HOST)")
    parser.add_argument("--port", type=int, default=int(settings.webchat_port), help="port (default: WEBCHAT_PORT)")
    parser.add_argument(
        "--rasa-url",
        type=check_rasa_url,
        default=None,
        help="Rasa server URL as the browser reaches it (default: http://RASA_HOST:RASA_PORT)",
    )
    args = parser.parse_args(argv)
    rasa_url = args.rasa_url or check_rasa_url(default_rasa_url(settings))
    try:
        server = make_server(args.host, args.port, rasa_url)
    except (FileNotFoundError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    shown = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
    print(f"Web chat: http://{shown}:{server.server_address[1]}/  (talks to {rasa_url}/socket.io)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
