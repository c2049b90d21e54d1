//! What both kinds of sessions share: the inbound/outbound events, the outgoing side with clean
//! closing, and a per-connection rate limit.

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use protocol::{ErrorCode, FrameError, ServerFrame};
use std::time::{Duration, Instant};

/// What a session reads from its socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    Text(String),
    Binary,
    /// A frame past the transport's hard limit; the transport cannot continue reading.
    TooLarge,
    Closed,
}

/// What a session writes to its socket (one at a time, so the size difference is harmless).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    Frame(ServerFrame),
    Close(u16, &'static str),
}

pub const CLOSE_POLICY: u16 = 1008;
pub const CLOSE_TOO_BIG: u16 = 1009;

/// How long a client has to say `hello`.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(15);
/// How long we wait for the peer to finish the close handshake.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The writing half of a session.
pub struct Out<O> {
    sink: O,
    pub open: bool,
}

impl<O: Sink<Outbound> + Unpin> Out<O> {
    pub fn new(sink: O) -> Self {
        Out { sink, open: true }
    }

    pub async fn send(&mut self, frame: ServerFrame) {
        if self.open && self.sink.send(Outbound::Frame(frame)).await.is_err() {
            self.open = false;
        }
    }

    pub async fn error(&mut self, code: ErrorCode, message: impl Into<String>) {
        self.send(ServerFrame::error(code, message)).await;
    }

    pub async fn frame_error(&mut self, e: FrameError) {
        self.send(ServerFrame::Error {
            code: e.code,
            message: e.message,
            id: e.id,
        })
        .await;
    }

    /// Sends a Close frame, then keeps reading until the peer completes the handshake, so the
    /// connection ends cleanly instead of with a reset.
    pub async fn close<I: Stream<Item = Inbound> + Unpin>(
        &mut self,
        inbound: &mut I,
        code: u16,
        reason: &'static str,
    ) {
        if self.open {
            let _ = self.sink.send(Outbound::Close(code, reason)).await;
            self.open = false;
        }
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
            while let Some(item) = inbound.next().await {
                if item == Inbound::Closed {
                    break;
                }
            }
        })
        .await;
    }
}

/// Token bucket: `burst` frames at once, refilled at `per_sec`.
pub struct RateLimit {
    tokens: f64,
    burst: f64,
    per_sec: f64,
    last: Instant,
}

impl RateLimit {
    pub fn new(burst: u32, per_sec: f64) -> Self {
        RateLimit {
            tokens: f64::from(burst),
            burst: f64::from(burst),
            per_sec,
            last: Instant::now(),
        }
    }

    pub fn allow(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Frames per connection: a burst of 40, then 10 a second.
pub fn frame_limit() -> RateLimit {
    RateLimit::new(40, 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_allows_a_burst_then_refuses() {
        let mut limit = RateLimit::new(3, 0.0);
        assert!(limit.allow() && limit.allow() && limit.allow());
        assert!(!limit.allow());
    }
}
