//! A webhook receiver: a small HTTP/1.1 server on 127.0.0.1 that records every delivery it
//! gets (headers, body, when it arrived), answers as the test says, and checks signatures with
//! the Standard Webhooks library, an implementation independent of the server's.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// How the receiver answers one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// This status, with this body.
    Status(u16, String),
    /// No answer for this long, then the connection closes.
    Hang(Duration),
}

impl Reply {
    /// 200, empty.
    pub fn ok() -> Self {
        Self::Status(200, String::new())
    }
}

/// A delivery the receiver got.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`.
    pub signature: String,
    /// The body as sent.
    pub raw: Vec<u8>,
    /// The body, parsed.
    pub body: Value,
    /// When it arrived.
    pub arrived_at: DateTime<Utc>,
    /// Which delivery of this id it is, from 1.
    pub nth: u64,
    /// What the receiver answered.
    pub reply: Reply,
}

impl Delivery {
    /// Whether the signature is valid for `secret`, by the Standard Webhooks library.
    pub fn verifies(&self, secret: &str) -> bool {
        let mut headers = http::HeaderMap::new();
        let mut put = |name: &'static str, value: &str| match value.parse() {
            Ok(value) => {
                headers.insert(name, value);
                true
            }
            Err(_) => false,
        };
        if !(put("webhook-id", &self.id)
            && put("webhook-timestamp", &self.timestamp)
            && put("webhook-signature", &self.signature))
        {
            return false;
        }
        standardwebhooks::Webhook::new(secret)
            .and_then(|hook| hook.verify(&self.raw, &headers))
            .is_ok()
    }
}

type Decide = dyn Fn(&Delivery) -> Reply + Send + Sync;

/// What the receiver got: every delivery, and how many of each id (so that counting them stays
/// cheap as they pile up).
#[derive(Debug, Default)]
struct Got {
    deliveries: Vec<Delivery>,
    per_id: HashMap<String, u64>,
}

/// The receiver: serving until dropped (the listener thread stays, idle).
#[derive(Debug)]
pub struct Receiver {
    /// `http://127.0.0.1:<port>/hook`.
    pub url: String,
    got: Arc<Mutex<Got>>,
}

impl Receiver {
    /// Starts it; `decide` chooses the answer to each delivery (its `nth` says which of its
    /// id's it is). Connections are kept alive between requests, as a real receiver's are.
    pub fn start(decide: impl Fn(&Delivery) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the webhook receiver");
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Got::default()));
        let decide: Arc<Decide> = Arc::new(decide);
        let shared = Arc::clone(&got);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (got, decide) = (Arc::clone(&shared), Arc::clone(&decide));
                thread::spawn(move || {
                    let _ = serve(stream, &got, &*decide);
                });
            }
        });
        Self { url, got }
    }

    /// Every delivery so far, in the order they arrived.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.got.lock().unwrap().deliveries.clone()
    }

    /// How many deliveries arrived.
    pub fn count(&self) -> usize {
        self.got.lock().unwrap().deliveries.len()
    }
}

fn serve(stream: TcpStream, got: &Mutex<Got>, decide: &Decide) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let (mut length, mut id, mut timestamp, mut signature) = (0, "", "", "");
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 || header == "\r\n" {
                break;
            }
            headers.push(header);
        }
        for header in &headers {
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.parse().unwrap_or(0),
                    "webhook-id" => id = value,
                    "webhook-timestamp" => timestamp = value,
                    "webhook-signature" => signature = value,
                    _ => {}
                }
            }
        }
        let mut raw = vec![0; length];
        reader.read_exact(&mut raw)?;
        let reply = {
            let mut got = got.lock().unwrap();
            let nth = {
                let seen = got.per_id.entry(id.to_owned()).or_default();
                *seen += 1;
                *seen
            };
            let mut delivery = Delivery {
                id: id.to_owned(),
                timestamp: timestamp.to_owned(),
                signature: signature.to_owned(),
                body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
                raw,
                arrived_at: Utc::now(),
                nth,
                reply: Reply::ok(),
            };
            delivery.reply = decide(&delivery);
            got.deliveries.push(delivery.clone());
            delivery.reply
        };
        match reply {
            // One write: pieces would wait for the client's delayed acknowledgement.
            Reply::Status(status, body) => stream.write_all(
                format!(
                    "HTTP/1.1 {status} Test\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )?,
            Reply::Hang(time) => {
                thread::sleep(time);
                return Ok(());
            }
        }
    }
}
