"""The CDK-free layer shared by infra, local and tools: what is deployed, read without CDK."""
