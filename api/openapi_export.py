"""`make openapi`: the OpenAPI document the API serves at /openapi.json, written to
docs/openapi.json so that the repository holds it too (a test checks that they are equal).

    python -m api.openapi_export            # write docs/openapi.json
    python -m api.openapi_export --check    # exit 1 if docs/openapi.json is not up to date
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path
from typing import Any

from api.app import create_app
from api.auth import Authenticator
from settings import REPO_ROOT, Settings

OPENAPI_PATH = REPO_ROOT / "docs" / "openapi.json"


def served_document() -> dict[str, Any]:
    """The document as the app builds it (neither settings nor the token check change it)."""
    app = create_app(Settings(), Authenticator.with_secret(secrets.token_urlsafe(32)))
    return app.openapi()


def render(document: dict[str, Any]) -> str:
    """Stable text for review: two-space indent, Vietnamese kept, a final newline."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.openapi_export", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--output", type=Path, default=OPENAPI_PATH)
    args = parser.parse_args(argv)
    text = render(served_document())
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is not the served document: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
