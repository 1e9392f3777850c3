"""Binary attributes read back from the emulator as DynamoDB returns them (base64 on the wire, bytes in boto3):
the item reads are answered as JSON by a patch (moto_patches._items_as_json), which must encode them."""

from tests.emulator.conftest import Emulated


def test_binary_values_come_back_from_get_item_query_and_scan(aws: Emulated) -> None:
    # Given an item holding a Binary value (not valid UTF-8, as compressed text is), in a map too
    dynamodb = aws.client("dynamodb")
    blob = bytes(range(256))
    key = {"pk": {"S": "JOB#j"}, "sk": {"S": "DEVICE#d"}}
    dynamodb.put_item(
        TableName=aws.table, Item=key | {"outputs": {"B": blob}, "nested": {"M": {"b": {"B": blob}}}}
    )
    # When it is read by each item read
    got = dynamodb.get_item(TableName=aws.table, Key=key)["Item"]
    queried = dynamodb.query(
        TableName=aws.table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "JOB#j"}},
    )["Items"]
    scanned = dynamodb.scan(TableName=aws.table)["Items"]
    # Then each gives the same bytes back
    for item in (got, *queried, *scanned):
        assert item["outputs"] == {"B": blob} and item["nested"] == {"M": {"b": {"B": blob}}}
