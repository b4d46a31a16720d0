//! Running tool calls synchronously, for tests and the text chat.
//!
//! On a phone call the edge runs tool calls asynchronously against storage. Tests and the
//! terminal chat have no reason to: [`drive`] feeds an input, runs every tool call the turn
//! produces through a [`ToolExecutor`] and feeds the results back until the conversation
//! waits for the caller again.

use chrono::NaiveDateTime;

use crate::conversation::Conversation;
use crate::io::{Input, Output, ToolCall, ToolResult};
use vartalaap_script::ScriptHost;

/// Tool calls made per turn before [`drive`] stops (a flow that keeps calling tools is a bug).
const MAX_TOOL_CALLS_PER_TURN: usize = 16;

/// Executes tool calls immediately.
pub trait ToolExecutor {
    /// Runs one call at local time `now`.
    fn execute(&mut self, now: NaiveDateTime, call: &ToolCall) -> ToolResult;
}

/// Handles `input` and every tool call that follows; returns all outputs, tool calls included
/// (in order), so callers can assert on actions.
pub fn drive(
    conv: &mut Conversation,
    now: NaiveDateTime,
    input: Input,
    host: &dyn ScriptHost,
    tools: &mut dyn ToolExecutor,
) -> Vec<Output> {
    let mut all = Vec::new();
    let mut next = Some(input);
    let mut calls = 0;
    while let Some(input) = next.take() {
        let out = conv.handle(now, input, host);
        for o in &out {
            if let Output::Tool(call) = o
                && calls < MAX_TOOL_CALLS_PER_TURN
            {
                calls += 1;
                let result = tools.execute(now, call);
                next = Some(Input::ToolResult {
                    call_id: call.call_id,
                    result,
                });
            }
        }
        all.extend(out);
    }
    all
}

/// Like [`drive`] for the start of a call.
pub fn drive_start(
    conv: &mut Conversation,
    first: Vec<Output>,
    now: NaiveDateTime,
    host: &dyn ScriptHost,
    tools: &mut dyn ToolExecutor,
) -> Vec<Output> {
    let mut all = Vec::new();
    let mut pending = None;
    for o in &first {
        if let Output::Tool(call) = o {
            pending = Some(Input::ToolResult {
                call_id: call.call_id,
                result: tools.execute(now, call),
            });
        }
    }
    all.extend(first);
    if let Some(input) = pending {
        all.extend(drive(conv, now, input, host, tools));
    }
    all
}
