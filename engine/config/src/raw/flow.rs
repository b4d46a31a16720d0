//! Raw flow file (`flows/<id>.yaml`).

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    pub id: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub triggers: Vec<Trigger>,
    #[serde(default)]
    pub slots: BTreeMap<String, Slot>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    pub intent: String,
    pub examples: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A step exactly as written: one "kind" key plus optional modifiers. The schema guarantees
/// exactly one kind key; `compile` checks that modifiers belong to that kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: String,
    #[serde(default)]
    pub say: Option<String>,
    #[serde(default)]
    pub collect: Option<String>,
    #[serde(default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub reprompts: Option<Vec<String>>,
    #[serde(default)]
    pub max_attempts: Option<u32>,
    #[serde(default)]
    pub validate: Option<String>,
    #[serde(default)]
    pub invalid: Option<String>,
    #[serde(default)]
    pub set: Option<BTreeMap<String, String>>,
    #[serde(default, rename = "if")]
    pub cases: Option<Vec<Case>>,
    #[serde(default)]
    pub call: Option<String>,
    #[serde(default)]
    pub args: Option<Vec<String>>,
    #[serde(default)]
    pub into: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub on_failure: Option<Target>,
    #[serde(default)]
    pub find_date: Option<String>,
    #[serde(default)]
    pub new_date: Option<String>,
    #[serde(default)]
    pub verify_name: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub goto: Option<Target>,
    #[serde(default)]
    pub end: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub when: String,
    pub goto: Target,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Target {
    Step(String),
    Flow(FlowTarget),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowTarget {
    pub flow: String,
    #[serde(default)]
    pub step: Option<String>,
}
