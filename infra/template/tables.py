"""Tables: one per PynamoDB model in `chalicelib.store.ALL_MODELS` (keys, GSIs, LSIs, TTL), on demand,
with point-in-time recovery, kept when the stack goes."""

from pynamodb.attributes import TTLAttribute

from chalicelib import store
from infra.template.shared import logical_id, retained


def table_logical_id(model) -> str:
    return logical_id(model.Meta.short_name, "table")


def pynamodb_create_table_schema(model) -> dict:
    """The keys, attribute definitions and indexes PynamoDB's `create_table` sends for `model`.

    PynamoDB has no public way to ask for them: `_get_schema` is what `create_table` itself uses
    (with the indexes of a polymorphic model's subclasses), so the template cannot drift from the
    tables the bootstrap creates. Its only private call, kept here.
    """
    return model._get_schema()


def _key_schema(elements) -> list[dict]:
    """HASH first, then RANGE, as CloudFormation requires (PynamoDB lists them in attribute order)."""
    return sorted((dict(e) for e in elements), key=lambda e: e["KeyType"] != "HASH")


def table_properties(model, table_prefix: str) -> dict:
    """The `AWS::DynamoDB::Table` properties of a PynamoDB model: what `create_table` would create."""
    schema = pynamodb_create_table_schema(model)
    properties = {
        "TableName": table_prefix + model.Meta.short_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": sorted((dict(a) for a in schema["attribute_definitions"]),
                                       key=lambda a: a["AttributeName"]),
        "KeySchema": _key_schema(schema["key_schema"]),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    }
    for source, target in (("global_secondary_indexes", "GlobalSecondaryIndexes"),
                           ("local_secondary_indexes", "LocalSecondaryIndexes")):
        indexes = [
            {"IndexName": index["index_name"], "KeySchema": _key_schema(index["key_schema"]),
             "Projection": dict(index["projection"])}
            for index in schema[source]
        ]
        if indexes:
            properties[target] = sorted(indexes, key=lambda i: i["IndexName"])
    ttl = [a for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    if ttl:
        properties["TimeToLiveSpecification"] = {"AttributeName": ttl[0].attr_name, "Enabled": True}
    return properties


def table_resources(table_prefix: str) -> dict:
    return {
        table_logical_id(model): retained({"Type": "AWS::DynamoDB::Table",
                                            "Properties": table_properties(model, table_prefix)})
        for model in store.ALL_MODELS
    }
