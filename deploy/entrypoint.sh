#!/bin/sh
# The image's entry point (deploy/Containerfile): `worker`, `api` or `migrate`; anything else is
# run as given (`python -m db.rebuild`, `temporal operator ...`). `exec` makes the Python process
# PID 1, so that it receives the SIGTERM of a rolling upgrade itself and stops within its bound.
set -eu
cd "$(dirname "$0")/.."  # the tree the package is installed from (/app in the image)

command="${1:-api}"
[ "$#" -gt 0 ] && shift
case "$command" in
    worker)
        exec python worker.py "$@"
        ;;
    api)
        # As api.app.uvicorn_argv runs it (tests/deploy check the flags), on all interfaces;
        # uvicorn trusts the proxy headers of FORWARDED_ALLOW_IPS (the ingress' addresses).
        exec python -m uvicorn --factory api.app:process_app \
            --host 0.0.0.0 --port "${MOTCUA_API_PORT:-8000}" \
            --timeout-graceful-shutdown 5 --proxy-headers "$@"
        ;;
    migrate)
        exec python -m db.migrate "$@"
        ;;
    *)
        exec "$command" "$@"
        ;;
esac
