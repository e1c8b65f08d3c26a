//! One small module per AWS service: calls, paginated, mapped to plain values.

pub mod cloudtrail;
pub mod ebs;
pub mod ec2;
pub mod iam;
pub mod kms;
pub mod organizations;
pub mod s3;
