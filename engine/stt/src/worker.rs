//! [`RecogniserWorker`]: a dedicated OS thread that transcribes utterances one at a time.
//!
//! Why a thread of its own rather than `spawn_blocking` per utterance: one Whisper decode is
//! about a second of a whole core. Run from tokio's blocking pool, a burst of calls would start
//! as many decodes at once as there are utterances, all of them slow, and they would also delay
//! the engine turns, store writes and speech synthesis that share that pool. One worker with a
//! bounded queue keeps the cost to one core, answers in arrival order, and says
//! [`SttError::Busy`] at once when the queue is full so the call can react.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

use tokio::sync::oneshot;

use crate::{SttError, Transcript, WhisperRecogniser};

/// Anything that turns one 8 kHz PCM16 utterance into a transcript, synchronously. Implemented
/// by [`WhisperRecogniser`]; tests implement it with scripted answers.
pub trait Recognise: Send + 'static {
    /// Transcribes one utterance of 8 kHz PCM16.
    fn transcribe_8k(&self, pcm: &[i16]) -> Result<Transcript, SttError>;
    /// The languages it understands (ISO 639-1 codes).
    fn languages(&self) -> Vec<String>;
}

impl Recognise for WhisperRecogniser {
    fn transcribe_8k(&self, pcm: &[i16]) -> Result<Transcript, SttError> {
        WhisperRecogniser::transcribe_8k(self, pcm)
    }
    fn languages(&self) -> Vec<String> {
        WhisperRecogniser::languages(self)
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
}

struct Job {
    pcm: Vec<i16>,
    reply: oneshot::Sender<Result<Transcript, SttError>>,
}

/// A recogniser on its own thread; cheap to share (`Arc`) between calls.
#[derive(Debug)]
pub struct RecogniserWorker {
    jobs: SyncSender<Job>,
    queued: Arc<AtomicUsize>,
    languages: Vec<String>,
    name: &'static str,
}

impl RecogniserWorker {
    /// Moves `recogniser` onto a new thread named `stt-<name>` with room for `queue` waiting
    /// utterances. The thread ends when the last handle is dropped.
    pub fn spawn(
        name: &'static str,
        recogniser: impl Recognise,
        queue: usize,
    ) -> std::io::Result<Self> {
        let (jobs, rx) = sync_channel::<Job>(queue.max(1));
        let queued = Arc::new(AtomicUsize::new(0));
        let languages = recogniser.languages();
        let counter = queued.clone();
        std::thread::Builder::new()
            .name(format!("stt-{name}"))
            .spawn(move || {
                for job in rx {
                    counter.fetch_sub(1, Ordering::SeqCst);
                    // The call hung up or gave up waiting: skip the second of CPU.
                    if job.reply.is_closed() {
                        continue;
                    }
                    // A panic inside the model must not take the worker (and every later
                    // call's recognition) down with it.
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        recogniser.transcribe_8k(&job.pcm)
                    }))
                    .unwrap_or_else(|_| Err(SttError::Inference("the recogniser panicked".into())));
                    let _ = job.reply.send(result);
                }
            })?;
        Ok(Self {
            jobs,
            queued,
            languages,
            name,
        })
    }

    /// Loads Whisper (blocking: call it at start-up or from `spawn_blocking`) and starts its
    /// worker thread.
    pub fn whisper(options: crate::WhisperOptions, queue: usize) -> Result<Self, SttError> {
        let recogniser = WhisperRecogniser::load(options)?;
        Self::spawn("whisper", recogniser, queue)
            .map_err(|e| SttError::Inference(format!("could not start the worker thread: {e}")))
    }

    /// A short name for logs (`whisper`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The languages the recogniser understands (ISO 639-1).
    pub fn languages(&self) -> &[String] {
        &self.languages
    }

    /// Utterances waiting for the worker (not counting the one being transcribed).
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// Transcribes one utterance of 8 kHz PCM16 on the worker thread; the async caller only
    /// waits. [`SttError::Busy`] at once when the queue is full.
    pub async fn transcribe(&self, pcm: Vec<i16>) -> Result<Transcript, SttError> {
        let (reply, answer) = oneshot::channel();
        self.queued.fetch_add(1, Ordering::SeqCst);
        match self.jobs.try_send(Job { pcm, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let n = self.queued.fetch_sub(1, Ordering::SeqCst) - 1;
                return Err(SttError::Busy(n));
            }
            Err(TrySendError::Disconnected(_)) => {
                self.queued.fetch_sub(1, Ordering::SeqCst);
                return Err(SttError::Stopped);
            }
        }
        answer.await.unwrap_or(Err(SttError::Stopped))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::mpsc::{Receiver, Sender, channel};
    use std::time::Duration;

    use super::*;

    /// Answers with the utterance length and the thread it ran on; says when it starts and
    /// blocks until released.
    struct Gate {
        started: Mutex<Sender<()>>,
        release: Mutex<Receiver<()>>,
    }

    impl Recognise for Gate {
        fn transcribe_8k(&self, pcm: &[i16]) -> Result<Transcript, SttError> {
            let _ = self.started.lock().unwrap().send(());
            let _ = self.release.lock().unwrap().recv();
            let thread = std::thread::current().name().unwrap_or("").to_string();
            Ok(Transcript {
                text: format!("{} samples on {thread}", pcm.len()),
                confidence: 0.9,
                no_speech_prob: 0.0,
                audio_ms: pcm.len() as u64 / 8,
            })
        }
        fn languages(&self) -> Vec<String> {
            vec!["en".into()]
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_on_its_own_thread_in_order_and_refuses_when_full() {
        let (started_tx, started) = channel();
        let (open, release) = channel();
        let worker = Arc::new(
            RecogniserWorker::spawn(
                "test",
                Gate {
                    started: Mutex::new(started_tx),
                    release: Mutex::new(release),
                },
                1,
            )
            .unwrap(),
        );
        assert_eq!(worker.languages(), ["en"]);
        // First job: taken by the thread, which blocks inside the gate.
        let w = worker.clone();
        let first = tokio::spawn(async move { w.transcribe(vec![0; 800]).await });
        let started = tokio::task::spawn_blocking(move || {
            started.recv().unwrap();
            started
        })
        .await
        .unwrap();
        // Second job: waits in the queue (capacity 1).
        let w = worker.clone();
        let second = tokio::spawn(async move { w.transcribe(vec![0; 1600]).await });
        while worker.queued() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Third: the queue is full, so it is refused at once instead of waiting.
        match worker.transcribe(vec![0; 160]).await {
            Err(SttError::Busy(n)) => assert_eq!(n, 1),
            other => panic!("expected Busy, got {other:?}"),
        }
        open.send(()).unwrap();
        open.send(()).unwrap();
        let a = first.await.unwrap().unwrap();
        let b = second.await.unwrap().unwrap();
        assert_eq!(a.text, "800 samples on stt-test");
        assert_eq!(b.text, "1600 samples on stt-test");
        assert_eq!(b.audio_ms, 200);
        drop(started);
    }

    #[tokio::test]
    async fn a_panicking_recogniser_fails_one_utterance_not_the_worker() {
        struct PanicsOnEmpty;
        impl Recognise for PanicsOnEmpty {
            fn transcribe_8k(&self, pcm: &[i16]) -> Result<Transcript, SttError> {
                assert!(!pcm.is_empty(), "model crashed");
                Ok(Transcript {
                    text: "yes".into(),
                    confidence: 1.0,
                    no_speech_prob: 0.0,
                    audio_ms: 0,
                })
            }
            fn languages(&self) -> Vec<String> {
                vec![]
            }
        }
        let worker = RecogniserWorker::spawn("panics", PanicsOnEmpty, 4).unwrap();
        assert!(matches!(
            worker.transcribe(vec![]).await,
            Err(SttError::Inference(_))
        ));
        assert_eq!(worker.transcribe(vec![1; 10]).await.unwrap().text, "yes");
    }
}
