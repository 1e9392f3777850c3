"""The embedded local stack: the system of template.yaml on one machine, with no Docker and no AWS account.

An AWS emulator (moto's HTTP server) holds the data resources declared in template.yaml; an HTTP front turns
requests into API Gateway events for the same handlers that AWS runs; pollers deliver SQS batches to the
worker the way Lambda's event source mapping does.
"""
