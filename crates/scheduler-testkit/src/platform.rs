//! A fake social platform behind a publisher adapter: a small HTTP server on 127.0.0.1 that
//! takes what `publish-worker` POSTs, answers as the test says (published, an error status,
//! a rate limit, or a hang past the worker's timeout) and records every post it got.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::Value;

/// How the platform answers one post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 200: the post is up (the platform's id is `pp_<log id>`).
    Publish,
    /// This status, with this `Retry-After` (seconds) if any: the post is not up.
    Status(u16, Option<u32>),
    /// No answer for this long (past the worker's timeout): the post is up, as when a
    /// platform publishes and its answer is lost.
    Hang(Duration),
    /// 200 after this long: a slow upload.
    Slow(Duration),
}

/// A post the platform received.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The log's id, from the body.
    pub log_id: String,
    /// The attempt, from the body.
    pub attempt: u64,
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    /// What the platform answered.
    pub answer: Answer,
    /// The whole body.
    pub body: Value,
}

impl Received {
    /// Whether the post is on the platform after this request.
    pub fn is_up(&self) -> bool {
        matches!(
            self.answer,
            Answer::Publish | Answer::Hang(_) | Answer::Slow(_)
        )
    }
}

type Decide = dyn Fn(&Value, u64) -> Answer + Send + Sync;

/// The fake platform: serving until dropped (the listener thread stays, idle).
#[derive(Debug)]
pub struct FakePlatform {
    /// `http://127.0.0.1:<port>/publish`.
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl FakePlatform {
    /// Starts it; `decide(body, nth)` chooses the answer to a post (`nth` counts this log's
    /// posts from 1).
    pub fn start(decide: impl Fn(&Value, u64) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake platform");
        let url = format!("http://{}/publish", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let decide: Arc<Decide> = Arc::new(decide);
        let shared = Arc::clone(&received);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (received, decide) = (Arc::clone(&shared), Arc::clone(&decide));
                thread::spawn(move || {
                    let _ = serve(stream, &received, &*decide);
                });
            }
        });
        Self { url, received }
    }

    /// Every post received so far, in the order they arrived.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn serve(
    stream: TcpStream,
    received: &Mutex<Vec<Received>>,
    decide: &Decide,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0usize;
    let mut key = None;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim().to_owned();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "idempotency-key" => key = Some(value),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let log_id = body["log"]["id"].as_str().unwrap_or_default().to_owned();
    let answer = {
        let mut received = received.lock().unwrap();
        let nth = 1 + received.iter().filter(|r| r.log_id == log_id).count() as u64;
        let answer = decide(&body, nth);
        received.push(Received {
            attempt: body["attempt"].as_u64().unwrap_or(0),
            log_id: log_id.clone(),
            idempotency_key: key,
            answer: answer.clone(),
            body,
        });
        answer
    };
    let mut stream = stream;
    if let Answer::Slow(time) = answer {
        thread::sleep(time);
    }
    let response = match answer {
        Answer::Publish | Answer::Slow(_) => {
            let body = format!(
                r#"{{"platform_post_id": "pp_{log_id}", "permalink": "https://platform.example/p/{log_id}"}}"#
            );
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        Answer::Status(status, retry_after) => {
            let header = retry_after
                .map(|s| format!("Retry-After: {s}\r\n"))
                .unwrap_or_default();
            format!("HTTP/1.1 {status} Fake\r\n{header}Content-Length: 4\r\nConnection: close\r\n\r\nnope")
        }
        Answer::Hang(time) => {
            thread::sleep(time);
            return Ok(());
        }
    };
    stream.write_all(response.as_bytes())
}
