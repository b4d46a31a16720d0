//! Cloud provider clients (Deepgram, Groq, Edge TTS, Plivo REST) and protocol-faithful mocks.
