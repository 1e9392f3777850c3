"""Write the API's OpenAPI 3 document to docs/openapi.json, or with --check, fail if it is out of date.

The document is generated from the code (the pydantic models and the route decorators); keeping a copy
in the repository lets reviewers see API changes in a diff and lets clients read it without a deployment.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from netremedy.models.settings import required_variables

OUTPUT = Path(__file__).resolve().parent / "openapi.json"


def render() -> str:
    """The document as checked in: sorted keys and a fixed indent, so diffs show only real changes."""
    # Handlers check the settings when imported; the document needs none of them, only placeholders.
    for name in required_variables():
        os.environ.setdefault(name, "unused-by-the-openapi-document")
    from netremedy.handlers.api_docs import openapi_json

    return json.dumps(json.loads(openapi_json()), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write docs/openapi.json from the code.")
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/openapi.json is out of date")
    args = parser.parse_args(argv)
    document = render()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else None
        if current != document:
            print("docs/openapi.json is out of date with the code: run `make openapi`")
            return 1
        return 0
    OUTPUT.write_text(document, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
