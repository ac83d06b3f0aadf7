//! The API's error shape for requests hyper refuses before the router sees
//! them.
//!
//! hyper's HTTP/1 parser answers a request it cannot parse (a NUL byte in a
//! header, a URI past its limit, a header section too large) itself, with a
//! bare status line and an empty body, and closes the connection; it has no
//! hook for the response. Every other error of the API is the JSON shape
//! `{"error":{"code","message"}}`, so a client should not need a second way
//! to read errors. The connection's writes are watched instead: hyper's own
//! error responses have a signature no response of the router has (the
//! router answers every error with a JSON body, see `error.rs`), and such a
//! response is rewritten with a JSON body before it reaches the socket.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A listener whose connections answer hyper's parse errors in JSON.
pub struct JsonParseErrors(pub TcpListener);

impl Listener for JsonParseErrors {
    type Io = Connection<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = Listener::accept(&mut self.0).await;
        (Connection::new(io), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Listener::local_addr(&self.0)
    }
}

/// One connection; see the module's documentation.
pub struct Connection<IO> {
    io: IO,
    /// A rewritten response being written, how much of it is out, and how
    /// many bytes of hyper's buffer it stands for.
    rewritten: Option<(Vec<u8>, usize, usize)>,
}

impl<IO> Connection<IO> {
    fn new(io: IO) -> Self {
        Self {
            io,
            rewritten: None,
        }
    }
}

/// What hyper writes for a request it refused while parsing: a 4xx status
/// line, `connection: close` and `content-length: 0`, nothing after the head.
const HYPER_MARK: &[u8] = b"\r\nconnection: close\r\ncontent-length: 0\r\n";

/// hyper's error response as the API's: the same head with a JSON body.
fn rewrite(response: &[u8]) -> Option<Vec<u8>> {
    let status = response.strip_prefix(b"HTTP/1.1 4")?;
    if !response.ends_with(b"\r\n\r\n") {
        return None;
    }
    let mark = response
        .windows(HYPER_MARK.len())
        .position(|w| w == HYPER_MARK)?;
    let (code, message) = match status.get(..2)? {
        b"00" => (
            "bad_request",
            "the request could not be parsed: a malformed request line or header",
        ),
        b"14" => (
            "uri_too_long",
            "the request's URI is longer than the server accepts",
        ),
        b"31" => (
            "headers_too_large",
            "the request's headers are larger than the server accepts",
        ),
        _ => ("bad_request", "the request could not be parsed"),
    };
    let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
    let head_end = mark + b"\r\nconnection: close\r\n".len();
    let rest = &response[mark + HYPER_MARK.len()..];
    let mut out = Vec::with_capacity(response.len() + body.len() + 64);
    out.extend_from_slice(&response[..head_end]);
    out.extend_from_slice(b"content-type: application/json\r\n");
    out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    out.extend_from_slice(rest);
    out.extend_from_slice(body.as_bytes());
    Some(out)
}

impl<IO: AsyncRead + Unpin> AsyncRead for Connection<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Connection<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.rewritten.is_none() {
            match rewrite(buf) {
                Some(response) => this.rewritten = Some((response, 0, buf.len())),
                None => return Pin::new(&mut this.io).poll_write(cx, buf),
            }
        }
        // A write that returned Pending is retried with the same buffer, so
        // the rewritten response is finished before hyper hears it is out.
        let Some((response, sent, stands_for)) = &mut this.rewritten else {
            return Poll::Ready(Ok(0));
        };
        while *sent < response.len() {
            match Pin::new(&mut this.io).poll_write(cx, &response[*sent..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *sent += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let stands_for = *stands_for;
        this.rewritten = None;
        Poll::Ready(Ok(stands_for))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    /// Not vectored: hyper then writes each response head as one buffer,
    /// which is what `rewrite` looks at.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_bare_errors_get_a_json_body_and_nothing_else_changes() {
        let bare = b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 0\r\ndate: Fri, 27 Nov 2026 12:43:46 GMT\r\n\r\n";
        let json = String::from_utf8(rewrite(bare).expect("rewritten")).expect("utf-8");
        let (head, body) = json.split_once("\r\n\r\n").expect("head and body");
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
        assert!(head.contains("\r\ncontent-type: application/json\r\n"));
        assert!(head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())));
        assert!(
            head.ends_with("date: Fri, 27 Nov 2026 12:43:46 GMT"),
            "{head}"
        );
        let body: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(body["error"]["code"], "uri_too_long");

        // The router's own responses are left alone: they carry a body.
        let routed = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        assert!(rewrite(routed).is_none());
        let ok = b"HTTP/1.1 204 No Content\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        assert!(rewrite(ok).is_none());
    }
}
