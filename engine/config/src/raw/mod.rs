//! Serde types mirroring the YAML files one-to-one (no validation beyond shape).
//!
//! These are the "low" half of the two-stage config (ripgrep's `LowArgs`): the schema has already
//! accepted the document, so deserializing rarely fails; `compile` then turns them into the
//! validated types in [`crate::model`]. `deny_unknown_fields` everywhere keeps this in lock-step
//! with the schema's `additionalProperties: false`.

pub mod business;
pub mod flow;
