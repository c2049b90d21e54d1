//! The client side of the protocol: WebSocket connections to the server (with the `Origin` it
//! requires, optionally from another loopback source address), agent sign-in, hellos, and a cheap
//! reading of the server frames the bench measures.

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use protocol::{AgentFrame, PROTOCOL_VERSION, ServerFrame, VisitorFrame};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::{COOKIE, ORIGIN};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub type Ws = WebSocketStream<TcpStream>;

/// The site every visitor talks to (configured by default).
pub const SITE: &str = "demo";
/// TCP connect plus WebSocket upgrade.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Hello → welcome.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(20);
/// Connections made from one loopback source address before moving to the next (the
/// ephemeral port range holds ~28,000).
const PER_SOURCE_ADDRESS: usize = 20_000;

/// One server instance as clients see it.
#[derive(Clone)]
pub struct Target {
    pub port: u16,
    /// `http://127.0.0.1:PORT`: the `Origin` every upgrade and sign-in carries.
    pub origin: String,
    made: Arc<AtomicUsize>,
}

impl Target {
    pub fn new(port: u16) -> Target {
        Target {
            port,
            origin: format!("http://127.0.0.1:{port}"),
            made: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The source address of the next connection: the kernel's choice (127.0.0.1) for the first
    /// `PER_SOURCE_ADDRESS`, then 127.0.0.2, 127.0.0.3, … (loopback only).
    fn next_source(&self) -> Option<Ipv4Addr> {
        let block = self.made.fetch_add(1, Ordering::Relaxed) / PER_SOURCE_ADDRESS;
        (block > 0).then(|| Ipv4Addr::new(127, 0, 0, (1 + block).min(254) as u8))
    }

    /// Opens a WebSocket on `path` (`/ws/visitor`, `/ws/agent`).
    pub async fn connect(&self, path: &str, cookie: Option<&str>) -> anyhow::Result<Ws> {
        let work = async {
            let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
            let stream = match self.next_source() {
                None => TcpStream::connect(addr).await?,
                Some(source) => {
                    let socket = TcpSocket::new_v4()?;
                    socket.set_reuseaddr(true)?;
                    socket.bind(SocketAddr::from((source, 0)))?;
                    socket.connect(addr).await?
                }
            };
            stream.set_nodelay(true)?;
            let mut request =
                format!("ws://127.0.0.1:{}{path}", self.port).into_client_request()?;
            let headers = request.headers_mut();
            headers.insert(ORIGIN, HeaderValue::from_str(&self.origin)?);
            if let Some(cookie) = cookie {
                headers.insert(COOKIE, HeaderValue::from_str(cookie)?);
            }
            // Small read buffers: thousands of idle clients live in this process.
            let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
            let (ws, _) =
                tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await?;
            anyhow::Ok(ws)
        };
        timeout(CONNECT_TIMEOUT, work)
            .await
            .context("connect timed out")?
    }

    /// Signs the bench agent in; returns the `Cookie` header value (`fd_session=…`).
    pub async fn login(&self) -> anyhow::Result<String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()?;
        let response = client
            .post(format!("{}/api/login", self.origin))
            .header("origin", &self.origin)
            .json(&serde_json::json!({
                "email": crate::server::AGENT_EMAIL,
                "password": crate::server::AGENT_PASSWORD,
            }))
            .send()
            .await
            .context("POST /api/login")?;
        if !response.status().is_success() {
            bail!("POST /api/login answered {}", response.status());
        }
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.split(';').next().filter(|c| c.starts_with("fd_session=")))
            .map(str::to_owned)
            .context("the sign-in set no fd_session cookie")
    }

    /// An agent console connection that said hello and got `agent_welcome`.
    pub async fn agent(&self, cookie: &str) -> anyhow::Result<Ws> {
        let mut ws = self.connect("/ws/agent", Some(cookie)).await?;
        send(
            &mut ws,
            AgentFrame::Hello {
                v: PROTOCOL_VERSION,
            }
            .to_json(),
        )
        .await?;
        let found = timeout(HELLO_TIMEOUT, async {
            while let Some(frame) = next_text(&mut ws).await? {
                match read(&frame) {
                    Frame::AgentWelcome => return Ok(()),
                    Frame::Error { code, .. } => bail!("agent hello refused: {code}"),
                    _ => {}
                }
            }
            bail!("the agent connection closed before agent_welcome")
        })
        .await;
        found.context("agent hello timed out")??;
        Ok(ws)
    }
}

/// What the welcome said.
#[derive(Debug, Clone, Default)]
pub struct Welcome {
    pub token: Option<String>,
    pub conversation: Option<i64>,
    pub last_seq: u64,
}

/// Says hello as a visitor (resuming with `token` when given) and waits for `welcome`; replayed
/// messages, if any, follow on `ws`.
pub async fn visitor_hello(
    ws: &mut Ws,
    token: Option<&str>,
    last_seq: u64,
) -> anyhow::Result<Welcome> {
    send(ws, hello(token, last_seq)).await?;
    wait_welcome(ws).await
}

pub fn hello(token: Option<&str>, last_seq: u64) -> String {
    VisitorFrame::Hello {
        v: PROTOCOL_VERSION,
        site: SITE.into(),
        token: token.map(str::to_owned),
        last_seq,
        locale: None,
        page_url: None,
    }
    .to_json()
}

pub async fn wait_welcome(ws: &mut Ws) -> anyhow::Result<Welcome> {
    let found = timeout(HELLO_TIMEOUT, async {
        while let Some(text) = next_text(ws).await? {
            if let Some(ServerFrame::Welcome {
                token,
                conversation,
                last_seq,
                ..
            }) = decode_if(&text, &["welcome", "error"])
            {
                return Ok(Welcome {
                    token,
                    conversation,
                    last_seq,
                });
            }
            if let Frame::Error { code, .. } = read(&text) {
                bail!("hello refused: {code}");
            }
        }
        bail!("closed before welcome")
    })
    .await;
    found.context("no welcome in time")?
}

pub fn send_frame(id: &str, body: &str) -> String {
    VisitorFrame::Send {
        id: id.to_owned(),
        body: body.to_owned(),
        context: None,
        attachments: Vec::new(),
    }
    .to_json()
}

pub async fn send(ws: &mut Ws, text: String) -> anyhow::Result<()> {
    ws.send(Message::text(text)).await.context("send failed")
}

/// The next text frame (`None` when the connection ended); pings and pongs are skipped.
pub async fn next_text(ws: &mut Ws) -> anyhow::Result<Option<String>> {
    while let Some(message) = ws.next().await {
        match message? {
            Message::Text(text) => return Ok(Some(text.as_str().to_owned())),
            Message::Close(_) => return Ok(None),
            _ => {}
        }
    }
    Ok(None)
}

/// The frames the bench reacts to; everything else is `Other`.
#[derive(Debug)]
pub enum Frame {
    Ack {
        id: String,
        conversation: i64,
        seq: u64,
    },
    Message {
        id: String,
        conversation: i64,
        seq: u64,
    },
    Error {
        code: String,
        id: Option<String>,
    },
    AgentWelcome,
    Other,
}

/// Reads a server frame. The server writes `type` first, so frames the bench ignores (inbox
/// summaries, presence, typing…) are recognised without parsing them whole.
pub fn read(text: &str) -> Frame {
    match decode_if(text, &["ack", "message", "error", "agent_welcome"]) {
        Some(ServerFrame::Ack {
            id,
            conversation,
            seq,
            ..
        }) => Frame::Ack {
            id,
            conversation,
            seq,
        },
        Some(ServerFrame::Message(m)) => Frame::Message {
            id: m.id,
            conversation: m.conversation,
            seq: m.seq,
        },
        Some(ServerFrame::Error { code, id, .. }) => Frame::Error {
            code: serde_json::to_value(code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("{code:?}")),
            id,
        },
        Some(ServerFrame::AgentWelcome { .. }) => Frame::AgentWelcome,
        _ => Frame::Other,
    }
}

/// Decodes `text` when its type is one of `kinds` (or cannot be told from its first bytes).
fn decode_if(text: &str, kinds: &[&str]) -> Option<ServerFrame> {
    if let Some(rest) = text.strip_prefix("{\"type\":\"")
        && let Some((kind, _)) = rest.split_once('"')
        && !kinds.contains(&kind)
    {
        return None;
    }
    protocol::decode_server(text).ok()
}
