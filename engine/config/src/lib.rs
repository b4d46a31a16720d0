//! Business and flow configuration: YAML + JSON Schema validation, compiled snapshots, hot reload.
