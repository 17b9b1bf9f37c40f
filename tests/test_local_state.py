"""`make run` keeps its data across restarts: the emulator (infra/emulator.py --state, infra/emulator_state.py)
saves every backend it holds and restores it when it starts again, ids included, so a login made before
a restart works after it; a `kill -9` loses at most the last few seconds."""

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time

import boto3
import pytest

from infra.bootstrap import create_user_pool
from infra.project import PROJECT_DIR
from infra.stack import free_port

PASSWORD = "Kept-across-1"


class Emulator:
    """`python -m infra.emulator --state FILE` on a port of its own (a process of its own, as `make run` starts it)."""

    def __init__(self, state, save_every: float = 0.3) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "infra.emulator", "-p", str(self.port), "--transaction-conflicts", "0",
             "--state", str(state), "--save-every", str(save_every)],
            cwd=PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            assert self.process.poll() is None and time.monotonic() < deadline, "the emulator did not start"
            time.sleep(0.1)

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.url, region_name="ap-northeast-2",
                            aws_access_key_id="local", aws_secret_access_key="local")

    def stop(self, how=signal.SIGTERM) -> None:
        os.killpg(self.process.pid, how)
        self.process.wait(timeout=30)


@pytest.fixture
def state(tmp_path):
    return tmp_path / ".local" / "aws-state.pickle"


def _log_in(cognito, client_id: str, email: str) -> dict:
    return cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                 AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD})["AuthenticationResult"]


def test_a_restart_keeps_users_with_their_passwords_items_objects_queues_keys_and_parameters(state, monkeypatch):
    """Each emulator start costs seconds: one test, two starts (a stop, then a restart ended by kill -9)."""
    first = Emulator(state)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", first.url)
        made = create_user_pool("kept")  # as `make run`'s bootstrap makes it
        pool_id, client_id = made["USER_POOL_ID"], made["USER_POOL_CLIENT_ID"]
        cognito = first.client("cognito-idp")
        cognito.sign_up(ClientId=client_id, Username="ann@classpay.test", Password=PASSWORD)
        cognito.admin_confirm_sign_up(UserPoolId=pool_id, Username="ann@classpay.test")
        token_before = _log_in(cognito, client_id, "ann@classpay.test")["AccessToken"]
        dynamodb = first.client("dynamodb")
        dynamodb.create_table(TableName="kept", BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        dynamodb.put_item(TableName="kept", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
        first.client("s3").create_bucket(Bucket="kept", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
        first.client("s3").put_object(Bucket="kept", Key="lesson.mp4", Body=b"video bytes")
        queue = first.client("sqs").create_queue(QueueName="kept")["QueueUrl"]
        first.client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps({"payout": 1}))
        key_id = first.client("kms").create_key()["KeyMetadata"]["KeyId"]
        secret = first.client("kms").encrypt(KeyId=key_id, Plaintext=b"110-234-567891")["CiphertextBlob"]
        first.client("ssm").put_parameter(Name="/classpay/kept/cursor-key", Value="k", Type="SecureString")
    finally:
        first.stop()

    second = Emulator(state)
    try:
        cognito = second.client("cognito-idp")
        assert [p["Id"] for p in cognito.list_user_pools(MaxResults=10)["UserPools"]] == [pool_id]  # the same ids
        monkeypatch.setenv("AWS_ENDPOINT_URL", second.url)
        assert create_user_pool("kept") == made  # `make run`'s bootstrap finds the pool rather than remaking it
        assert _log_in(cognito, client_id, "ann@classpay.test")["AccessToken"]
        assert cognito.get_user(AccessToken=token_before)["Username"]  # a token issued before still verifies
        assert second.client("dynamodb").get_item(TableName="kept", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}
        assert second.client("s3").get_object(Bucket="kept", Key="lesson.mp4")["Body"].read() == b"video bytes"
        messages = second.client("sqs").receive_message(QueueUrl=queue)["Messages"]
        assert [json.loads(m["Body"]) for m in messages] == [{"payout": 1}]
        assert second.client("kms").decrypt(CiphertextBlob=secret)["Plaintext"] == b"110-234-567891"
        assert second.client("ssm").get_parameter(Name="/classpay/kept/cursor-key", WithDecryption=True)[
            "Parameter"]["Value"] == "k"
        # kill -9: what was written a save period before is in the file (read here rather than by a third start)
        second.client("dynamodb").put_item(TableName="kept", Item={"pk": {"S": "b"}})
        time.sleep(1.5)
    finally:
        second.stop(signal.SIGKILL)
    saved = pickle.loads(state.read_bytes())["backends"][("moto.dynamodb.models", "dynamodb_backends")]
    tables = [backend.tables["kept"] for regions in saved.values() for backend in regions.values()
              if "kept" in backend.tables]
    assert [sorted(item.hash_key.value for item in table.all_items()) for table in tables] == [["a", "b"]]
