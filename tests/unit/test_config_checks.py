"""Guards applied before hier_config: binary data, control characters, bad UTF-8, empty intended."""

import pytest
from netremedy.logic.config_checks import ConfigRejectedError, check_config_text, check_device_configs


def test_nul_is_rejected_with_line_and_column() -> None:
    """Given a NUL at line 2, column 3, the message names the field, NUL and the position."""
    with pytest.raises(ConfigRejectedError) as caught:
        check_config_text("running_config", "hostname a\nin\x00terface x")
    message = str(caught.value)
    assert message.startswith("running_config ")
    assert "NUL" in message
    assert "line 2, column 3" in message


@pytest.mark.parametrize("char", ["\x01", "\x02", "\x04", "\x08", "\x0e", "\x1b", "\x1f"])
def test_other_c0_controls_are_rejected(char: str) -> None:
    """Given a C0 control character other than the allowed ones, it is rejected with its code point."""
    with pytest.raises(ConfigRejectedError, match=rf"U\+{ord(char):04X} at line 1, column 2"):
        check_config_text("intended_config", f"h{char}ostname a")


@pytest.mark.parametrize("char", ["\t", "\r", "\n", "\x0c", "\x03"])
def test_whitespace_and_etx_are_accepted(char: str) -> None:
    """Given tab, CR, LF, form feed or ETX (IOS banner delimiter), the text is accepted."""
    check_config_text("running_config", f"banner motd {char}hello{char}\nhostname a")


def test_lone_surrogate_is_rejected_as_not_utf8() -> None:
    """Given a lone surrogate (undecodable input), the text is refused as not valid UTF-8."""
    with pytest.raises(ConfigRejectedError, match=r"not valid UTF-8.*line 2, column 1"):
        check_config_text("running_config", "hostname a\n\udc80")


def test_plain_text_with_non_ascii_is_accepted() -> None:
    """Given ordinary text including non-ASCII characters, nothing is raised."""
    check_config_text("running_config", "hostname a\ninterface x\n description caf\u00e9 \u2013 \u20ac")


@pytest.mark.parametrize("intended", ["", " ", "\n\n", "\t\r\n"])
def test_empty_intended_is_rejected_by_default(intended: str) -> None:
    """Given an empty or whitespace-only intended config, it is refused and the fix is named."""
    with pytest.raises(ConfigRejectedError, match="allow_empty_intended"):
        check_device_configs("hostname a", intended, allow_empty_intended=False)


def test_empty_intended_is_accepted_when_allowed() -> None:
    """Given allow_empty_intended, an empty intended config passes."""
    check_device_configs("hostname a", "", allow_empty_intended=True)


def test_empty_running_config_is_accepted() -> None:
    """Given an empty running config (a blank device), the pair is accepted."""
    check_device_configs("", "hostname a", allow_empty_intended=False)


def test_content_checks_apply_even_when_empty_intended_allowed() -> None:
    """Given allow_empty_intended, content checks still apply to both fields."""
    with pytest.raises(ConfigRejectedError, match=r"^intended_config .*NUL"):
        check_device_configs("hostname a", "\x00", allow_empty_intended=True)


def test_rejection_is_a_value_error() -> None:
    """ConfigRejectedError is a ValueError, so generic callers can treat it as bad input."""
    assert issubclass(ConfigRejectedError, ValueError)


@pytest.mark.parametrize("char", ["\x0b", "\x85", "\x9f", "\u2028", "\u2029"])
def test_characters_that_split_lines_silently_are_rejected(char: str) -> None:
    # hier_config splits lines on these (str.splitlines), turning one command into two
    with pytest.raises(ConfigRejectedError, match=f"U\\+{ord(char):04X}"):
        check_config_text("running_config", f"hostname a{char}hostname b")


def test_positions_count_lines_as_hier_config_splits_them() -> None:
    with pytest.raises(ConfigRejectedError, match="line 3, column 2"):
        check_config_text("running_config", "a\r\nb\rc\x00")
