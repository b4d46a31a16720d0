//! A tiny scripted HTTP/1.1 webhook receiver on 127.0.0.1:0 (keep-alive aware), standing in
//! for the WhatsApp relay. Each request takes the next scripted behaviour; after the script
//! it answers 200. It records every raw attempt and dedupes successful deliveries by
//! idempotency key, as a real relay would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone, Copy)]
pub enum Behaviour {
    Fail500,
    Stall(Duration),
    RateLimited { retry_after_secs: u64 },
    Reject400,
}

#[derive(Debug, Clone)]
pub struct Seen {
    pub authorization: Option<String>,
    pub idempotency_header: Option<String>,
    pub body: serde_json::Value,
    pub answered: u16,
}

#[derive(Default)]
pub struct State {
    pub script: std::collections::VecDeque<Behaviour>,
    pub attempts: Vec<Seen>,
    /// idempotency key → successful deliveries (what a deduping relay forwards is 1 per key).
    pub delivered: HashMap<String, u32>,
}

pub struct Webhook {
    pub url: String,
    pub state: Arc<Mutex<State>>,
}

impl Webhook {
    pub async fn start(script: Vec<Behaviour>) -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/messages", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            script: script.into(),
            ..State::default()
        }));
        let st = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let st = st.clone();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut r = BufReader::new(r);
                    loop {
                        let Some((headers, body)) = read_request(&mut r).await else {
                            return;
                        };
                        let behaviour = st.lock().unwrap().script.pop_front();
                        let json: serde_json::Value =
                            serde_json::from_slice(&body).unwrap_or_default();
                        let key = json["idempotency_key"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        let (status, extra, stall) = match behaviour {
                            Some(Behaviour::Fail500) => (500, String::new(), None),
                            Some(Behaviour::Reject400) => (400, String::new(), None),
                            Some(Behaviour::RateLimited { retry_after_secs }) => {
                                (429, format!("Retry-After: {retry_after_secs}\r\n"), None)
                            }
                            // Recorded as 0: the client gives up before the late 200 arrives.
                            Some(Behaviour::Stall(d)) => (0, String::new(), Some(d)),
                            None => (200, String::new(), None),
                        };
                        {
                            let mut s = st.lock().unwrap();
                            if status == 200 {
                                *s.delivered.entry(key.clone()).or_default() += 1;
                            }
                            s.attempts.push(Seen {
                                authorization: headers.get("authorization").cloned(),
                                idempotency_header: headers.get("idempotency-key").cloned(),
                                body: json,
                                answered: status,
                            });
                        }
                        let status = match stall {
                            Some(d) => {
                                tokio::time::sleep(d).await;
                                200
                            }
                            None => status,
                        };
                        let payload = if status == 200 {
                            format!("{{\"messages\":[{{\"id\":\"wamid.{key}\"}}]}}")
                        } else {
                            "{\"error\":{\"message\":\"scripted\"}}".to_owned()
                        };
                        let resp = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}\r\n{payload}",
                            payload.len()
                        );
                        if w.write_all(resp.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Webhook { url, state }
    }

    pub fn attempts(&self) -> Vec<Seen> {
        self.state.lock().unwrap().attempts.clone()
    }

    pub fn delivered(&self) -> HashMap<String, u32> {
        self.state.lock().unwrap().delivered.clone()
    }
}

async fn read_request<R: tokio::io::AsyncRead + Unpin>(
    r: &mut BufReader<R>,
) -> Option<(HashMap<String, String>, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).await.ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).await.ok()?;
    Some((headers, body))
}
