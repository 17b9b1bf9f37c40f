"""boto3 clients, built once per container on first use.

Endpoints resolve the standard way (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`),
so the same code talks to moto on a laptop and to AWS in production.
"""

import functools

from botocore.exceptions import ClientError


@functools.cache
def client(service_name: str):
    import boto3  # deferred: keeps cold start for routes that never call AWS directly

    return boto3.session.Session().client(service_name)


@functools.cache
def queue_url(queue_name: str) -> str:
    """An SQS queue's URL, asked once per container (it never changes)."""
    return client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]


def object_exists(bucket: str, key: str) -> bool:
    """Whether S3 has an object at `key` (a HeadObject; any other failure is raised)."""
    try:
        client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
        return False
    return True
