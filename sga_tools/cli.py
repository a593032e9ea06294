"""`sga`: the project's command-line tool.

Each concern registers its own sub-commands (`register(subparsers)`), so this module only wires them.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def build_parser() -> argparse.ArgumentParser:
    from sga_tools import nlp, outcomes_cli, runner, teams_package

    parser = argparse.ArgumentParser(prog="sga", description="Safeguarding guidance assistant tools.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    nlp.register(subparsers)
    outcomes_cli.register(subparsers)
    runner.register(subparsers)
    teams_package.register(subparsers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
