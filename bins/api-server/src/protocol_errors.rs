//! JSON bodies for the answers the HTTP/1 layer gives on its own.
//!
//! actix-http answers a request it cannot parse (a malformed request line, a path or header
//! block longer than it reads, too many headers, no `Host`, an unknown HTTP version) or whose
//! head arrives too slowly, before any of the application runs: a bare `400`, `408` or `431`
//! with `content-length: 0`, then it closes the connection. It has no hook for these answers,
//! so [`JsonErrors`] wraps each connection's stream and gives them a JSON body like every other
//! answer of the server.
//!
//! It recognises them by what no answer of the application has: an error status with an empty
//! body. Every error the application sends has a JSON body, so a non-zero `content-length`,
//! also in an answer to `HEAD`; and the HTTP/1 layer writes such an answer last, in one piece,
//! before closing. So only a write that ends with a complete response head of status 400 or
//! more and `content-length: 0` is rewritten; every other write passes through untouched, after
//! one look at its last four bytes.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::{ErrorBody, ErrorCode};

/// How far back from the end of a write a response head is looked for.
const MAX_HEAD: usize = 2_048;

/// A connection's stream whose bodiless error answers get a JSON body.
#[derive(Debug)]
pub struct JsonErrors<T> {
    io: T,
    /// A rewritten answer not yet written, and how much of it was.
    pending: Vec<u8>,
    written: usize,
}

impl<T> JsonErrors<T> {
    /// Wraps a connection's stream.
    pub fn new(io: T) -> Self {
        Self {
            io,
            pending: Vec::new(),
            written: 0,
        }
    }
}

impl<T: AsyncWrite + Unpin> JsonErrors<T> {
    /// Writes what is pending of a rewritten answer.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonErrors<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonErrors<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        match with_json_error_body(buf) {
            Some(rewritten) => {
                // Taken whole; written from `pending` now and by the flush that follows.
                this.pending = rewritten;
                if let Poll::Ready(Err(e)) = this.poll_pending(cx) {
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(buf.len()))
            }
            None => Pin::new(&mut this.io).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// `buf` with its last response given a JSON body, if `buf` ends with a complete response head
/// of status 400 or more and `content-length: 0` (see the module's documentation); else `None`.
fn with_json_error_body(buf: &[u8]) -> Option<Vec<u8>> {
    if !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let tail = &buf[buf.len().saturating_sub(MAX_HEAD)..];
    let start = buf.len() - tail.len() + rfind(tail, b"HTTP/1.")?;
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(&buf[start..]) {
        Ok(httparse::Status::Complete(len)) if start + len == buf.len() => {}
        _ => return None,
    }
    let code = response.code.filter(|code| *code >= 400)?;
    let empty = response
        .headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("content-length") && h.value.trim_ascii() == b"0");
    if !empty {
        return None;
    }
    let status = actix_web::http::StatusCode::from_u16(code).ok()?;
    let body = serde_json::to_string(&ErrorBody {
        error: message(code),
        code: ErrorCode::for_status(status),
    })
    .ok()?;
    let mut out = Vec::with_capacity(start + MAX_HEAD + body.len());
    out.extend_from_slice(&buf[..start]);
    out.extend_from_slice(
        format!(
            "HTTP/1.{} {code} {}\r\n",
            response.version.unwrap_or(1),
            response.reason.unwrap_or_default()
        )
        .as_bytes(),
    );
    for header in response.headers.iter() {
        if !header.name.eq_ignore_ascii_case("content-length") {
            out.extend_from_slice(header.name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(header.value);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(
        format!(
            "content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    Some(out)
}

/// What went wrong, for each status the HTTP/1 layer answers on its own.
fn message(code: u16) -> String {
    match code {
        400 => "malformed HTTP request: its request line (method, path up to 64 KiB, HTTP/1.0 \
                or HTTP/1.1), a header, or the Host header HTTP/1.1 requires could not be read"
            .to_owned(),
        408 => "the request's head was not received in time".to_owned(),
        431 => "the request has more than 96 header fields, or a head over 128 KiB".to_owned(),
        _ => actix_web::http::StatusCode::from_u16(code)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("error")
            .to_lowercase(),
    }
}

/// The position of the last occurrence of `needle` in `haystack`.
fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARE_400: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\ndate: Sun, 06 Dec 2026 01:06:11 GMT\r\n\r\n";

    fn split(out: &[u8]) -> (String, serde_json::Value) {
        let text = String::from_utf8(out.to_vec()).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        (head.to_owned(), serde_json::from_str(body).unwrap())
    }

    #[test]
    fn a_bare_error_answer_gets_a_json_body_and_keeps_its_headers() {
        let out = with_json_error_body(BARE_400).unwrap();
        let (head, body) = split(&out);
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains("connection: close"), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(!head.contains("content-length: 0"), "{head}");
        assert!(body["error"]
            .as_str()
            .unwrap()
            .starts_with("malformed HTTP"));
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.to_string().len());
    }

    #[test]
    fn an_answer_before_it_in_the_same_write_is_kept() {
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 15\r\ncontent-type: application/json\r\n\r\n{\"status\":\"ok\"}";
        let out = with_json_error_body(&[&ok[..], BARE_400].concat()).unwrap();
        assert!(out.starts_with(ok));
        let (_, body) = split(&out[ok.len()..]);
        assert!(body["error"].is_string());
        assert_eq!(body["code"], "invalid_field");
    }

    #[test]
    fn every_other_write_passes_through() {
        for untouched in [
            // An error of the application: it has a body.
            &b"HTTP/1.1 404 Not Found\r\ncontent-length: 21\r\n\r\n{\"error\":\"not found\"}"[..],
            // Its answer to HEAD: the length of the body it would have.
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 21\r\n\r\n",
            // Success without a body.
            b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\n",
            // A body that merely ends like a head, or half a head.
            b"{\"a\":1}\r\n\r\n",
            &BARE_400[..BARE_400.len() - 2],
        ] {
            assert_eq!(with_json_error_body(untouched), None, "{untouched:?}");
        }
    }
}
