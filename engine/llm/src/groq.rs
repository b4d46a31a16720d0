//! The Groq implementation of [`Interpreter`] and [`Phraser`] over the providers crate's
//! streaming chat-completions client.
//!
//! Two clients with different deadlines share one configuration: understanding must finish
//! inside the turn budget (the engine cannot act before it), phrasing must *start* inside it
//! (first token) and may then stream for longer while the first sentence is already playing.

use std::time::Duration;

use futures_util::future::BoxFuture;
use vartalaap_core::Interpretation;
use vartalaap_providers::groq::{
    ChatMessage, ChatRequest, ChatStream, FinishReason, GroqClient, GroqConfig, LlmEvent,
    ToolChoice,
};

use crate::LlmSettings;
use crate::context::TurnContext;
use crate::failure::Failure;
use crate::prompt::{PhrasePromptParts, interpret_prompt, phrase_prompt};
use crate::provider::{Interpreter, PhraseRequest, Phraser, TokenStream};
use crate::schema::{TOOL_NAME, interpret_tool, interpretation_from};

/// Groq-backed understanding and phrasing. Cheap to clone.
#[derive(Debug, Clone)]
pub struct GroqLlm {
    understand: GroqClient,
    phrase: GroqClient,
    max_answer_tokens: u32,
}

fn with_deadlines(mut cfg: GroqConfig, first_token: Duration, total: Duration) -> GroqConfig {
    cfg.connect_timeout = cfg.connect_timeout.min(first_token);
    cfg.first_token_timeout = first_token;
    cfg.total_timeout = total.max(first_token);
    cfg
}

impl GroqLlm {
    /// Builds both clients from one configuration (base URL, key and model from settings;
    /// deadlines from `settings`).
    pub fn new(cfg: GroqConfig, settings: &LlmSettings) -> Result<GroqLlm, Failure> {
        let understand = GroqClient::new(with_deadlines(
            cfg.clone(),
            settings.timeout,
            settings.timeout,
        ))?;
        let phrase = GroqClient::new(with_deadlines(
            cfg,
            settings.timeout,
            settings.answer_timeout,
        ))?;
        Ok(GroqLlm {
            understand,
            phrase,
            max_answer_tokens: settings.max_answer_tokens,
        })
    }

    /// The understanding request for one utterance (public so fixtures can be recorded with
    /// exactly what the engine sends).
    pub fn interpret_request(ctx: &TurnContext, utterance: &str) -> ChatRequest {
        ChatRequest {
            messages: vec![
                ChatMessage::System {
                    content: interpret_prompt(ctx, utterance),
                },
                ChatMessage::User {
                    content: utterance.to_string(),
                },
            ],
            tools: vec![interpret_tool(ctx)],
            // "auto" plus an instruction, not a forced function: Llama on Groq fails forced
            // tool calls more often (protocol notes §3.6).
            tool_choice: Some(ToolChoice::Auto),
            temperature: Some(0.0),
            max_completion_tokens: Some(200),
            parallel_tool_calls: Some(false),
        }
    }

    /// The phrasing request for one answer.
    pub fn phrase_request(request: &PhraseRequest<'_>, max_tokens: u32) -> ChatRequest {
        let system = phrase_prompt(
            request.ctx,
            PhrasePromptParts {
                template_text: request.template_text,
                following: request.following,
                lang: request.lang,
            },
        );
        ChatRequest {
            messages: vec![
                ChatMessage::System { content: system },
                ChatMessage::User {
                    content: request.utterance.to_string(),
                },
            ],
            tools: Vec::new(),
            tool_choice: None,
            temperature: Some(0.3),
            max_completion_tokens: Some(max_tokens),
            parallel_tool_calls: None,
        }
    }

    /// Sends the understanding request and reads the tool call.
    async fn understand(
        &self,
        ctx: &TurnContext,
        utterance: &str,
    ) -> Result<Option<Interpretation>, Failure> {
        let request = GroqLlm::interpret_request(ctx, utterance);
        let stream = self.understand.stream(&request).await?;
        let (_text, calls) = stream.collect_text().await?;
        let call = calls
            .into_iter()
            .find(|c| c.name == TOOL_NAME)
            .ok_or(Failure::NoToolCall)?;
        let args = call.arguments_json().map_err(|_| Failure::BadArguments)?;
        interpretation_from(&args, ctx).map(Some)
    }
}

impl Interpreter for GroqLlm {
    fn name(&self) -> &'static str {
        "groq"
    }

    fn interpret<'a>(
        &'a self,
        ctx: &'a TurnContext,
        utterance: &'a str,
    ) -> BoxFuture<'a, Result<Option<Interpretation>, Failure>> {
        Box::pin(self.understand(ctx, utterance))
    }
}

/// Content deltas of a chat stream; tool calls are ignored (none are offered), a cut at the
/// token limit is an error so a half sentence is never spoken.
fn tokens(stream: ChatStream) -> TokenStream {
    Box::pin(futures_util::stream::unfold(
        Some(stream),
        |state| async move {
            let mut stream = state?;
            loop {
                match stream.next().await {
                    None => return None,
                    Some(Err(e)) => return Some((Err(Failure::from(e)), None)),
                    Some(Ok(LlmEvent::Delta(t))) => return Some((Ok(t), Some(stream))),
                    Some(Ok(LlmEvent::ToolCalls(_))) => {}
                    Some(Ok(LlmEvent::Done {
                        finish_reason: Some(FinishReason::Length),
                        ..
                    })) => return Some((Err(Failure::Truncated), None)),
                    Some(Ok(LlmEvent::Done { .. })) => return None,
                }
            }
        },
    ))
}

impl Phraser for GroqLlm {
    fn name(&self) -> &'static str {
        "groq"
    }

    fn phrase<'a>(
        &'a self,
        request: &'a PhraseRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<TokenStream>, Failure>> {
        Box::pin(async move {
            let body = GroqLlm::phrase_request(request, self.max_answer_tokens);
            let stream = self.phrase.stream(&body).await?;
            Ok(Some(tokens(stream)))
        })
    }
}
