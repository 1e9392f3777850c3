"""Guards that hier_config does not apply itself.

hier_config accepts anything: binary text parses into lines that become ``no ...`` commands, and an empty
intended config negates the whole device. A production service must refuse those per device, with a reason
an engineer can act on, before the text reaches hier_config.
"""

import re

# Characters a text configuration may not contain. ETX (0x03) is allowed because some IOS exports store the
# banner delimiter ^C as the raw character; tab, LF, CR and form feed are ordinary text. Vertical tab, C1
# controls (a sign of mis-decoded text) and the Unicode line separators are refused: hier_config splits
# lines on them, so they would silently turn one line into two.
_FORBIDDEN_CONTROL = re.compile(r"[\x00-\x02\x04-\x08\x0b\x0e-\x1f\x80-\x9f\u2028\u2029]")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


class ConfigRejectedError(ValueError):
    """The configuration text is unsafe to hand to hier_config; the message says why and what to do."""


def _position(text: str, index: int) -> str:
    """Line and column of ``index``, counting lines the way hier_config splits them (str.splitlines)."""
    lines = text[:index].splitlines(keepends=True)
    if not lines:
        return f"line 1, column {index + 1}"
    last = lines[-1]
    if last.splitlines()[0] != last:  # the prefix ends with a line break: the character starts a new line
        return f"line {len(lines) + 1}, column 1"
    return f"line {len(lines)}, column {len(last) + 1}"


def check_config_text(field: str, text: str) -> None:
    """Refuse text that is not a plain-text configuration."""
    surrogate = _LONE_SURROGATE.search(text)
    if surrogate:
        raise ConfigRejectedError(
            f"{field} is not valid UTF-8 text (undecodable data at {_position(text, surrogate.start())}); "
            "re-export the configuration as UTF-8 text"
        )
    nul = text.find("\x00")
    if nul >= 0:
        raise ConfigRejectedError(
            f"{field} contains binary data (NUL byte at {_position(text, nul)}); "
            "submit the configuration as plain text, not a binary or compressed file"
        )
    control = _FORBIDDEN_CONTROL.search(text)
    if control:
        raise ConfigRejectedError(
            f"{field} contains control character U+{ord(control.group()):04X} at "
            f"{_position(text, control.start())}; submit the configuration as plain text"
        )


def check_device_configs(running_config: str, intended_config: str, *, allow_empty_intended: bool) -> None:
    check_config_text("running_config", running_config)
    check_config_text("intended_config", intended_config)
    if not allow_empty_intended and not intended_config.strip():
        raise ConfigRejectedError(
            "intended_config is empty: the remediation would remove the device's entire configuration. "
            "Send the intended configuration, or set allow_empty_intended to true if that is what you want"
        )
