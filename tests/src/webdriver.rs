//! A headless Chromium driven over W3C WebDriver by the system's `chromedriver`, for the
//! calendar page's browser tests. The few commands those tests use, over the blocking HTTP
//! client the other end-to-end tests use: an async WebDriver crate would bring its own runtime
//! and HTTP stack for the same eight JSON calls.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::free_port;

/// The key W3C WebDriver names an element reference by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A `chromedriver` process and one browser session; both end on drop.
#[derive(Debug)]
pub struct Browser {
    driver: Child,
    base: String,
    client: reqwest::blocking::Client,
}

/// An element of the page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Element {
    /// The element as a script's argument or an action's origin.
    pub fn reference(&self) -> Value {
        json!({ ELEMENT: self.0 })
    }
}

/// A message the browser's console took.
#[derive(Debug, Clone)]
pub struct ConsoleEntry {
    /// `SEVERE`, `WARNING`, `INFO`…
    pub level: String,
    /// Where it came from (`javascript`, `network`, `console-api`…) and what it says.
    pub message: String,
}

impl Browser {
    /// Starts `chromedriver` and a headless Chromium `width`×`height` whose clock is in the
    /// IANA zone `zone`. Fails, naming the packages, when either program is missing.
    pub fn start(zone: &str, width: u32, height: u32) -> Self {
        let port = free_port();
        let driver = Command::new(program("chromedriver"))
            .arg(format!("--port={port}"))
            .env("TZ", zone)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts (Debian packages chromium and chromium-driver)");
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client");
        let root = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while client
            .get(format!("{root}/status"))
            .send()
            .map(|r| !r.status().is_success())
            .unwrap_or(true)
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": program("chromium"),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--lang=en-GB", "--hide-scrollbars", "--no-first-run",
                    format!("--window-size={width},{height}"),
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let answer: Value = client
            .post(format!("{root}/session"))
            .json(&capabilities)
            .send()
            .and_then(|r| r.json())
            .expect("chromedriver answers the new session");
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {answer}"))
            .to_owned();
        Self {
            driver,
            base: format!("{root}/session/{session}"),
            client,
        }
    }

    fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        if let Some(error) = answer["value"]["error"].as_str() {
            panic!(
                "WebDriver {method} {path}: {error}: {}",
                answer["value"]["message"]
            );
        }
        answer["value"].clone()
    }

    fn post(&self, path: &str, body: Value) -> Value {
        self.command(reqwest::Method::POST, path, Some(body))
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url }));
    }

    /// Resizes the window.
    pub fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({ "width": width, "height": height }));
    }

    /// The elements `css` selects, in document order.
    pub fn all(&self, css: &str) -> Vec<Element> {
        let found = self.post(
            "/elements",
            json!({ "using": "css selector", "value": css }),
        );
        found
            .as_array()
            .expect("a list of elements")
            .iter()
            .map(|e| Element(e[ELEMENT].as_str().expect("an element").to_owned()))
            .collect()
    }

    /// The first element `css` selects, waiting up to 10 s for one.
    pub fn find(&self, css: &str) -> Element {
        let mut found = None;
        let appeared = crate::eventually(Duration::from_secs(10), || {
            found = self.all(css).into_iter().next();
            found.is_some()
        });
        assert!(appeared, "no element matches {css}");
        found.expect("found")
    }

    /// Clicks the element, as a person would (scrolled into view first).
    pub fn click(&self, element: &Element) {
        self.post(&format!("/element/{}/click", element.0), json!({}));
    }

    /// Types `text` into the element.
    pub fn type_into(&self, element: &Element, text: &str) {
        self.post(
            &format!("/element/{}/value", element.0),
            json!({ "text": text }),
        );
    }

    /// Presses keys on whatever has the focus (`\u{E004}` is Tab, `\u{E007}` Enter).
    pub fn keys(&self, keys: &str) {
        let mut actions = Vec::new();
        for key in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": key.to_string()}));
            actions.push(json!({"type": "keyUp", "value": key.to_string()}));
        }
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        );
    }

    /// The element's text as shown.
    pub fn text(&self, element: &Element) -> String {
        self.command(
            reqwest::Method::GET,
            &format!("/element/{}/text", element.0),
            None,
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Runs `script` (a function body; `arguments` are `args`) and answers what it returns.
    pub fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
    }

    /// Runs `script` with a callback as its last argument and answers what it calls it with.
    pub fn eval_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.post("/execute/async", json!({ "script": script, "args": args }))
    }

    /// Drags `element` with the mouse and drops it `(dx, dy)` pixels from the centre of
    /// `onto`, through a point 10 pixels off, as a hand does.
    pub fn drag(&self, element: &Element, onto: &Element, dx: i64, dy: i64) {
        let actions = vec![
            json!({"type": "pointerMove", "duration": 0, "origin": element.reference(), "x": 0, "y": 0}),
            json!({"type": "pointerDown", "button": 0}),
            json!({"type": "pointerMove", "duration": 50, "origin": "pointer", "x": 10, "y": 10}),
            json!({"type": "pointerMove", "duration": 250, "origin": onto.reference(), "x": dx, "y": dy}),
            json!({"type": "pointerUp", "button": 0}),
        ];
        self.post(
            "/actions",
            json!({"actions": [{"type": "pointer", "id": "mouse",
                                "parameters": {"pointerType": "mouse"}, "actions": actions}]}),
        );
        self.command(reqwest::Method::DELETE, "/actions", None);
    }

    /// A PNG of the window.
    pub fn screenshot(&self) -> Vec<u8> {
        let data = self.command(reqwest::Method::GET, "/screenshot", None);
        base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("base64 text"))
            .expect("a PNG in base64")
    }

    /// The console's messages since the last call (chromedriver's log of the browser).
    pub fn console(&self) -> Vec<ConsoleEntry> {
        let entries = self.post("/se/log", json!({ "type": "browser" }));
        entries
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|e| ConsoleEntry {
                        level: e["level"].as_str().unwrap_or_default().to_owned(),
                        message: e["message"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.client.delete(&self.base).send();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `name` on the `PATH`, or its Debian place.
fn program(name: &str) -> String {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .map(|path| path.display().to_string())
        .unwrap_or_else(|| format!("/usr/bin/{name}"))
}
