"""The reference web client (`web/`) deployed: a private bucket of its files behind a CloudFront distribution.

The bucket is never public: CloudFront reads it through an origin access control (OAC, SigV4-signed
requests), and the bucket policy admits that one distribution only. Upload the files with
`aws s3 sync web/ s3://<WebClientBucket>/ --exclude 'package*.json' --exclude tsconfig.json`, with
web/config.js's DEFAULT_API_BASE_URL set to the stage's API URL (docs/web-client.md), and add the
distribution's address (output `WebClientUrl`) to the stage's CORS_ALLOWED_ORIGINS.
"""

from infra.template.shared import APP_NAME, private_bucket, sub

BUCKET = "WebClientBucket"
ORIGIN_ACCESS = "WebClientOriginAccessControl"
DISTRIBUTION = "WebClientDistribution"
# AWS's managed cache policy "CachingOptimized" (its documented id, the same in every account).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
# AWS's managed response headers policy "SecurityHeadersPolicy" (HSTS, nosniff, frame options, referrer).
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"


def web_client_resources(stage: str) -> dict:
    return {
        BUCKET: {
            "Type": "AWS::S3::Bucket",
            "Properties": private_bucket(),
        },
        BUCKET + "Policy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": BUCKET},
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "CloudFrontReadsThroughItsOriginAccessControl", "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
                    "Resource": sub(f"${{{BUCKET}.Arn}}/*"),
                    "Condition": {"StringEquals": {"AWS:SourceArn": sub(
                        f"arn:${{AWS::Partition}}:cloudfront::${{AWS::AccountId}}:distribution/${{{DISTRIBUTION}}}")}},
                }, {
                    "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": [sub(f"${{{BUCKET}.Arn}}"), sub(f"${{{BUCKET}.Arn}}/*")],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }]},
            },
        },
        ORIGIN_ACCESS: {
            "Type": "AWS::CloudFront::OriginAccessControl",
            "Properties": {"OriginAccessControlConfig": {
                "Name": f"{APP_NAME}-{stage}-web-client", "OriginAccessControlOriginType": "s3",
                "SigningBehavior": "always", "SigningProtocol": "sigv4",
                "Description": "CloudFront reads the web client's private bucket"}},
        },
        DISTRIBUTION: {
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {"DistributionConfig": {
                "Enabled": True,
                "Comment": f"{APP_NAME} {stage}: the reference web client",
                "DefaultRootObject": "index.html",
                "HttpVersion": "http2and3",
                "PriceClass": "PriceClass_200",  # includes Seoul's edge locations
                "Origins": [{
                    "Id": "web-client-bucket",
                    "DomainName": {"Fn::GetAtt": [BUCKET, "RegionalDomainName"]},
                    "OriginAccessControlId": {"Fn::GetAtt": [ORIGIN_ACCESS, "Id"]},
                    "S3OriginConfig": {"OriginAccessIdentity": ""},  # empty: the OAC signs instead
                }],
                "DefaultCacheBehavior": {
                    "TargetOriginId": "web-client-bucket",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "AllowedMethods": ["GET", "HEAD"],
                    "Compress": True,
                    "CachePolicyId": CACHING_OPTIMIZED,
                    "ResponseHeadersPolicyId": SECURITY_HEADERS,
                },
            }},
        },
    }


def web_client_outputs() -> dict:
    return {
        "WebClientBucket": {"Value": {"Ref": BUCKET}, "Description": "Upload web/ here"},
        "WebClientUrl": {"Value": sub(f"https://${{{DISTRIBUTION}.DomainName}}"),
                         "Description": "The web client's origin (add it to CORS_ALLOWED_ORIGINS)"},
    }
