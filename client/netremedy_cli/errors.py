"""The one exception type the CLI turns into a single stderr line and an exit code, never a traceback."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

EXIT_OK = 0
EXIT_DEVICES_FAILED = 1
EXIT_USAGE = 2


class CliError(Exception):
    """An expected failure (bad input, unreachable API, API error): reported as one line, exit code 2."""

    exit_code = EXIT_USAGE

    def line(self) -> str:
        """The message as one line: a stray newline would break "one line on stderr" for scripts."""
        return " ".join(str(self).split())


@dataclass(frozen=True)
class FieldError:
    """One entry of the API's ``details``: which request field is wrong and why."""

    field: str
    message: str


class ApiError(CliError):
    """The API answered with an error body ``{"error", "message", "details"}``."""

    def __init__(self, status: int, code: str, message: str, details: Sequence[FieldError] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details)

    def line(self, describe_field: Callable[[str], str | None] | None = None) -> str:
        """The message, then each field it does not already name; ``describe_field`` may say where a field
        came from (the API numbers the merged device list, the user thinks in files)."""
        text = self.message or self.code or f"HTTP {self.status}"
        missing = [detail.field for detail in self.details if detail.field and detail.field not in text]
        if missing:
            text += f" (fields: {', '.join(missing)})"
        if describe_field is not None:
            origins = [origin for detail in self.details if (origin := describe_field(detail.field))]
            if origins:
                text += f" [{'; '.join(dict.fromkeys(origins))}]"
        return " ".join(text.split())
