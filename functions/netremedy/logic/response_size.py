"""How many bytes a value takes in the response Lambda returns for an API call.

The resolver writes a response body as compact UTF-8 JSON (``response_json``). Lambda's python3.12 runtime
then writes the proxy result, whose ``body`` is that JSON as a string, as UTF-8 JSON again, so every quote,
backslash and control character of the body is escaped a second time. Lambda refuses a response over 6 MB
(6,291,456 bytes): size checks count these bytes, not characters (a JSON encoder with ensure_ascii would
have turned each CJK character into 7 bytes).
"""

import json
from typing import Any

from pydantic import BaseModel


def response_json(value: Any) -> str:
    """The API's JSON: UTF-8 text as it is, no whitespace (the resolver's serializer)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def response_bytes(model: BaseModel) -> int:
    """Bytes ``model`` adds to the response Lambda returns: its JSON as it appears, escaped, inside the body
    string of the proxy result."""
    body = response_json(model.model_dump(mode="json"))
    return len(json.dumps(body, ensure_ascii=False).encode("utf-8")) - len('""')
