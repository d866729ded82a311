#!/usr/bin/env python
"""Open a search run in optuna-dashboard: its study, its trials' YAML artifacts and a note with its settings.

    python scripts/dashboard.py runs/my-study                 # then open the printed URL
    python scripts/dashboard.py runs/my-study --port 8081 --host 0.0.0.0

Storage from RUN_DIR/run.json (else sqlite:///RUN_DIR/study.db), artifacts from RUN_DIR/artifacts.
Needs optuna-dashboard (pip install optuna-dashboard). Ctrl-C stops the server.
"""
from __future__ import annotations

import sys

from nas.cli import OneLineParser


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(description="Serve a run directory's study in optuna-dashboard.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory, e.g. runs/<study>")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default: %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument("--no-note", action="store_true",
                   help="don't write the run's settings as the study note (it is written only when there is none)")
    args = p.parse_args(argv)
    if not 0 < args.port < 65536:
        p.fail(f"--port must be 1–65535, got {args.port}")

    from nas.report import serve_dashboard

    try:
        serve_dashboard(args.run_dir, host=args.host, port=args.port, note=not args.no_note,
                        echo=lambda line: print(line, flush=True))
    except (ValueError, ImportError) as exc:
        p.fail(exc)
    except OSError as exc:
        p.fail(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
