"""netremedy: fleet-scale network configuration remediation with hier_config, on AWS Lambda."""

__version__ = "0.1.0"
