"""``nas dashboard``: open a run folder in optuna-dashboard — its study, its trials' YAML artifacts and a note
with its settings.

    nas dashboard runs/my-study                 # then open the printed URL
    nas dashboard runs/my-study --port 8081 --host 0.0.0.0

Storage from RUN_DIR/run.json (else sqlite:///RUN_DIR/study.db), artifacts from RUN_DIR/artifacts. Needs
optuna-dashboard. Ctrl-C stops the server.
"""
from __future__ import annotations

import argparse
from typing import Any

from nas.cli.common import CliError, port

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("dashboard", help="serve a run in optuna-dashboard",
                       description="Serve a run directory's study in optuna-dashboard.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory, e.g. runs/<study>")
    p.add_argument("--port", type=port, default=8080, help="port to listen on (default: %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument("--no-note", action="store_true",
                   help="don't write the run's settings as the study note (it is written only when there is none)")
    p.set_defaults(run=run, prog=p.prog)
    return p


def run(args: argparse.Namespace) -> int:
    from nas.report.dashboard import serve_dashboard

    try:
        serve_dashboard(args.run_dir, host=args.host, port=args.port, note=not args.no_note,
                        echo=lambda line: print(line, flush=True))
    except (ValueError, ImportError) as exc:
        raise CliError(exc) from None
    except OSError as exc:
        raise CliError(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        pass
    return 0
