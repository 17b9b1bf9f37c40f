"""The user pool, app client and groups (the same settings as `infra/bootstrap.py`), and the key that
encrypts payout account numbers."""

import copy

from chalicelib import roles
from infra import bootstrap
from infra.template.shared import APP_NAME, logical_id, retained, sub


def identity_resources(stage: str) -> dict:
    resources = {
        "UserPool": retained({
            "Type": "AWS::Cognito::UserPool",
            "Properties": {
                "UserPoolName": f"{APP_NAME}-{stage}",
                **copy.deepcopy(bootstrap.USER_POOL),
                # Threat protection (advanced security) in audit mode: Cognito scores every sign-in's risk and
                # checks passwords against leaked credentials, and publishes both, without blocking anyone. Not
                # ENFORCED: the app signs in server-side, so every attempt comes from Lambda's addresses, and
                # adaptive authentication would judge them all as one client (README, "Security"). It needs the
                # Plus tier, billed per monthly active user.
                "UserPoolTier": "PLUS",
                "UserPoolAddOns": {"AdvancedSecurityMode": "AUDIT"},
                "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
                "DeletionProtection": "ACTIVE",
            },
        }),
        "UserPoolClient": {
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {"UserPoolId": {"Ref": "UserPool"}, **copy.deepcopy(bootstrap.APP_CLIENT)},
        },
    }
    for group in roles.ALL_GROUPS:
        resources[logical_id(group, "group")] = {
            "Type": "AWS::Cognito::UserPoolGroup",
            "Properties": {"UserPoolId": {"Ref": "UserPool"}, "GroupName": group},
        }
    return resources


def key_resources(stage: str) -> dict:
    return {
        "PayoutAccountKey": retained({
            "Type": "AWS::KMS::Key",
            "Properties": {
                "Description": f"{APP_NAME} {stage}: payout account numbers",
                "EnableKeyRotation": True,
                "KeyPolicy": {"Version": "2012-10-17", "Statement": [{
                    # The account's IAM policies decide who uses the key (the app's role: see
                    # .chalice/policy-<stage>.json), as with the default key policy.
                    "Sid": "AccountIamPoliciesDecide", "Effect": "Allow",
                    "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                    "Action": "kms:*", "Resource": "*",
                }]},
            },
        }),
        "PayoutAccountKeyAlias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": bootstrap.payout_account_key_alias(stage),
                           "TargetKeyId": {"Ref": "PayoutAccountKey"}},
        },
    }
