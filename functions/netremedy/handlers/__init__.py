"""Thin Lambda entry points: parse the event, call one logic function, map errors to HTTP."""
