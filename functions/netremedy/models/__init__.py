"""Pydantic models, owned by the layer that uses them: api (HTTP), messages (SQS), items (DynamoDB), settings."""
