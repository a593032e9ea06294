"""The action server: rasa-sdk's Sanic app, with the checks rasa-sdk 3.6 leaves out.

- Rasa sends the endpoint token as `?token=...`; rasa-sdk does not check it, so this server refuses
  every call without the configured token (401), whatever the path (Sanic also routes `/webhook/`
  to `/webhook`), except the health check.
- Unknown paths and wrong methods get a plain 404 or 405, never a traceback.
- Malformed or non-object JSON gets a 400, never a 500.
- Errors are logged without echoing the request body (it holds the conversation).
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging

from rasa_sdk.endpoint import create_app
from sanic import response
from sanic.exceptions import SanicException

from sga.settings import load_settings

logger = logging.getLogger(__name__)
ACTIONS_PACKAGE = "actions"
PUBLIC_PATHS = frozenset({"/health"})


def build_app(token: str):
    if not token:
        raise SystemExit("ACTION_SERVER_TOKEN is empty: refusing to start an unauthenticated action server")
    app = create_app(ACTIONS_PACKAGE, cors_origins=None)

    @app.middleware("request")
    async def check_request(request):
        if _normal_path(request.path) in PUBLIC_PATHS:
            return None
        given = request.args.get("token", "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            return response.json({"error": "missing or wrong token"}, status=401)
        if request.method == "POST":
            try:
                body = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError):
                return response.json({"error": "body is not valid JSON"}, status=400)
            if not isinstance(body, dict) or not isinstance(body.get("tracker"), dict):
                return response.json({"error": "body must be an action call object"}, status=400)
            request.parsed_json = body  # rasa-sdk reads request.json: the body (the tracker) is parsed once
        return None

    @app.exception(SanicException)
    async def on_http_error(request, exception):
        status = getattr(exception, "status_code", 500) or 500
        if status >= 500:
            logger.error("action server error on %s", _normal_path(request.path), exc_info=exception)
            return response.json({"error": "internal error in the action server"}, status=500)
        return response.json({"error": "not found" if status == 404 else "request refused"}, status=status)

    @app.exception(Exception)
    async def on_error(request, exception):
        logger.error("action server error on %s", request.path, exc_info=exception)
        return response.json({"error": "internal error in the action server"}, status=500)

    return app


def _normal_path(path: str) -> str:
    """`/webhook`, `/webhook/` and `//webhook` are one route to Sanic: compare them as one."""
    return "/" + "/".join(part for part in path.split("/") if part)


def main() -> None:
    settings = load_settings()
    parser = argparse.ArgumentParser(description="Run the action server.")
    parser.add_argument("--host", default=settings.action_server_host)
    parser.add_argument("--port", type=int, default=int(settings.action_server_port))
    args = parser.parse_args()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = build_app(settings.action_server_token)
    logger.info("action server listening on http://%s:%s", args.host, args.port)
    app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()
