//! One small module per AWS service: calls, paginated, mapped to plain values.

pub mod cloudtrail;
pub mod ec2;
pub mod iam;
