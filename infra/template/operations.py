"""Operations: the alarm topic (mailed to the `AlarmEmail` parameter), and the alarms on what the app and its
queues do. Every alarm of the template is made by `alarm`."""

from chalicelib import metrics
from infra import bootstrap
from infra.template.shared import APP_NAME, queue_logical_ids


def alarm(description: str, namespace: str, metric: str, dimensions: dict, *,
          statistic: str = "Sum", period: int = 60, threshold: int = 1) -> dict:
    """An alarm when `metric` reaches `threshold` within one `period` (seconds); it and its recovery go to
    the alarm topic. No data is no alarm: most of these metrics are only sent when something happens."""
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": namespace, "MetricName": metric,
            "Dimensions": [{"Name": name, "Value": value} for name, value in dimensions.items()],
            "Statistic": statistic, "Period": period, "EvaluationPeriods": 1,
            "Threshold": threshold, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}], "OKActions": [{"Ref": "AlarmTopic"}],
        },
    }


def operations_resources(stage: str, environment: dict) -> dict:
    resources = {
        # Not encrypted with alias/aws/sns: that key's policy does not let CloudWatch alarms publish.
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"{APP_NAME}-{stage}-alarms"}},
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail",
            "Properties": {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email",
                           "Endpoint": {"Ref": "AlarmEmail"}},
        },
        "ReconciliationFailureAlarm": alarm(
            "The ledger reconciliation found a broken invariant", metrics.NAMESPACE,
            metrics.RECONCILIATION_FAILURES, {"Stage": stage}, period=3600),
    }
    for queue, dead_letters in queue_logical_ids(environment).values():
        resources[f"{dead_letters}Alarm"] = alarm(
            f"Messages of {queue} failed {bootstrap.MAX_RECEIVE_COUNT} times", "AWS/SQS",
            "ApproximateNumberOfMessagesVisible", {"QueueName": {"Fn::GetAtt": [dead_letters, "QueueName"]}},
            statistic="Maximum", period=300)
    return resources
