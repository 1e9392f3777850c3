"""hier_config's MatchRule shape, shared by tag rules (``models.options``) and risk rules (``models.risks``)."""

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

MAX_MATCH_TEXTS = 100

MatchText = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class MatchRule(BaseModel):
    """hier_config's MatchRule: every criterion that is set must match a line (at its level of the tree)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    equals: MatchText | list[MatchText] | None = Field(default=None, max_length=MAX_MATCH_TEXTS)
    startswith: MatchText | list[MatchText] | None = Field(default=None, max_length=MAX_MATCH_TEXTS)
    endswith: MatchText | list[MatchText] | None = Field(default=None, max_length=MAX_MATCH_TEXTS)
    contains: MatchText | list[MatchText] | None = Field(default=None, max_length=MAX_MATCH_TEXTS)
    re_search: MatchText | None = None

    @field_validator("re_search")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"is not a valid regular expression ({exc})") from None
        return pattern

    @model_validator(mode="after")
    def _not_empty(self) -> "MatchRule":
        if all(
            value is None
            for value in (self.equals, self.startswith, self.endswith, self.contains, self.re_search)
        ):
            raise ValueError("set at least one of equals, startswith, endswith, contains, re_search")
        return self
