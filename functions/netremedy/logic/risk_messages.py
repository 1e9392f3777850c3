"""What a held device's result says (read by the results API, which must not load hier_config)."""

from collections.abc import Sequence

from netremedy.models.risks import RiskFlag


def held_message(risks: Sequence[RiskFlag]) -> str:
    """Why a held device's remediation is withheld (its result's ``message``)."""
    count = len(risks)
    lines = "line" if count == 1 else "lines"
    return (
        f"remediation withheld: {count} {lines} could cut remote access to the device (options.on_risk is "
        "'hold'); review the risks, then submit it again with on_risk 'flag' to get the remediation"
    )
