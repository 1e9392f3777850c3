"""The one place that builds the Powertools logger. Log ids and counts, never configuration text."""

from aws_lambda_powertools import Logger

logger = Logger()
