//! The engine's tool calls against the store: the executor lives in `vartalaap-tools`, shared
//! with the dialogue tests (`vartalaap test`), so calls and tests run the same code.

pub use vartalaap_tools::{StoreTools, local_to_utc};
