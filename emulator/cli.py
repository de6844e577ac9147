"""``emulator.cli.main``: serve the API emulator in the foreground.

``[--port N] [--write-kubeconfig PATH] [--history-size N]``: starts an :class:`ApiServer`,
writes an admin kubeconfig (when asked), prints the URL and the kubeconfig path, and serves
until SIGINT or SIGTERM; then stops cleanly and returns 0. The operator's CLI exposes it as
``dbbackup-operator emulator``. Non-goals: daemonising, persistence.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from emulator.server import ApiServer
from emulator.storage import DEFAULT_HISTORY_SIZE

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emulator", description="Serve the Kubernetes API emulator on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, default=0, help="plain HTTP port (default: free)")
    parser.add_argument("--write-kubeconfig", metavar="PATH", help="write an admin kubeconfig")
    parser.add_argument(
        "--history-size",
        type=int,
        default=DEFAULT_HISTORY_SIZE,
        help="watch events retained per resource before 410 Gone",
    )
    return parser


def main(argv: list[str]) -> int:
    """Serve until SIGINT/SIGTERM; returns the exit code."""
    args = _parser().parse_args(argv)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with ApiServer(port=args.port, history_size=args.history_size) as server:
            out = sys.stdout
            out.write(f"Kubernetes API emulator serving at {server.url} ({server.secure_url})\n")
            if args.write_kubeconfig:
                path = server.write_kubeconfig(args.write_kubeconfig)
                out.write(f"kubeconfig: {path}\n")
                out.write(f"  export KUBECONFIG={path}\n")
            out.flush()
            stop.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
