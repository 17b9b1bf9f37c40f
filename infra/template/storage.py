"""Buckets and queues, from the stage's variables in `.chalice/config.json`: every `*_BUCKET` is a private,
encrypted bucket with CORS for presigned uploads from the stage's origins; every `*_QUEUE` an encrypted
queue with a dead-letter queue."""

from infra import bootstrap
from infra.template.functions import FUNCTION_SETTINGS
from infra.template.shared import (
    allowed_origins,
    logical_id,
    private_bucket,
    queue_logical_ids,
    resource_of_variable,
    retained,
    sub,
)

# AWS's advice: a queue's visibility timeout is at least six times its consumer's timeout.
VISIBILITY_TIMEOUT_FACTOR = 6


def bucket_resources(environment: dict) -> dict:
    resources = {}
    for variable, name in bootstrap.named_resources(environment, "_BUCKET").items():
        bucket = logical_id(resource_of_variable(variable, "_BUCKET"), "bucket")
        resources[bucket] = retained({
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketName": name,
                **private_bucket(),
                "VersioningConfiguration": {"Status": "Enabled"},
                "LifecycleConfiguration": {"Rules": [
                    {"Id": "abort-incomplete-uploads", "Status": "Enabled",
                     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
                    {"Id": "expire-replaced-versions", "Status": "Enabled",
                     "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]},
                # Browsers PUT lesson files straight to S3 with a presigned URL, and read them back.
                "CorsConfiguration": {"CorsRules": [{
                    "AllowedMethods": ["GET", "HEAD", "PUT"],
                    "AllowedOrigins": allowed_origins(environment) or ["*"],
                    "AllowedHeaders": ["Content-Type", "Content-MD5", "x-amz-*"],
                    "ExposedHeaders": ["ETag"],
                    "MaxAge": 3000,
                }]},
            },
        })
        resources[bucket + "Policy"] = {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": bucket},
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": [sub(f"arn:${{AWS::Partition}}:s3:::{name}"),
                                 sub(f"arn:${{AWS::Partition}}:s3:::{name}/*")],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }]},
            },
        }
    return resources


def queue_resources(environment: dict, consumer_timeouts: dict[str, int]) -> dict:
    """Each queue and its dead-letter queue; `consumer_timeouts`: the longest timeout of each queue's workers."""
    resources = {}
    for name, (queue, dead_letters) in queue_logical_ids(environment).items():
        timeout = consumer_timeouts.get(name, FUNCTION_SETTINGS["worker"]["Timeout"])
        resources[dead_letters] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": f"{name}-dlq", "SqsManagedSseEnabled": True,
                           "MessageRetentionPeriod": 14 * 24 * 3600},
        }
        resources[queue] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": name,
                "SqsManagedSseEnabled": True,
                "VisibilityTimeout": timeout * VISIBILITY_TIMEOUT_FACTOR,
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dead_letters, "Arn"]},
                                  "maxReceiveCount": bootstrap.MAX_RECEIVE_COUNT},
            },
        }
    return resources
