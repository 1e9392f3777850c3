"""Error texts of bounded size.

A device's error is stored in its DynamoDB result item (at most 400 KB, in a transaction that fails whole)
and returned to the caller. Exception messages may quote configuration lines of any length, so every error
text that reaches a result goes through ``bounded_error``; excerpts of config text are kept short because
configs hold secrets.
"""

# Characters, not bytes: 2,048 characters are at most 8 KB of UTF-8, far under the item limit.
MAX_ERROR_CHARS = 2_048
# How much of a quoted configuration line an error keeps.
EXCERPT_CHARS = 120
# How much of an exception's own message an error keeps.
DETAIL_CHARS = 300


def excerpt(text: str, keep: int = EXCERPT_CHARS) -> str:
    """``text`` itself when short enough, otherwise its first ``keep`` characters and its full length."""
    if len(text) <= keep:
        return text
    return f"{text[:keep]}... ({len(text)} characters)"


def quoted_excerpt(text: str, keep: int = EXCERPT_CHARS) -> str:
    """``text`` quoted, its length outside the quotes when shortened (so it does not read as config text)."""
    if len(text) <= keep:
        return repr(text)
    return f"{text[:keep]!r}... ({len(text)} characters)"


def exception_summary(exc: BaseException, keep: int = DETAIL_CHARS) -> str:
    """``Type: message`` with the message shortened to an excerpt (or the type alone when it has none)."""
    detail = str(exc)
    return f"{type(exc).__name__}: {excerpt(detail, keep)}" if detail else type(exc).__name__


def bounded_error(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``text`` in at most ``limit`` characters: the start (what failed) and the end (what to do) are kept,
    the middle is replaced by a note of the full length. The last guard before an error is stored."""
    if len(text) <= limit:
        return text
    marker = f" ... [shortened from {len(text)} characters] ... "
    room = limit - len(marker)
    if room < 2:
        return text[:limit]
    tail = room // 4
    return text[: room - tail] + marker + text[len(text) - tail :]
