"""Least privilege: each deployed stage's IAM policy allows exactly the AWS calls the app makes.

`infra/iam.py`'s recorder sees every call the app's code makes during the whole suite; the two
`after_suite` tests run last and compare it with `.chalice/policy-<stage>.json`. When they
fail, run `make policy` (it rewrites the files from a full run) and review the diff.
"""

import json
import os
import re

import botocore.session
import pytest

from infra import iam
from infra.project import PROJECT_DIR, stage_environment
from tests.support.suite import FULL_RUN

UPDATE = os.environ.get("CLASSPAY_UPDATE_POLICY") == "1"


def _consumed_queues(chalice_app, policy: iam.PolicyFile, files: list[iam.PolicyFile]) -> list[str]:
    """The queues polled by the functions `policy` is for (neutral names)."""
    own = {f.function for f in files if f.stage == policy.stage and f.function is not None}
    queues = []
    for source in chalice_app.event_sources:
        queue = getattr(source, "queue", None) or (getattr(source, "queue_arn", None) or "").rsplit(":", 1)[-1]
        if type(source).__name__ != "SQSEventConfig" or not queue:
            continue
        if source.name == policy.function or (policy.function is None and source.name not in own):
            queues.append(iam.neutral(queue, iam.RECORDER.environment))
    return queues


def _expected(policy: iam.PolicyFile, files, chalice_app) -> set[iam.Use]:
    uses = [*iam.recorded_for(policy, files),
            *iam.platform_uses(policy.stage, _consumed_queues(chalice_app, policy, files), policy.function)]
    return iam.rendered_uses(uses, policy.stage, stage_environment(policy.stage))


def _first_callers(policy: iam.PolicyFile, files) -> dict[iam.Use, str]:
    environment = stage_environment(policy.stage)
    return {next(iter(iam.rendered_uses([use], policy.stage, environment))): test
            for use, test in iam.recorded_for(policy, files).items()}


def _listing(uses, callers=None) -> str:
    callers = callers or {}
    return "\n".join(f"  {u.action:<36} {u.resource}" + (f"\n      (first by {callers[u]})" if u in callers else "")
                     for u in sorted(uses))


def _full_run(request) -> bool:
    return request.config.stash[FULL_RUN] and request.session.testsfailed == 0


def _document(policy: iam.PolicyFile) -> dict:
    return json.loads(policy.path.read_text())


@pytest.mark.after_suite
def test_every_deployed_policy_allows_every_aws_call_the_app_made_in_the_tests(chalice_app, request):
    assert iam.RECORDER.uses, "the recorder saw no AWS call: is it installed before the first botocore session?"
    assert not iam.RECORDER.unnamed, "the IAM recorder cannot name what these calls touch:\n" + "\n".join(
        f"  {why}\n      (first by {test})" for why, test in sorted(iam.RECORDER.unnamed.items()))
    files = iam.policy_files()
    for policy in files:
        expected = _expected(policy, files, chalice_app)
        if UPDATE:
            if not _full_run(request):
                pytest.fail("make policy needs a full, green test run: the policy is what the whole suite does")
            iam.write(iam.policy_document(expected), policy.path)
        missing = expected - iam.allowed(_document(policy))
        assert not missing, (
            f"{policy.path.relative_to(PROJECT_DIR)} does not allow what the app did in the tests:\n"
            f"{_listing(missing, _first_callers(policy, files))}\n"
            "Run `make policy` to rewrite it from a full test run, and review the diff.")


@pytest.mark.after_suite
def test_every_deployed_policy_allows_nothing_the_app_did_not_do_in_the_tests(chalice_app, request):
    if not _full_run(request):
        pytest.skip("only a full, green run of the suite shows everything the app does")
    files = iam.policy_files()
    for policy in files:
        extra = iam.allowed(_document(policy)) - _expected(policy, files, chalice_app)
        assert not extra, (
            f"{policy.path.relative_to(PROJECT_DIR)} allows what no test saw the app do:\n{_listing(extra)}\n"
            "Run `make policy` to rewrite it from a full test run (or add the test that exercises it).")


@pytest.mark.after_suite  # after `make policy` rewrote the files
def test_prod_deploys_with_its_own_least_privilege_policies_not_chalices_generated_one():
    files = {(f.stage, f.function): f for f in iam.policy_files()}
    assert files[("prod", None)].path.name == "policy-prod.json"
    for policy in files.values():
        statements = _document(policy)["Statement"]
        assert "*" not in [r for s in statements for r in s["Resource"]]
        assert all(isinstance(s["Action"], list) and "*" not in "".join(s["Action"]) for s in statements)


@pytest.mark.after_suite
def test_the_authorizer_which_reads_every_callers_token_may_only_write_its_logs():
    files = {(f.stage, f.function): f for f in iam.policy_files()}
    actions = {a for s in _document(files[("prod", "bearer")])["Statement"] for a in s["Action"]}
    assert actions == {"logs:CreateLogStream", "logs:PutLogEvents"}


# --- how calls become actions on resources ------------------------------------------------------

ENVIRONMENT = {"TABLE_PREFIX": "classpay-test-", "LESSON_BUCKET": "classpay-test-lessons",
               "PAYOUT_QUEUE": "classpay-test-payouts", "USER_POOL_ID": "ap-northeast-2_abc",
               "PAYOUT_ACCOUNT_KEY_ID": "1234abcd-12ab-34cd-56ef-1234567890ab", "SECRETS_PATH": "/classpay/test/",
               "MAIL_SENDER": "no-reply@classpay.test", "STAGE": "test"}
_session = botocore.session.get_session()


def _uses(service, operation, params):
    model = _session.get_service_model(service).operation_model(operation)
    arn_head = r"^arn:\$\{AWS::Partition\}:[a-z0-9-]+:(?:\$\{AWS::Region\}:\$\{AWS::AccountId\}|:):"
    return {(u.action, re.sub(arn_head, "", u.resource)) for u in iam.uses_of(model, params, ENVIRONMENT)}


def test_a_transaction_needs_the_item_actions_on_each_table_it_touches():
    assert _uses("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "classpay-test-orders", "Item": {}}},
        {"Update": {"TableName": "classpay-test-wallets", "Key": {}, "UpdateExpression": "x"}},
        {"ConditionCheck": {"TableName": "classpay-test-courses", "Key": {}, "ConditionExpression": "y"}},
    ]}) == {("dynamodb:PutItem", "table/<TABLE_PREFIX>orders"),
            ("dynamodb:UpdateItem", "table/<TABLE_PREFIX>wallets"),
            ("dynamodb:ConditionCheckItem", "table/<TABLE_PREFIX>courses")}


def test_an_index_query_needs_the_index_and_a_batch_each_table():
    assert _uses("dynamodb", "Query", {"TableName": "classpay-test-orders", "IndexName": "by-learner"}) == {
        ("dynamodb:Query", "table/<TABLE_PREFIX>orders/index/by-learner")}
    assert _uses("dynamodb", "BatchGetItem", {"RequestItems": {"classpay-test-a": {}, "classpay-test-b": {}}}) == {
        ("dynamodb:BatchGetItem", "table/<TABLE_PREFIX>a"), ("dynamodb:BatchGetItem", "table/<TABLE_PREFIX>b")}


def test_cognitos_public_operations_need_no_permission_and_admin_ones_name_the_pool():
    assert _uses("cognito-idp", "SignUp", {"ClientId": "c", "Username": "u", "Password": "p"}) == set()
    assert _uses("cognito-idp", "InitiateAuth", {"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "c"}) == set()
    assert _uses("cognito-idp", "AdminConfirmSignUp", {"UserPoolId": "ap-northeast-2_abc", "Username": "u"}) == {
        ("cognito-idp:AdminConfirmSignUp", "userpool/<USER_POOL_ID>")}


def test_queues_buckets_keys_mail_and_secrets_are_named_through_the_stage():
    assert _uses("sqs", "SendMessageBatch", {"QueueUrl": "https://sqs/123/classpay-test-payouts", "Entries": []}) == {
        ("sqs:SendMessage", "<PAYOUT_QUEUE>")}
    assert _uses("s3", "HeadObject", {"Bucket": "classpay-test-lessons", "Key": "a/b"}) == {
        ("s3:GetObject", "<LESSON_BUCKET>/*")}
    assert _uses("kms", "Encrypt", {"KeyId": ENVIRONMENT["PAYOUT_ACCOUNT_KEY_ID"], "Plaintext": b"x"}) == {
        ("kms:Encrypt", "key/<PAYOUT_ACCOUNT_KEY_ID>")}
    assert _uses("ses", "SendEmail", {"Source": "classpay <no-reply@classpay.test>", "Destination": {},
                                      "Message": {}}) == {("ses:SendEmail", "identity/<MAIL_SENDER>")}
    assert _uses("ssm", "GetParameter", {"Name": "/classpay/test/toss-secret-key"}) == {
        ("ssm:GetParameter", "parameter<SECRETS_PATH>toss-secret-key")}  # renders parameter/classpay/test/...


@pytest.mark.parametrize(("service", "operation", "params", "hint"), [
    ("sns", "Publish", {"TopicArn": "arn:aws:sns:x:1:t", "Message": "m"}, "RESOURCE_RULES"),
    ("sqs", "SendMessage", {"QueueUrl": "https://sqs/123/hard-coded-queue", "MessageBody": "m"}, "config.json"),
    ("kms", "Decrypt", {"CiphertextBlob": b"x"}, "KeyId"),
    ("kms", "Encrypt", {"KeyId": "alias/classpay-test-payout-accounts", "Plaintext": b"x"}, "its id"),
])
def test_a_call_the_recorder_cannot_name_says_what_to_add(service, operation, params, hint):
    with pytest.raises(iam.Unnamed, match=hint):
        _uses(service, operation, params)


def test_a_parameters_arn_has_one_slash_before_its_name():
    use = iam.Use("ssm:GetParameter", "arn:${AWS::Partition}:ssm:r:a:parameter<SECRETS_PATH>toss-secret-key")
    (rendered,) = iam.rendered_uses([use], "prod", stage_environment("prod"))
    assert rendered.resource.endswith(":parameter/classpay/prod/toss-secret-key")


def test_a_stage_renders_its_own_names_and_the_templates_references():
    use = iam.Use("cognito-idp:AdminAddUserToGroup", "arn:${AWS::Partition}:cognito-idp:x:userpool/<USER_POOL_ID>")
    (rendered,) = iam.rendered_uses([use], "prod", stage_environment("prod"))
    assert rendered.resource.endswith("userpool/${UserPool}")
    table = iam.Use("dynamodb:GetItem", "table/<TABLE_PREFIX>users")
    assert iam.rendered_uses([table], "prod", stage_environment("prod")) == {
        iam.Use("dynamodb:GetItem", "table/classpay-prod-users")}


def test_presigned_urls_made_by_app_code_are_recorded_and_the_tests_own_calls_are_not():
    recorder = iam.Recorder()
    recorder.environment = ENVIRONMENT
    session = botocore.session.get_session()
    session.unregister("before-parameter-build", iam.RECORDER._on_call)  # a probe, not the app's calls
    session.register("before-parameter-build", recorder._on_call)
    s3 = session.create_client("s3", region_name="ap-northeast-2", aws_access_key_id="k", aws_secret_access_key="s")
    app_code = {}
    exec(compile("def upload_url(s3):\n    return s3.generate_presigned_url("  # noqa: S102
                 "'put_object', Params={'Bucket': 'classpay-test-lessons', 'Key': 'l/1'})\n",
                 str(PROJECT_DIR / "chalicelib" / "services" / "lessons_probe.py"), "exec"), app_code)
    s3.generate_presigned_url("get_object", Params={"Bucket": "classpay-test-lessons", "Key": "l/1"})
    assert recorder.uses == {}
    app_code["upload_url"](s3)
    assert {(u.action, u.resource) for u in recorder.uses} == {
        ("s3:PutObject", "arn:${AWS::Partition}:s3:::<LESSON_BUCKET>/*")}
    # attributed to the outermost function of the app's code: for a Lambda handler, the function's name
    assert {handler for handler, _use in recorder.calls} == {"upload_url"}
