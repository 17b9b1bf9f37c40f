"""The CloudFormation that `chalice package --merge-template` merges into Chalice's SAM template.

    python -m infra.template --stage prod --output build/merge-prod.json

Nothing here is written by hand per resource: it is derived, so it follows what other areas add
without edits here. One module per family of resources:
- `tables`: a table per PynamoDB model;
- `identity`: the user pool, app client, groups, and the payout account key;
- `storage`: a bucket per `*_BUCKET`, a queue and its dead-letter queue per `*_QUEUE`;
- `functions`: settings, aliases with canaries, log groups, alarms and layers of Chalice's functions;
- `api`: routes to the aliases, throttles, API Gateway's own answers;
- `operations`: the alarm topic and every alarm (`operations.alarm`);
- `chalice_sam`: Chalice's own template and its merge;
- `web`: the reference web client's private bucket behind CloudFront.
"""

from infra.project import stage_config
from infra.template.api import api_resources
from infra.template.chalice_sam import chalice_template, merged
from infra.template.functions import DRAWING_FUNCTION, function_resources, with_drawing_function
from infra.template.identity import identity_resources, key_resources
from infra.template.operations import operations_resources
from infra.template.shared import queue_logical_ids
from infra.template.storage import bucket_resources, queue_resources
from infra.template.tables import table_resources
from infra.template.web import web_client_outputs, web_client_resources


def generate(stage: str, chalice: dict | None = None) -> dict:
    """The merge template for `stage` (`chalice`: Chalice's own template, built when not given)."""
    config = stage_config(stage)
    environment = config["environment_variables"]
    chalice = with_drawing_function(chalice if chalice is not None else chalice_template(stage))
    functions, consumer_timeouts = function_resources(chalice, stage, config)
    if DRAWING_FUNCTION in functions:  # not in Chalice's template: the whole resource, not an override
        functions[DRAWING_FUNCTION] = merged({"Resources": {DRAWING_FUNCTION: functions[DRAWING_FUNCTION]}},
                                             {"Resources": {DRAWING_FUNCTION: chalice["Resources"][DRAWING_FUNCTION]}}
                                             )["Resources"][DRAWING_FUNCTION]
    resources = {
        **table_resources(environment["TABLE_PREFIX"]),
        **identity_resources(stage),
        **bucket_resources(environment),
        **queue_resources(environment, consumer_timeouts),
        **key_resources(stage),
        **operations_resources(stage, environment),
        **api_resources(chalice, environment),
        **functions,
        **web_client_resources(stage),
    }
    outputs = {
        "UserPoolId": {"Value": {"Ref": "UserPool"}},
        "UserPoolClientId": {"Value": {"Ref": "UserPoolClient"}},
        "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
        **web_client_outputs(),
    }
    for name, (queue, _) in queue_logical_ids(environment).items():
        outputs[f"{queue}Url"] = {"Value": {"Ref": queue}, "Description": name}
    return {
        "Parameters": {
            "MailSender": {"Type": "String", "Default": environment["MAIL_SENDER"],
                           "Description": "The SES identity (verified address) mail is sent from"},
            # Given, not derived from the API: the functions' environment would then depend on the API, which
            # depends on the functions (a cycle CloudFormation refuses).
            "PublicBaseUrl": {"Type": "String", "Default": environment["PUBLIC_BASE_URL"],
                              "Description": "The API's public address with its stage prefix (a custom domain, or "
                                             "https://<api id>.execute-api.<region>.amazonaws.com/api): absolute "
                                             "links start with it, e.g. a certificate's verification URL"},
            "AlarmEmail": {"Type": "String", "Default": "",
                           "Description": "Where alarms are mailed (empty: subscribe to AlarmTopic yourself)"},
            "DeploymentType": {
                "Type": "String", "Default": "Canary10Percent5Minutes",
                "AllowedValues": ["Canary10Percent5Minutes", "Canary10Percent10Minutes",
                                  "Linear10PercentEvery1Minute", "AllAtOnce"],
                "Description": "How a new version takes traffic; its alarms roll it back"},
        },
        "Conditions": {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}},
        "Resources": resources,
        "Outputs": outputs,
    }
