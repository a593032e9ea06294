"""`make bench`: the assistant side by side with the stock `rasa init` bot (issue 15).

In one run, on 127.0.0.1 only, one server at a time so they do not share the cores:

1. training time: the assistant's full `rasa train --force` into a temporary folder, and the stock
   bot made and trained by `rasa init --no-prompt` in a temporary folder (same venv);
2. the assistant as `make run` starts it (`sga_tools.runner.Stack`, throwaway SQLite databases as in
   the tests, generous rate limits), then the stock bot served by `rasa run --enable-api`;
3. for each: start-to-ready time, then the same asyncio + aiohttp load generator over REST: one user
   (p50/p95/p99), 20 and 50 concurrent conversations (msg/s, p50/p95/p99, errors), while every
   process and its children are sampled for RSS (VmRSS, VmHWM).

It prints a table with the ratios to the stock bot and the targets met or missed, and writes JSON and
markdown to bench-results/ (git-ignored). Every request loop is bounded in count and in time.

Plugging in another way of running the assistant (e.g. several Rasa servers behind a balancer):
`python -m tests.bench --assistant package.module:factory`, where

    factory(settings: sga.settings.Settings, model: Path, log_dir: Path) -> Server

and a `Server` (see `tests.bench.servers.Server`; `sga_tools.runner.Stack` is one) has

    start() -> Server       start everything, return once it answers (raise if it cannot)
    stop() -> None          stop everything it started
    rasa_url: str           base URL the REST channel is under (/webhooks/rest/webhook)
    processes: list         the subprocess.Popen objects it started; their children (Sanic workers,
                            forked servers) are found and measured too

The settings handed to the factory already carry free ports, throwaway SQLite URLs, tokens and the
bench's rate limits; a factory may replace what it needs (PostgreSQL URLs, the production endpoints).
"""
