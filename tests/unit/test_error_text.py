"""Every device error text is bounded: it is stored in a DynamoDB item (400 KB at most) and returned."""

import pytest
from hier_config import Platform, get_hconfig
from hier_config.exceptions import DuplicateChildError

from netremedy.logic import remediation
from netremedy.logic.config_checks import ConfigRejectedError, check_device_configs
from netremedy.logic.error_text import (
    EXCERPT_CHARS,
    MAX_ERROR_CHARS,
    bounded_error,
    exception_summary,
    excerpt,
    quoted_excerpt,
)
from netremedy.logic.remediation import RemediationError, compute_remediation
from netremedy.models.options import RemediationOptions

# A line as long as the one that broke the batch: an error quoting it is more than DynamoDB's item limit.
HUGE_LINE = "description" + " uplink to core" * 30_000


def _error(running: str, intended: str = "hostname b", options: RemediationOptions | None = None) -> str:
    with pytest.raises(RemediationError) as caught:
        compute_remediation("cisco_ios", running, intended, options=options)
    return str(caught.value)


def test_bounded_error_keeps_short_text_unchanged() -> None:
    assert bounded_error("intended_config is empty") == "intended_config is empty"
    assert bounded_error("x" * MAX_ERROR_CHARS) == "x" * MAX_ERROR_CHARS


def test_bounded_error_keeps_start_and_end_and_says_how_long_it_was() -> None:
    """Given a 1 MB text, the result fits the limit with the start (what) and the end (what to do) kept."""
    text = "running_config could not be parsed (" + "a" * 1_000_000 + "); merge the duplicate lines"
    bounded = bounded_error(text)
    assert len(bounded) <= MAX_ERROR_CHARS
    assert bounded.startswith("running_config could not be parsed (aaa")
    assert bounded.endswith("aaa); merge the duplicate lines")
    assert f"shortened from {len(text)} characters" in bounded


@pytest.mark.parametrize("limit", [1, 10, 50, 100, 500])
def test_bounded_error_never_exceeds_a_small_limit(limit: int) -> None:
    assert len(bounded_error("z" * 10_000, limit)) <= limit


def test_excerpts_keep_the_start_and_the_length() -> None:
    assert excerpt("short") == "short"
    assert excerpt("y" * 500) == "y" * EXCERPT_CHARS + "... (500 characters)"
    assert quoted_excerpt("short") == "'short'"
    assert quoted_excerpt("y" * 500) == repr("y" * EXCERPT_CHARS) + "... (500 characters)"


def test_exception_summary_names_the_type_and_shortens_the_message() -> None:
    assert exception_summary(ValueError()) == "ValueError"
    summary = exception_summary(TypeError("q" * 100_000))
    assert summary.startswith("TypeError: qqq") and summary.endswith("(100000 characters)")
    assert len(summary) < 500


def test_a_huge_duplicated_line_gives_a_short_error_naming_the_type_config_line_and_start() -> None:
    """Given a running config with a 450 KB line written twice in a section, hier_config's own error quotes
    it whole (over 400 KB); the device's error is under the limit and still says what and where."""
    running = f"hostname a\ninterface Gi1\n {HUGE_LINE}\n {HUGE_LINE}\n"
    with pytest.raises(DuplicateChildError) as upstream:
        get_hconfig(Platform.CISCO_IOS, running)
    assert len(str(upstream.value)) > 400_000

    message = _error(running)

    assert len(message) <= MAX_ERROR_CHARS
    assert message.startswith("running_config could not be parsed as cisco_ios")
    assert type(upstream.value).__name__ in message
    assert "at line 4" in message
    assert HUGE_LINE[:EXCERPT_CHARS] in message and f"({len(HUGE_LINE)} characters)" in message
    assert "in section 'interface Gi1'" in message
    assert "merge or remove the duplicate lines" in message


def test_a_huge_duplicated_top_level_line_in_intended_names_intended_config() -> None:
    message = _error("hostname a", f"hostname b\n{HUGE_LINE}\n{HUGE_LINE}")
    assert len(message) <= MAX_ERROR_CHARS
    assert message.startswith(
        "intended_config could not be parsed as cisco_ios (DuplicateChildError at line 3"
    )
    assert "at the top level" in message


def test_a_duplicate_whose_place_is_ambiguous_gives_no_line_number() -> None:
    """Given 'shutdown' in two interfaces and twice in one, the text alone cannot say which line it was."""
    message = _error("interface a\n shutdown\ninterface b\n shutdown\n shutdown")
    assert "DuplicateChildError: the line 'shutdown' appears twice in section 'interface b'" in message
    assert "at line" not in message


def test_an_unclosed_huge_banner_stays_readable_and_bounded() -> None:
    """Given a banner that never ends, hier_config's ValueError is reported as it is (it quotes nothing)."""
    running = "banner motd Z\n" + "welcome " * 100_000
    with pytest.raises(ValueError, match="still in a banner") as upstream:
        get_hconfig(Platform.CISCO_IOS, running)
    message = _error(running)
    assert len(message) <= MAX_ERROR_CHARS
    assert f"(ValueError: {upstream.value}); check that the platform matches the configuration" in message


def test_a_parse_error_quoting_a_whole_config_is_shortened(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a parser failure whose message repeats the whole text, the error keeps only its start."""

    def failing_parse(platform: Platform, text: str) -> None:
        raise TypeError(f"cannot structure {text!r}")

    monkeypatch.setattr(remediation, "get_hconfig", failing_parse)
    message = _error("hostname a\n" + "ip route 10.0.0.0 255.0.0.0 192.0.2.1\n" * 50_000)
    assert len(message) <= MAX_ERROR_CHARS
    assert message.startswith("running_config could not be parsed as cisco_ios (TypeError: cannot structure")
    assert message.endswith("characters)); check that the platform matches the configuration")


def test_a_remediation_failure_quoting_config_is_shortened(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_workflow(*args: object) -> None:
        raise RuntimeError("cannot compare " + HUGE_LINE)

    monkeypatch.setattr(remediation, "WorkflowRemediation", failing_workflow)
    message = _error("hostname a")
    assert len(message) <= MAX_ERROR_CHARS
    assert message.startswith("hier_config could not compute the remediation (RuntimeError: cannot compare")


def test_a_future_failure_on_a_huge_duplicate_is_bounded_and_says_what_to_leave_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given future() failing on a duplicate huge line, the error is bounded and still actionable."""

    def failing_future(*args: object) -> None:
        raise DuplicateChildError(f"Found a duplicate section: {('router bgp 1', HUGE_LINE)}")

    monkeypatch.setattr(remediation.HConfig, "future", failing_future)
    message = _error("hostname a", options=RemediationOptions(outputs=["future"]))
    assert len(message) <= MAX_ERROR_CHARS
    assert message.startswith("hier_config could not predict the configuration after remediation ")
    assert "(DuplicateChildError: the line 'description uplink to core" in message
    assert "appears twice in section 'router bgp 1'" in message
    assert message.endswith("leave 'future' out of options.outputs to get the other outputs for this device")


def test_a_remediation_error_is_bounded_whatever_its_message() -> None:
    assert len(str(RemediationError("w" * 1_000_000))) <= MAX_ERROR_CHARS


@pytest.mark.parametrize(
    ("running", "intended", "expected"),
    [
        ("hostname a\n" + "x" * 3_000_000 + "\x00", "hostname b", "NUL byte at line 2, column 3000001"),
        ("hostname a", "hostname b\n" + "y" * 3_000_000 + "\x07", "U+0007 at line 2, column 3000001"),
        ("hostname a\n" + "z" * 3_000_000 + "\udc80", "hostname b", "undecodable data at line 2"),
        ("hostname a", " \n" * 1_000_000, "intended_config is empty"),
    ],
)
def test_config_check_errors_on_huge_configs_are_short_and_located(
    running: str, intended: str, expected: str
) -> None:
    """Given multi-MB configs refused by the content checks, the error locates the problem in a short text."""
    with pytest.raises(ConfigRejectedError) as caught:
        check_device_configs(running, intended, allow_empty_intended=False)
    assert expected in str(caught.value) and len(str(caught.value)) < 400
    assert expected in _error(running, intended)
