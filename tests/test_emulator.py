"""infra/emulator.py keeps DynamoDB's guarantees in moto: atomic, isolated transactions, TransactionConflict,
and Queries that answer from their partition or index key exactly as moto's full walk would."""

import threading
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from infra import emulator

TABLE = "classpay-test-emulator-probe"


@pytest.fixture(scope="module")
def dynamodb(aws):
    client = boto3.client("dynamodb")
    client.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "owner", "day")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "by-owner", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"},
                                               {"AttributeName": "day", "KeyType": "RANGE"}]}],
    )
    yield client
    client.delete_table(TableName=TABLE)


def _item(pk, sk, **attributes):
    return {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"S": v} for k, v in attributes.items()}}


def _put(pk, sk, condition=None, **attributes):
    put = {"TableName": TABLE, "Item": _item(pk, sk, **attributes)}
    if condition:
        put["ConditionExpression"] = condition
    return {"Put": put}


def _reasons(error: ClientError) -> list[str]:
    return [r["Code"] for r in error.response["CancellationReasons"]]


def test_a_cancelled_transaction_leaves_every_item_as_it_was(dynamodb):
    dynamodb.put_item(TableName=TABLE, Item=_item("a", "1", owner="ann", day="d1"))
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=[
            _put("a", "1", owner="bob", day="d9"),                       # would move the item to another owner
            _put("a", "2", owner="ann", day="d2"),                       # would add one
            _put("a", "3", condition="attribute_exists(pk)", owner="ann", day="d3"),  # fails
        ])
    assert _reasons(cancelled.value) == ["None", "None", "ConditionalCheckFailed"]
    stored = dynamodb.query(TableName=TABLE, KeyConditionExpression="pk = :a",
                            ExpressionAttributeValues={":a": {"S": "a"}})["Items"]
    assert stored == [_item("a", "1", owner="ann", day="d1")]
    by_owner = dynamodb.query(TableName=TABLE, IndexName="by-owner", KeyConditionExpression="#o = :o",
                              ExpressionAttributeNames={"#o": "owner"}, ExpressionAttributeValues={":o": {"S": "bob"}})
    assert by_owner["Items"] == []


def test_queries_on_the_table_and_its_index_follow_every_write(dynamodb):
    for n in range(5):
        dynamodb.put_item(TableName=TABLE, Item=_item("q", f"{n}", owner="cy" if n % 2 else "di", day=f"d{4 - n}"))
    dynamodb.update_item(TableName=TABLE, Key={"pk": {"S": "q"}, "sk": {"S": "0"}}, UpdateExpression="SET #o = :o",
                         ExpressionAttributeNames={"#o": "owner"}, ExpressionAttributeValues={":o": {"S": "cy"}})
    dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": "q"}, "sk": {"S": "1"}})
    dynamodb.transact_write_items(TransactItems=[_put("q", "5", owner="cy", day="d0")])

    def owned_by(owner, **extra):
        answer = dynamodb.query(TableName=TABLE, IndexName="by-owner", KeyConditionExpression="#o = :o",
                                ExpressionAttributeNames={"#o": "owner"},
                                ExpressionAttributeValues={":o": {"S": owner}}, **extra)
        return [item["sk"]["S"] for item in answer["Items"]], answer.get("LastEvaluatedKey")

    assert owned_by("cy") == (["5", "3", "0"], None)  # sorted by the index's range key, day d0 < d1 < d4
    assert owned_by("di") == (["4", "2"], None)
    first, cursor = owned_by("cy", Limit=2)
    assert first == ["5", "3"]
    assert owned_by("cy", ExclusiveStartKey=cursor) == (["0"], None)
    partition = dynamodb.query(TableName=TABLE, KeyConditionExpression="pk = :q AND sk > :s", ScanIndexForward=False,
                               ExpressionAttributeValues={":q": {"S": "q"}, ":s": {"S": "2"}})["Items"]
    assert [item["sk"]["S"] for item in partition] == ["5", "4", "3"]
    emulator.empty_tables()
    assert owned_by("cy") == ([], None)


def test_a_transaction_in_flight_cancels_one_that_touches_its_items_and_blocks_single_writes(dynamodb):
    window = 1.0
    outcome = {}

    def slow():
        dynamodb.transact_write_items(TransactItems=[_put("c", "1", owner="ed", day="d1")])
        outcome["first"] = "committed"

    with emulator.conflicting_transactions(window):
        first = threading.Thread(target=slow)
        first.start()
        deadline = time.monotonic() + 5
        while not emulator.in_flight() and time.monotonic() < deadline:  # until the first one is in flight
            time.sleep(0.005)
        with pytest.raises(ClientError) as cancelled:
            dynamodb.transact_write_items(TransactItems=[_put("c", "2", owner="ed", day="d2"),
                                                         _put("c", "1", owner="fay", day="d1")])
        with pytest.raises(ClientError) as rejected:
            dynamodb.put_item(TableName=TABLE, Item=_item("c", "1", owner="gus", day="d1"))
        untouched = dynamodb.transact_write_items(TransactItems=[_put("c", "3", owner="ed", day="d3")])
        first.join()
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _reasons(cancelled.value) == ["None", "TransactionConflict"]
    assert rejected.value.response["Error"]["Code"] == "TransactionConflictException"
    assert untouched["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert outcome == {"first": "committed"}
    stored = dynamodb.query(TableName=TABLE, KeyConditionExpression="pk = :c",
                            ExpressionAttributeValues={":c": {"S": "c"}})["Items"]
    assert stored == [_item("c", "1", owner="ed", day="d1"), _item("c", "3", owner="ed", day="d3")]
    assert emulator.transaction_conflicts() == 0  # off again outside the block
