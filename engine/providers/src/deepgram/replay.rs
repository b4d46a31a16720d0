//! Audio kept for replay after a dropped Deepgram socket.
//!
//! Deepgram reports `start`/`duration` in seconds from the start of *its* stream. A final that
//! ends at `t` seconds has transcribed every byte before `t × bytes_per_second`; that audio is
//! safe and can be forgotten. Everything after it may be lost if the socket dies, so it is kept
//! here and sent again on the new socket. Offsets restart at 0 on every connection (Deepgram's
//! clock restarts too), which [`ReplayBuffer::rebase`] handles.

use std::collections::VecDeque;

use bytes::Bytes;

/// Chunks of audio sent on the current connection that no final has covered yet.
#[derive(Debug, Clone)]
pub struct ReplayBuffer {
    /// (offset in bytes since the current connection opened, chunk)
    chunks: VecDeque<(usize, Bytes)>,
    /// Bytes sent on the current connection.
    sent: usize,
    /// Bytes currently held.
    held: usize,
    max_bytes: usize,
}

impl ReplayBuffer {
    /// A buffer that holds at most `max_bytes` (oldest audio is dropped beyond that).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            chunks: VecDeque::new(),
            sent: 0,
            held: 0,
            max_bytes,
        }
    }

    /// Record a chunk as sent (or about to be sent) on the current connection.
    pub fn push(&mut self, chunk: Bytes) {
        let len = chunk.len();
        self.chunks.push_back((self.sent, chunk));
        self.sent += len;
        self.held += len;
        while self.held > self.max_bytes {
            match self.chunks.pop_front() {
                Some((_, c)) => self.held -= c.len(),
                None => break,
            }
        }
    }

    /// A final covered the stream up to `end_byte`: forget chunks that lie wholly before it.
    /// A chunk straddling the boundary is kept, so at worst a few ms are heard twice, never lost.
    pub fn acknowledge(&mut self, end_byte: usize) {
        while let Some((offset, chunk)) = self.chunks.front() {
            if offset + chunk.len() <= end_byte {
                self.held -= chunk.len();
                self.chunks.pop_front();
            } else {
                break;
            }
        }
    }

    /// A new connection: offsets restart at 0, and the held chunks are what must be replayed
    /// first. Returns them in order; they stay held (re-based) until a final covers them.
    pub fn rebase(&mut self) -> Vec<Bytes> {
        let chunks: Vec<Bytes> = self.chunks.drain(..).map(|(_, c)| c).collect();
        self.sent = 0;
        self.held = 0;
        for c in &chunks {
            self.chunks.push_back((self.sent, c.clone()));
            self.sent += c.len();
            self.held += c.len();
        }
        chunks
    }

    /// Bytes held for replay.
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// Bytes sent on the current connection.
    pub fn sent_bytes(&self) -> usize {
        self.sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(n: usize) -> Bytes {
        Bytes::from(vec![0xFF; n])
    }

    #[test]
    fn acknowledged_audio_is_forgotten_and_the_rest_replayed() {
        let mut b = ReplayBuffer::new(10_000);
        for _ in 0..5 {
            b.push(chunk(160));
        }
        b.acknowledge(330); // covers chunks 0 and 1 fully, chunk 2 partly
        assert_eq!(b.held_bytes(), 3 * 160);
        let replay = b.rebase();
        assert_eq!(replay.len(), 3);
        assert_eq!(b.sent_bytes(), 480);
        b.acknowledge(160);
        assert_eq!(b.held_bytes(), 320);
    }

    #[test]
    fn holds_at_most_max_bytes() {
        let mut b = ReplayBuffer::new(500);
        for _ in 0..10 {
            b.push(chunk(160));
        }
        assert!(b.held_bytes() <= 500);
        assert_eq!(b.sent_bytes(), 1600);
    }
}
