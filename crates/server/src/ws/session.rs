//! What both kinds of sessions share: the inbound/outbound events, the outgoing side with clean
//! closing, and a per-connection rate limit.

use crate::hub::{Delivery, HubEvent, Subscription};
use crate::limits::{Bucket, Rate, RetryAfter};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use protocol::{ErrorCode, FrameError, ServerFrame};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a session reads from its socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    Text(String),
    Binary,
    /// A WebSocket ping (answered by the transport; counted against the frame limit).
    Ping,
    /// A frame past the transport's hard limit; the transport cannot continue reading.
    TooLarge,
    /// A frame the transport refused (bad UTF-8: 1007, protocol violation: 1002), with the close
    /// code and reason to answer it with.
    Malformed(u16, &'static str),
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
/// The server is restarting: reconnect (RFC 6455 registry: Service Restart).
pub const CLOSE_RESTART: u16 = 1012;
pub const CLOSE_TOO_BIG: u16 = 1009;

/// How long a client has to say `hello`.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(15);
/// How long we wait for the peer to finish the close handshake.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The writing half of a session. A client that does not drain its socket within `timeout`
/// is a slow consumer: the connection is given up (it reconnects and resumes from its last
/// sequence number) rather than buffering for it without bound.
pub struct Out<O> {
    sink: O,
    timeout: Duration,
    pub open: bool,
}

impl<O: Sink<Outbound> + Unpin> Out<O> {
    pub fn new(sink: O, timeout: Duration) -> Self {
        Out {
            sink,
            timeout,
            open: true,
        }
    }

    pub async fn send(&mut self, frame: ServerFrame) {
        if !self.open {
            return;
        }
        match tokio::time::timeout(self.timeout, self.sink.send(Outbound::Frame(frame))).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => self.open = false,
            Err(_) => {
                tracing::info!("closing a connection that stopped reading (slow consumer)");
                self.open = false;
            }
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
            retry_after_ms: None,
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
            let _ =
                tokio::time::timeout(self.timeout, self.sink.send(Outbound::Close(code, reason)))
                    .await;
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

/// What woke a live session.
pub enum Wake {
    /// A text frame from the client, within the frame limit.
    Text(String),
    /// A text frame over the frame limit: to be refused (naming the message it carried).
    Limited(String, RetryAfter),
    Event(Arc<HubEvent>),
    /// Hub events were dropped: rebuild from the store.
    Lagged,
    /// The session is over: the client left, sent what ends it, or the server is stopping
    /// (each already answered, the socket closed).
    Done,
}

/// Waits for the next thing a live session must handle. What both kinds of sessions do alike
/// is done here: the frame limit, pings, binary and oversized frames, the client's close, and
/// closing with 1012 when the server stops.
pub async fn next_wake<I, O>(
    out: &mut Out<O>,
    inbound: &mut I,
    limit: &mut FrameLimit,
    events: &mut Subscription,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> Wake
where
    I: Stream<Item = Inbound> + Unpin,
    O: Sink<Outbound> + Unpin,
{
    loop {
        tokio::select! {
            item = inbound.next() => {
                let Some(item) = item else { return Wake::Done };
                if let Err(wait) = limit.allow() {
                    match item {
                        Inbound::Text(text) => return Wake::Limited(text, wait),
                        Inbound::Closed => return Wake::Done,
                        _ => {
                            Box::pin(out.send(ServerFrame::rate_limited("too many frames; slow down", None, wait.millis()))).await;
                            continue;
                        }
                    }
                }
                match item {
                    Inbound::Text(text) => return Wake::Text(text),
                    Inbound::Ping => {}
                    Inbound::Closed => {
                        Box::pin(out.close(inbound, 1000, "bye")).await;
                        return Wake::Done;
                    }
                    Inbound::TooLarge => {
                        Box::pin(out.error(ErrorCode::TooLarge, "frame too large")).await;
                        Box::pin(out.close(inbound, CLOSE_TOO_BIG, "frame too large")).await;
                        return Wake::Done;
                    }
                    Inbound::Malformed(code, reason) => {
                        Box::pin(out.close(inbound, code, reason)).await;
                        return Wake::Done;
                    }
                    Inbound::Binary => {
                        Box::pin(out.error(ErrorCode::BinaryNotSupported, "send JSON text frames")).await;
                    }
                }
            }
            _ = shutdown.changed() => {
                if *shutdown.borrow_and_update() {
                    Box::pin(out.close(inbound, CLOSE_RESTART, "server restarting; reconnect")).await;
                    return Wake::Done;
                }
            }
            delivery = events.recv() => return match delivery {
                Delivery::Event(event) => Wake::Event(event),
                Delivery::Lagged => Wake::Lagged,
            },
        }
    }
}

/// The frame limit of one connection (`[limits] frames_per_connection`).
pub struct FrameLimit {
    bucket: Bucket,
    rate: Rate,
}

impl FrameLimit {
    pub fn new(rate: Rate) -> Self {
        FrameLimit {
            bucket: Bucket::full(rate, Instant::now()),
            rate,
        }
    }

    pub fn allow(&mut self) -> Result<(), RetryAfter> {
        self.bucket.take(self.rate, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_limit_allows_a_burst_then_refuses() {
        let mut limit = FrameLimit::new(Rate::new(3, Duration::from_secs(3600)));
        assert!((0..3).all(|_| limit.allow().is_ok()));
        assert!(limit.allow().is_err());
        let mut off = FrameLimit::new(Rate::OFF);
        assert!((0..1000).all(|_| off.allow().is_ok()));
    }
}
