//! Real receivers on loopback for notification tests: an SMTP sink that
//! speaks enough SMTP to take mail, a webhook receiver that checks the
//! HMAC signature and de-duplicates by event id, and a Server-Sent Events
//! client reading a streaming response.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// How long a test waits for something to arrive over loopback.
pub const WAIT: Duration = Duration::from_secs(10);

/// One message the SMTP sink took.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body as sent, dot-stuffing undone, CRLF line ends.
    pub data: String,
}

impl Mail {
    /// A header's value (the first of that name, case-insensitive), its
    /// folded lines joined again (RFC 5322 unfolding).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", "\t");
        unfolded.split("\r\n").find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    /// The body as a mail client shows it: its `Content-Transfer-Encoding`
    /// (quoted-printable or base64, which the sender may pick for long
    /// lines or non-ASCII text) undone.
    pub fn body(&self) -> String {
        use base64::Engine as _;
        let raw = self
            .data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        let encoding = self
            .header("Content-Transfer-Encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes = match encoding.as_str() {
            "quoted-printable" => {
                quoted_printable::decode(raw, quoted_printable::ParseMode::Strict)
                    .expect("a quoted-printable body")
            }
            "base64" => base64::engine::general_purpose::STANDARD
                .decode(raw.replace("\r\n", ""))
                .expect("a base64 body"),
            _ => raw.as_bytes().to_vec(),
        };
        String::from_utf8(bytes).expect("a UTF-8 body")
    }
}

/// The user and password a client gave in `AUTH PLAIN`, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpLogin {
    pub user: String,
    pub password: String,
}

/// What the sink took, shared by its connections.
#[derive(Default)]
struct Sunk {
    mail: Mutex<Vec<Mail>>,
    logins: Mutex<Vec<SmtpLogin>>,
    arrived: Notify,
}

/// An SMTP server on loopback that keeps every message it accepts.
pub struct SmtpSink {
    pub addr: SocketAddr,
    sunk: Arc<Sunk>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    /// A relay that takes mail from anyone, offering no AUTH.
    pub async fn start() -> Self {
        Self::listen(false).await
    }

    /// A relay that offers `AUTH PLAIN`, keeps each login, and takes mail
    /// only after one.
    pub async fn start_with_auth() -> Self {
        Self::listen(true).await
    }

    async fn listen(auth: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let addr = listener.local_addr().expect("addr");
        let sunk = Arc::new(Sunk::default());
        let shared = sunk.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let sunk = shared.clone();
                tokio::spawn(async move {
                    let _ = converse(socket, &sunk, auth).await;
                });
            }
        });
        Self { addr, sunk, task }
    }

    /// `smtp://127.0.0.1:port`, for `BATON_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn messages(&self) -> Vec<Mail> {
        self.sunk.mail.lock().expect("lock").clone()
    }

    /// Every login, in order.
    pub fn logins(&self) -> Vec<SmtpLogin> {
        self.sunk.logins.lock().expect("lock").clone()
    }

    /// Wait until at least `n` messages arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let waiting = self.sunk.arrived.notified();
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if tokio::time::timeout_at(deadline, waiting).await.is_err() {
                return self.messages();
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The address in `MAIL FROM:<a> BODY=8BITMIME` or `RCPT TO:<a>`, without
/// the parameters after it.
fn path_address(line: &str) -> String {
    let path = line
        .split_once(':')
        .map(|(_, p)| p.trim())
        .unwrap_or_default();
    match path.strip_prefix('<').and_then(|p| p.split_once('>')) {
        Some((address, _)) => address.to_owned(),
        None => path
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// `AUTH PLAIN`'s response: base64 of `authzid NUL user NUL password`.
fn plain_login(encoded: &str) -> Option<SmtpLogin> {
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let mut parts = text.split('\0');
    let (_authzid, user, password) = (parts.next()?, parts.next()?, parts.next()?);
    Some(SmtpLogin {
        user: user.to_owned(),
        password: password.to_owned(),
    })
}

/// One line from the client, line end removed; `None` once it hung up.
async fn read_line<R: AsyncBufReadExt + Unpin>(read: &mut R) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    if read.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end().to_owned()))
}

/// One SMTP conversation: EHLO/HELO, AUTH PLAIN (when offered), MAIL,
/// RCPT, DATA, RSET, NOOP, QUIT.
async fn converse(socket: tokio::net::TcpStream, sunk: &Sunk, auth: bool) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut logged_in = !auth;
    loop {
        let Some(line) = read_line(&mut read).await? else {
            return Ok(());
        };
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or_default().to_ascii_uppercase();
        match verb.as_str() {
            // Multi-line replies, as RFC 5321 has them: `250-` until the last.
            "EHLO" if auth => {
                write
                    .write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 AUTH PLAIN\r\n")
                    .await?
            }
            "EHLO" => {
                write
                    .write_all(b"250-sink.test\r\n250 8BITMIME\r\n")
                    .await?
            }
            "HELO" => write.write_all(b"250 sink.test\r\n").await?,
            "AUTH" if !auth || logged_in => write.write_all(b"503 no AUTH now\r\n").await?,
            "AUTH" => {
                if !words
                    .next()
                    .is_some_and(|m| m.eq_ignore_ascii_case("PLAIN"))
                {
                    write.write_all(b"504 only PLAIN\r\n").await?;
                    continue;
                }
                let response = match words.next() {
                    Some(initial) => initial.to_owned(),
                    None => {
                        write.write_all(b"334 \r\n").await?;
                        read_line(&mut read).await?.unwrap_or_default()
                    }
                };
                match plain_login(&response) {
                    Some(login) => {
                        sunk.logins.lock().expect("lock").push(login);
                        logged_in = true;
                        write.write_all(b"235 2.7.0 authenticated\r\n").await?;
                    }
                    None => write.write_all(b"501 malformed PLAIN response\r\n").await?,
                }
            }
            "MAIL" | "RCPT" | "DATA" if !logged_in => {
                write
                    .write_all(b"530 5.7.0 authentication required\r\n")
                    .await?
            }
            "MAIL" => {
                from = path_address(&line);
                to.clear();
                write.write_all(b"250 OK\r\n").await?;
            }
            "RCPT" => {
                to.push(path_address(&line));
                write.write_all(b"250 OK\r\n").await?;
            }
            "DATA" if !to.is_empty() => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let Some(data) = read_data(&mut read).await? else {
                    return Ok(());
                };
                sunk.mail.lock().expect("lock").push(Mail {
                    from: from.clone(),
                    to: std::mem::take(&mut to),
                    data,
                });
                sunk.arrived.notify_waiters();
                write.write_all(b"250 OK queued\r\n").await?;
            }
            "DATA" => write.write_all(b"503 RCPT first\r\n").await?,
            "RSET" | "NOOP" => write.write_all(b"250 OK\r\n").await?,
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"502 not implemented\r\n").await?,
        }
    }
}

/// The message after `DATA`, up to the lone `.`, dot-stuffing undone;
/// `None` if the client hung up first.
async fn read_data<R: AsyncBufReadExt + Unpin>(read: &mut R) -> std::io::Result<Option<String>> {
    let mut data = String::new();
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        if line == ".\r\n" {
            return Ok(Some(data));
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
    }
}

/// One request the webhook receiver got.
#[derive(Debug, Clone)]
pub struct Hook {
    pub event_id: String,
    pub timestamp: String,
    pub body: Value,
    /// What the receiver answered.
    pub status: u16,
}

#[derive(Default)]
struct HookState {
    secret: Mutex<String>,
    /// Answer this many requests with 500 without processing them.
    fail_next: AtomicU32,
    /// Process this many requests, then answer 500 anyway: what a sender
    /// sees when it crashed after sending, before recording the success.
    process_then_fail: AtomicU32,
    requests: Mutex<Vec<Hook>>,
    /// Event ids processed, in order, each once.
    processed: Mutex<Vec<String>>,
    duplicates: AtomicU32,
    bad_signatures: AtomicU32,
    arrived: Notify,
}

/// An HTTP receiver on loopback that verifies `X-Baton-Signature` with the
/// tenant's secret and processes each event id once.
pub struct WebhookReceiver {
    pub url: String,
    state: Arc<HookState>,
    task: tokio::task::JoinHandle<()>,
}

/// `sha256=<hex>` of the body under the secret, checked in constant time;
/// written here independently of the server's own signing code.
pub fn signature_valid(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.strip_prefix("sha256=") else {
        return false;
    };
    if hex.len() != 64 {
        return false;
    }
    let Some(given) = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

async fn receive(
    State(state): State<Arc<HookState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let secret = state.secret.lock().expect("lock").clone();
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let event_id = header("x-baton-event-id");
    let status = if !signature_valid(&secret, &body, &header("x-baton-signature")) {
        state.bad_signatures.fetch_add(1, Ordering::SeqCst);
        StatusCode::UNAUTHORIZED
    } else if json["id"].as_str() != Some(event_id.as_str()) || event_id.is_empty() {
        StatusCode::BAD_REQUEST
    } else if take(&state.fail_next) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        let mut processed = state.processed.lock().expect("lock");
        if processed.contains(&event_id) {
            state.duplicates.fetch_add(1, Ordering::SeqCst);
        } else {
            processed.push(event_id.clone());
        }
        drop(processed);
        if take(&state.process_then_fail) {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        }
    };
    state.requests.lock().expect("lock").push(Hook {
        event_id,
        timestamp: header("x-baton-timestamp"),
        body: json,
        status: status.as_u16(),
    });
    state.arrived.notify_waiters();
    status
}

/// Decrement a counter that is above zero; whether it was.
fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl WebhookReceiver {
    /// Start on a random loopback port, verifying with `secret`.
    pub async fn start(secret: &str) -> Self {
        let state = Arc::new(HookState::default());
        *state.secret.lock().expect("lock") = secret.to_owned();
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind hook");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, state, task }
    }

    pub fn set_secret(&self, secret: &str) {
        *self.state.secret.lock().expect("lock") = secret.to_owned();
    }

    /// Answer the next `n` requests with 500 without processing them.
    pub fn fail_next(&self, n: u32) {
        self.state.fail_next.store(n, Ordering::SeqCst);
    }

    /// Process the next `n` requests but answer 500.
    pub fn process_then_fail(&self, n: u32) {
        self.state.process_then_fail.store(n, Ordering::SeqCst);
    }

    /// Every request, in arrival order.
    pub fn requests(&self) -> Vec<Hook> {
        self.state.requests.lock().expect("lock").clone()
    }

    /// Event ids processed, once each after de-duplication.
    pub fn processed(&self) -> Vec<String> {
        self.state.processed.lock().expect("lock").clone()
    }

    pub fn duplicates(&self) -> u32 {
        self.state.duplicates.load(Ordering::SeqCst)
    }

    pub fn bad_signatures(&self) -> u32 {
        self.state.bad_signatures.load(Ordering::SeqCst)
    }

    /// Wait until at least `n` requests arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Hook> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let waiting = self.state.arrived.notified();
            let requests = self.requests();
            if requests.len() >= n {
                return requests;
            }
            if tokio::time::timeout_at(deadline, waiting).await.is_err() {
                return self.requests();
            }
        }
    }

    /// The distinct processed ids.
    pub fn unique(&self) -> HashSet<String> {
        self.processed().into_iter().collect()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: Option<String>,
    pub data: Value,
}

/// A client reading a `text/event-stream` response as it streams.
pub struct SseClient {
    pub status: reqwest::StatusCode,
    pub content_type: String,
    response: reqwest::Response,
    buffer: String,
}

impl SseClient {
    /// Open `path` with the API key, sending `Last-Event-ID` if given.
    pub async fn connect(base: &str, path: &str, key: &str, last_event_id: Option<&str>) -> Self {
        let client = reqwest::Client::new();
        let mut request = client
            .get(format!("{base}{path}"))
            .bearer_auth(key)
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.expect("stream opened");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Self {
            status: response.status(),
            content_type,
            response,
            buffer: String::new(),
        }
    }

    /// The next event with data (comments and keep-alives skipped), or
    /// `None` if none comes within `within`.
    pub async fn next(&mut self, within: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut data) = (None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                if !data.is_empty() {
                    return Some(SseEvent {
                        id,
                        data: serde_json::from_str(&data).unwrap_or(Value::String(data)),
                    });
                }
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => {
                    self.buffer
                        .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
                }
                _ => return None,
            }
        }
    }
}
