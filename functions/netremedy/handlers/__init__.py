"""Thin Lambda entry points: parse the event, call one logic function, map errors to HTTP.

Every handler module imports this package first, and this reads the settings: a function deployed without a
variable it needs, or with one that does not parse, fails at cold start with a SettingsError naming each
one, instead of on its first AWS call. Tools that import handlers without a stack (docs/generate_openapi.py)
set placeholders for ``required_variables()`` first.
"""

from netremedy.models.settings import load_settings

load_settings()
