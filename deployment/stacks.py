"""The names of the stacks the app deploys, for the tools that find them in cdk.out/ and in AWS
without importing CDK."""

# AppStagingSynthesizer's staging stack of the app: StagingStack-<app id> (infra/staging.py).
STAGING_STACK_PREFIX = "StagingStack"
