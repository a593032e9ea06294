"""`sga`: the project's command-line tool.

Each concern registers its own sub-commands (`register(subparsers)`), so this module only wires them.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional


def build_parser() -> argparse.ArgumentParser:
    from sga_tools import nlp, outcomes_cli, runner, teams_package, training_cli, usage

    parser = argparse.ArgumentParser(prog="sga", description="Safeguarding guidance assistant tools.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    nlp.register(subparsers)
    outcomes_cli.register(subparsers)
    runner.register(subparsers)
    teams_package.register(subparsers)
    training_cli.register(subparsers)
    usage.register(subparsers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:  # `sga export | head`: the reader has gone, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # one line for people, never a traceback
        print(f"sga {args.command}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
