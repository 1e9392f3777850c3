"""Data access: the only modules that import boto3. One module per AWS service."""
