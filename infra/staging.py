"""The app's staging stack: AppStagingSynthesizer's DefaultStagingStack, with nothing left after
`cdk destroy`.

The default staging stack empties its bucket on delete with a CDK custom-resource Lambda, and
that Lambda would log to /aws/lambda/<its name>: a log group Lambda creates at run time (the
Lambda's role has the AWS managed basic execution policy, logs:CreateLogGroup on *), which
CloudFormation never knew and never deletes, with no retention. CDK has no option for it, so
StagingStack gives that Lambda a log group of the stack instead and takes CreateLogGroup away.
The Lambda only exists once the bucket does, and the synthesizer creates the bucket while it
synthesizes (to hold the app stack's template), in `add_file`: hence the override.

The same override narrows the bucket's grants. CDK grants wildcard actions there (its generic
grantReadWrite / grantRead and the auto-delete statement: s3:GetBucket*, s3:GetObject*, s3:List*,
s3:DeleteObject*, s3:Abort*); StagingStack rewrites those policies with the explicit actions each
principal is seen to call (in aws-cdk CLI 2.x's asset publisher and aws-cdk-lib's bucket-emptying
handler), so the app's roles can do nothing else to the bucket. The bulk job's bucket, emptied
the same way, gets the same two treatments (log_to_a_group_of_its_stack, narrow_emptied_bucket_policy).
"""

from __future__ import annotations

from typing import Any, cast

import jsii
from aws_cdk import App, CfnResource, CustomResourceProviderBase, Environment, RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk.app_staging_synthesizer_alpha import (
    AppStagingSynthesizer,
    DefaultStagingStack,
    FileStagingLocation,
    ImageStagingLocation,
    IStagingResources,
    IStagingResourcesFactory,
)

from deployment.settings import DeploymentSettings
from deployment.stacks import STAGING_STACK_PREFIX
from infra.checkov_skips import skip_repository_checks, skip_staging_checks
from infra.config import log_retention
from infra.nag import acknowledge
from infra.nodes import default_child, find_child

# Construct ids aws-cdk-lib gives the bucket-emptying Lambda's provider and its parts.
AUTO_DELETE_PROVIDER = "Custom::S3AutoDeleteObjectsCustomResourceProvider"

# The bucket-emptying Lambda empties only a bucket with this tag, and fails on a bucket with no
# tags at all. CDK adds it with Tags.of(), an aspect, and aspects have run before the synthesizer
# creates the bucket: StagingStack sets it on the bucket itself.
AUTO_DELETE_TAG = "aws-cdk:auto-delete-objects"

# The s3 actions each principal uses on the staging bucket, instead of CDK's wildcards.
# `cdk deploy`'s asset publisher (file role): GetBucketLocation (is the bucket ours?), ListBucket
# (ListObjectsV2: is the asset there already?), GetEncryptionConfiguration (which encryption
# header to upload with), PutObject (single and multipart uploads), AbortMultipartUpload (a failed
# multipart upload). It never reads back or deletes an object.
FILE_PUBLISHING_ACTIONS = [
    "s3:AbortMultipartUpload",
    "s3:GetBucketLocation",
    "s3:GetEncryptionConfiguration",
    "s3:ListBucket",
    "s3:PutObject",
]
# The bootstrap deploy role, which CloudFormation uses to read the stack's template (GetObject; the
# template URL names no version). ListBucket and GetBucketLocation read bucket metadata only: with
# them a missing template is reported as missing, not as access denied.
DEPLOY_ACTIONS = ["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"]
# The bucket-emptying Lambda on stack deletion: reads the bucket's auto-delete tag, adds a deny of
# new uploads to the bucket policy, lists every version and deletes it (the bucket is versioned).
BUCKET_EMPTYING_ACTIONS = [
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:GetBucketPolicy",
    "s3:GetBucketTagging",
    "s3:ListBucketVersions",
    "s3:PutBucketPolicy",
]
# Construct ids aws-cdk-lib gives the staging bucket and the file publishing role.
STAGING_BUCKET = "CdkStagingBucket"
FILE_PUBLISHING_ROLE = "CdkFileRole"
# s3.BlockPublicAccess.BLOCK_ALL and {"scanOnPush": True} as the L1 properties type them.
BLOCK_ALL = s3.CfnBucket.PublicAccessBlockConfigurationProperty(
    block_public_acls=True, block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True
)
SCAN_ON_PUSH = ecr.CfnRepository.ImageScanningConfigurationProperty(scan_on_push=True)


class StagingStack(DefaultStagingStack):
    def __init__(
        self,
        scope: App,
        construct_id: str,
        *,
        config: DeploymentSettings,
        env: Environment,
        qualifier: str,
        deploy_role_arn: str | None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=f"{STAGING_STACK_PREFIX}-{config.app_id}",
            env=env,
            qualifier=qualifier,
            deploy_role_arn=deploy_role_arn,
            app_id=config.app_id,
            staging_bucket_encryption=s3.BucketEncryption.S3_MANAGED,
            # One ECR repository per image, keeping the last N images.
            image_asset_version_count=config.image_keep_last,
            # Deleted with the stack: the repository (EmptyOnDelete) and the bucket (emptied by the Lambda).
            auto_delete_staging_assets=True,
        )
        self._log_retention = log_retention(config)
        self._deploy_role_arn = deploy_role_arn
        self._accept_findings()

    def _accept_findings(self) -> None:
        """The staging stack is AppStagingSynthesizer's code and creates its bucket and roles only
        while synthesizing, so the acknowledgements sit on the stack; each names one finding."""
        acknowledge(
            self,
            "AwsSolutions-IAM5[Resource::*]",
            "The image publishing role's ecr:GetAuthorizationToken has no resource-level permissions; its other "
            "actions are scoped to this app's repository.",
        )
        acknowledge(
            self,
            "AwsSolutions-IAM5[Resource::<CdkStagingBucket1636058C.Arn>/*]",
            "Asset publishing writes objects under generated keys, in this app's own staging bucket only.",
        )
        acknowledge(
            self,
            "AwsSolutions-S1",
            "The bucket holds only CDK deployment artifacts written by CDK's roles, and is emptied and deleted with "
            "the app; access logs would need a second bucket that outlives it.",
        )

    def add_file(self, asset: Any) -> FileStagingLocation:  # type: ignore[override]  # jsii passes the struct
        # jsii hands an override its struct argument whole; the base method takes it as keywords.
        location = super().add_file(**asset._values)
        provider = cast(CustomResourceProviderBase | None, self.node.try_find_child(AUTO_DELETE_PROVIDER))
        if provider is not None and provider.node.try_find_child("Logs") is None:
            log_group = log_to_a_group_of_its_stack(provider, self._log_retention)
            # Once, right after the base method created the bucket, the provider and their grants.
            bucket = find_child(self, STAGING_BUCKET, s3.Bucket)
            default_child(bucket, s3.CfnBucket).tags.set_tag(AUTO_DELETE_TAG, "true")
            # Only CDK's roles ever read or write it: no ACL or policy may make it public.
            default_child(bucket, s3.CfnBucket).public_access_block_configuration = BLOCK_ALL
            self._grant_only_the_s3_actions_used(bucket, provider)
            skip_staging_checks(bucket, find_child(provider, "Handler", CfnResource), log_group)
        return location

    def add_docker_image(self, asset: Any) -> ImageStagingLocation:  # type: ignore[override]  # jsii passes the struct
        location = super().add_docker_image(**asset._values)
        # Each pushed image is scanned for known vulnerabilities (ECR basic scanning costs nothing).
        for repository in (child for child in self.node.children if isinstance(child, ecr.Repository)):
            default_child(repository, ecr.CfnRepository).image_scanning_configuration = SCAN_ON_PUSH
            # Once per repository: this runs again for every image of the app.
            if not default_child(repository, ecr.CfnRepository).get_metadata("checkov"):
                skip_repository_checks(repository)
        return location

    def _grant_only_the_s3_actions_used(self, bucket: s3.Bucket, emptying_provider: CustomResourceProviderBase) -> None:
        """Replaces the documents CDK rendered for the file role's policy and the bucket policy (its
        L2 documents cannot drop a statement). The bucket is S3-managed encrypted: no key to grant."""
        bucket_and_objects = [bucket.bucket_arn, bucket.arn_for_objects("*")]
        file_role_policy = self.node.find_child(FILE_PUBLISHING_ROLE).node.find_child("DefaultPolicy")
        default_child(file_role_policy, iam.CfnPolicy).policy_document = iam.PolicyDocument(
            statements=[iam.PolicyStatement(actions=FILE_PUBLISHING_ACTIONS, resources=bucket_and_objects)]
        )
        deploy = []
        if self._deploy_role_arn:
            deploy.append(
                iam.PolicyStatement(
                    principals=[iam.ArnPrincipal(self._deploy_role_arn)],
                    actions=DEPLOY_ACTIONS,
                    resources=bucket_and_objects,
                )
            )
        narrow_emptied_bucket_policy(bucket, emptying_provider, *deploy)


def narrow_emptied_bucket_policy(
    bucket: s3.Bucket, emptying_provider: CustomResourceProviderBase, *others: iam.PolicyStatement
) -> None:
    """Replaces the policy CDK rendered for a TLS-only bucket that is emptied on delete (its L2
    document cannot drop a statement): the TLS Deny, the emptying Lambda's explicit actions, `others`."""
    bucket_and_objects = [bucket.bucket_arn, bucket.arn_for_objects("*")]
    statements = [
        # What enforce_ssl=True puts there, kept as is: a Deny only restricts.
        iam.PolicyStatement(
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["s3:*"],
            resources=bucket_and_objects,
            conditions={"Bool": {"aws:SecureTransport": "false"}},
        ),
        iam.PolicyStatement(
            principals=[iam.ArnPrincipal(emptying_provider.role_arn)],
            actions=BUCKET_EMPTYING_ACTIONS,
            resources=bucket_and_objects,
        ),
        *others,
    ]
    policy = bucket.policy
    assert policy is not None, "enforce_ssl=True gives the bucket a policy"
    default_child(policy, s3.CfnBucketPolicy).policy_document = iam.PolicyDocument(statements=statements)


def log_to_a_group_of_its_stack(provider: CustomResourceProviderBase, retention: logs.RetentionDays) -> logs.LogGroup:
    """The bucket-emptying Lambda logs to a log group of the stack, not to one it would create."""
    log_group = logs.LogGroup(provider, "Logs", retention=retention, removal_policy=RemovalPolicy.DESTROY)
    # Deleted after the Lambda (which refers to it), so its last run still has somewhere to log.
    find_child(provider, "Handler", CfnResource).add_property_override(
        "LoggingConfig.LogGroup", log_group.log_group_name
    )
    # Instead of the basic execution policy: without logs:CreateLogGroup, no run (not even one
    # racing the stack's deletion) can create a log group outside the stack.
    find_child(provider, "Role", CfnResource).add_property_deletion_override("ManagedPolicyArns")
    provider.add_to_role_policy(
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": log_group.log_group_arn,
        }
    )
    return log_group


@jsii.implements(IStagingResourcesFactory)
class StagingStackFactory:
    """What `AppStagingSynthesizer.default_resources` does, with StagingStack for DefaultStagingStack."""

    def __init__(self, config: DeploymentSettings) -> None:
        self._config = config

    def obtain_staging_resources(
        self, stack: Stack, *, environment_string: str, qualifier: str, deploy_role_arn: str | None = None
    ) -> IStagingResources:
        # jsii calls StagingStack's add_file and add_docker_image with their struct (see there).
        app = App.of(stack)
        assert isinstance(app, App), "the stack is in the app"
        return StagingStack(  # type: ignore[return-value]  # jsii passes the struct
            app,
            f"{STAGING_STACK_PREFIX}-{self._config.app_id}-{environment_string}",
            config=self._config,
            env=Environment(account=stack.account, region=stack.region),
            qualifier=qualifier,
            deploy_role_arn=deploy_role_arn,
        )


def staging_synthesizer(config: DeploymentSettings) -> AppStagingSynthesizer:
    """Assets go to an app-owned staging stack instead of the shared bootstrap bucket/repository:
    one ECR repository per image that keeps the last N images, and `cdk destroy` of the staging
    stack empties and deletes its bucket and repositories (CDK never cleans the shared ones)."""
    return AppStagingSynthesizer.custom_factory(factory=StagingStackFactory(config), once_per_env=True)
