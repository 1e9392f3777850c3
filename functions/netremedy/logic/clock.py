"""Time stamps and expiry, in one place so that every row and object ages the same way."""

from datetime import UTC, datetime, timedelta


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def expiry_epoch(moment: datetime, ttl_days: int) -> int:
    """Epoch seconds for DynamoDB TTL."""
    return int((moment + timedelta(days=ttl_days)).timestamp())
