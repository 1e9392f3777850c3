"""The domain: remediation, job life-cycle and counting rules. No AWS events, no boto3."""
