//! A TCP proxy the test controls, between a program and PostgreSQL (as pg-boss's tests put
//! one between the queue and its database): [`Proxy::cut`] drops every live connection and
//! closes new ones as soon as they arrive; [`Proxy::blackhole`] drops every live connection
//! and holds new ones open without ever answering (a dead network: only the client's connect
//! timeout ends them); [`Proxy::restore`] forwards again. The shared PostgreSQL server itself
//! is never touched.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A thread-based TCP proxy on `127.0.0.1:<port>` forwarding to one upstream address.
#[derive(Debug)]
pub struct Proxy {
    port: u16,
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    upstream: SocketAddr,
    cut: AtomicBool,
    /// While cut: hold new connections silently instead of closing them.
    blackhole: AtomicBool,
    /// The connections held by the black hole.
    held: Mutex<Vec<TcpStream>>,
    stopped: AtomicBool,
    /// Both ends of every forwarded connection, so that a cut can shut them down.
    live: Mutex<Vec<TcpStream>>,
    accepted: AtomicUsize,
}

impl Proxy {
    /// Listens on `127.0.0.1:0` and forwards every connection to `upstream`.
    pub fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("the proxy binds a port");
        let port = listener.local_addr().expect("a local address").port();
        let inner = Arc::new(Inner {
            upstream,
            cut: AtomicBool::new(false),
            blackhole: AtomicBool::new(false),
            held: Mutex::new(Vec::new()),
            stopped: AtomicBool::new(false),
            live: Mutex::new(Vec::new()),
            accepted: AtomicUsize::new(0),
        });
        let accept = Arc::clone(&inner);
        thread::spawn(move || accept_loop(&listener, &accept));
        Self { port, inner }
    }

    /// A proxy to the PostgreSQL server of a `postgres://user@host:port/db` URL (port 5432
    /// when the URL names none).
    pub fn to_postgres(url: &str) -> Self {
        Self::start(postgres_addr(url))
    }

    /// The port the proxy listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `url` (a `postgres://…` URL) with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let userinfo = authority
            .rsplit_once('@')
            .map(|(user, _)| format!("{user}@"))
            .unwrap_or_default();
        format!("{scheme}://{userinfo}127.0.0.1:{}/{path}", self.port)
    }

    /// Drops every live connection and closes every new one at once, until [`Proxy::restore`].
    pub fn cut(&self) {
        self.inner.blackhole.store(false, Ordering::SeqCst);
        self.inner.cut.store(true, Ordering::SeqCst);
        self.drop_live();
    }

    /// Drops every live connection and holds every new one open without a byte of answer,
    /// until [`Proxy::restore`].
    pub fn blackhole(&self) {
        self.inner.blackhole.store(true, Ordering::SeqCst);
        self.inner.cut.store(true, Ordering::SeqCst);
        self.drop_live();
    }

    fn drop_live(&self) {
        let live = std::mem::take(&mut *self.inner.live.lock().expect("the proxy's lock"));
        for stream in live {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Forwards new connections again (the connections a black hole held are closed).
    pub fn restore(&self) {
        self.inner.cut.store(false, Ordering::SeqCst);
        self.inner.blackhole.store(false, Ordering::SeqCst);
        let held = std::mem::take(&mut *self.inner.held.lock().expect("the proxy's lock"));
        for stream in held {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// How many connections the proxy has accepted (forwarded or closed).
    pub fn accepted(&self) -> usize {
        self.inner.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        self.cut();
        // Wake the accept loop so that it sees `stopped`.
        let _ = TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], self.port)),
            Duration::from_secs(1),
        );
    }
}

fn accept_loop(listener: &TcpListener, inner: &Arc<Inner>) {
    for client in listener.incoming() {
        if inner.stopped.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        inner.accepted.fetch_add(1, Ordering::SeqCst);
        if inner.cut.load(Ordering::SeqCst) {
            if inner.blackhole.load(Ordering::SeqCst) {
                inner.held.lock().expect("the proxy's lock").push(client);
            } else {
                let _ = client.shutdown(Shutdown::Both);
            }
            continue;
        }
        let Ok(server) = TcpStream::connect_timeout(&inner.upstream, Duration::from_secs(5)) else {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let clones = (
            client.try_clone(),
            server.try_clone(),
            client.try_clone(),
            server.try_clone(),
        );
        let (Ok(c1), Ok(s1), Ok(c2), Ok(s2)) = clones else {
            continue;
        };
        {
            let mut live = inner.live.lock().expect("the proxy's lock");
            // A cut that happened while this connection was being set up wins.
            if inner.cut.load(Ordering::SeqCst) {
                let _ = client.shutdown(Shutdown::Both);
                let _ = server.shutdown(Shutdown::Both);
                continue;
            }
            live.push(client);
            live.push(server);
        }
        thread::spawn(move || pump(c1, s1));
        thread::spawn(move || pump(s2, c2));
    }
}

/// Copies `from` to `to` until either side ends, then shuts both down.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// The host and port of a `postgres://` URL.
fn postgres_addr(url: &str) -> SocketAddr {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().expect("a numeric port")),
        None => (host_port, 5432),
    };
    let host = if host.is_empty() || host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .expect("a resolvable PostgreSQL host")
        .next()
        .expect("an address")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let proxy = Proxy::start("127.0.0.1:9".parse().unwrap());
        let port = proxy.port();
        assert_eq!(
            proxy.url_for("postgres://postgres@127.0.0.1:5432/e2e_x?connect_timeout=2"),
            format!("postgres://postgres@127.0.0.1:{port}/e2e_x?connect_timeout=2")
        );
        assert_eq!(
            postgres_addr("postgres://u:p@127.0.0.1:5433/db"),
            "127.0.0.1:5433".parse().unwrap()
        );
        assert_eq!(
            postgres_addr("postgresql://localhost/db"),
            "127.0.0.1:5432".parse().unwrap()
        );
    }

    #[test]
    fn forwards_and_cuts() {
        let echo = TcpListener::bind("127.0.0.1:0").unwrap();
        let upstream = echo.local_addr().unwrap();
        thread::spawn(move || {
            for stream in echo.incoming() {
                let Ok(mut stream) = stream else { break };
                thread::spawn(move || {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = stream.read(&mut buf) {
                        if n == 0 || stream.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let proxy = Proxy::start(upstream);
        let addr = SocketAddr::from(([127, 0, 0, 1], proxy.port()));
        let mut a = TcpStream::connect(addr).unwrap();
        a.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        a.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        a.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");

        proxy.cut();
        // The live connection ends.
        assert_eq!(a.read(&mut buf).unwrap_or(0), 0);
        // A new one is closed at once.
        let mut b = TcpStream::connect(addr).unwrap();
        b.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = b.write_all(b"ping");
        assert_eq!(b.read(&mut buf).unwrap_or(0), 0);

        proxy.blackhole();
        // A new one is held: no answer, no close.
        let mut h = TcpStream::connect(addr).unwrap();
        h.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        h.write_all(b"ping").unwrap();
        let err = h.read(&mut buf).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{err}"
        );

        proxy.restore();
        // The held one is closed.
        h.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(h.read(&mut buf).unwrap_or(0), 0);
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(b"pong").unwrap();
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"pong");
    }
}
