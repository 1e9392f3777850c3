"""Idempotency records for POST retries (Powertools idempotency), kept in the job table's own partition."""

from functools import cache

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from netremedy.dal.clients import client


@cache
def create_job_records(table: str) -> DynamoDBPersistenceLayer:
    # The table's key is pk + sk: records live under one static pk with the hashed key as sk, and expire
    # through the table's TTL attribute like everything else.
    return DynamoDBPersistenceLayer(
        table_name=table,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value="IDEMPOTENCY#create_job",
        expiry_attr="expires_at",
        boto3_client=client("dynamodb"),
    )
