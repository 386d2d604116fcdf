"""One API process of `make run`: the app `uvicorn --factory api.app:process_app` serves
(`api.app.uvicorn_argv`), on a listening socket that dev.run opened and handed down (`--fd`), so
that several API processes share one port and it stays open while one of them restarts.

Not uvicorn's own `--fd`: it takes the descriptor for a Unix socket, and asyncio then leaves
TCP_NODELAY off on every connection, which adds the delayed-ACK wait to small responses."""

from __future__ import annotations

import argparse
import socket

import uvicorn

from api.app import GRACEFUL_SHUTDOWN_S


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m dev.api_process", description=__doc__)
    parser.add_argument("--fd", type=int, required=True, help="an inherited listening socket")
    args = parser.parse_args()
    listening = socket.socket(fileno=args.fd)  # the family (AF_INET) read from the socket
    config = uvicorn.Config(
        "api.app:process_app", factory=True, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S
    )
    uvicorn.Server(config).run(sockets=[listening])


if __name__ == "__main__":
    main()
