//! This node's counters for `/metrics` (Prometheus text format): open WebSocket connections,
//! frames in and out, acknowledged messages with the time from receiving a message to
//! acknowledging it (a histogram), SLA breaches this node recorded. Lock-free atomics, so
//! counting costs nothing measurable on the hot path. Figures that belong to the cluster (the
//! queue) are read from the database when scraped; per-node counters add up across nodes.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Which endpoint a connection came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Visitor,
    Agent,
}

impl Kind {
    const ALL: [Kind; 2] = [Kind::Visitor, Kind::Agent];

    fn label(self) -> &'static str {
        match self {
            Kind::Visitor => "visitor",
            Kind::Agent => "agent",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Upper bounds of the ack latency histogram, in seconds.
const BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct Histogram {
    /// Observations at or below each bound (not cumulative: summed when rendered).
    counts: [AtomicU64; BUCKETS.len()],
    /// Observations above the last bound.
    over: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        match BUCKETS.iter().position(|b| seconds <= *b) {
            Some(i) => self.counts[i].fetch_add(1, Ordering::Relaxed),
            None => self.over.fetch_add(1, Ordering::Relaxed),
        };
        self.sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut total = 0;
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            total += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {total}");
        }
        total += self.over.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {total}");
        let _ = writeln!(
            out,
            "{name}_sum{{{labels}}} {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count{{{labels}}} {total}");
    }
}

#[derive(Default)]
pub struct Metrics {
    /// The queue's length and when it was counted: `/metrics` is unauthenticated, so the count
    /// (one bounded `count(*)`) runs at most once per `QUEUE_EVERY` whoever asks.
    queue: tokio::sync::Mutex<Option<(std::time::Instant, Option<u64>)>>,
    connections: [AtomicU64; 2],
    frames_in: [AtomicU64; 2],
    frames_out: [AtomicU64; 2],
    ack_latency: [Histogram; 2],
    sla_breaches: AtomicU64,
}

/// Holds one open connection in the gauge until dropped.
pub struct ConnectionCount {
    metrics: Arc<Metrics>,
    kind: Kind,
}

impl Drop for ConnectionCount {
    fn drop(&mut self) {
        self.metrics.connections[self.kind.index()].fetch_sub(1, Ordering::Relaxed);
    }
}

/// How long a counted queue length is served again.
const QUEUE_EVERY: Duration = Duration::from_secs(5);

impl Metrics {
    /// Open conversations waiting for an agent (counted up to 100,000), at most once per
    /// `QUEUE_EVERY`; `None` when the database did not answer.
    pub async fn queue(&self, store: &dyn store::Store) -> Option<u64> {
        let mut cached = self.queue.lock().await;
        if let Some((at, n)) = *cached
            && at.elapsed() < QUEUE_EVERY
        {
            return n;
        }
        let n = store.unassigned_count(100_000).await.ok();
        *cached = Some((std::time::Instant::now(), n));
        n
    }

    pub fn connected(self: &Arc<Self>, kind: Kind) -> ConnectionCount {
        self.connections[kind.index()].fetch_add(1, Ordering::Relaxed);
        ConnectionCount {
            metrics: self.clone(),
            kind,
        }
    }

    pub fn frame_in(&self, kind: Kind) {
        self.frames_in[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn frame_out(&self, kind: Kind) {
        self.frames_out[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// A message was stored and acknowledged `took` after its frame was read.
    pub fn acked(&self, kind: Kind, took: Duration) {
        self.ack_latency[kind.index()].observe(took);
    }

    pub fn sla_breached(&self) {
        self.sla_breaches.fetch_add(1, Ordering::Relaxed);
    }

    /// Prometheus lines; `queue` is the number of open conversations waiting for an agent.
    pub fn render(&self, out: &mut String, queue: Option<u64>) {
        let per_kind =
            |out: &mut String, name: &str, help: &str, kind: &str, v: &[AtomicU64; 2]| {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
                for k in Kind::ALL {
                    let _ = writeln!(
                        out,
                        "{name}{{kind=\"{}\"}} {}",
                        k.label(),
                        v[k.index()].load(Ordering::Relaxed)
                    );
                }
            };
        per_kind(
            out,
            "frontdesk_connections",
            "Open WebSocket connections on this node.",
            "gauge",
            &self.connections,
        );
        per_kind(
            out,
            "frontdesk_frames_received_total",
            "Frames read from WebSocket clients (text, binary and pings).",
            "counter",
            &self.frames_in,
        );
        per_kind(
            out,
            "frontdesk_frames_sent_total",
            "Frames written to WebSocket clients.",
            "counter",
            &self.frames_out,
        );
        let name = "frontdesk_ack_latency_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} From reading a message to its commit, just before its ack is sent; \
             its count is the acks sent (a resend is acknowledged again).\n# TYPE {name} histogram"
        );
        for k in Kind::ALL {
            self.ack_latency[k.index()].render(out, name, &format!("kind=\"{}\"", k.label()));
        }
        let _ = writeln!(
            out,
            "# HELP frontdesk_sla_breaches_total SLA deadlines this node recorded as breached.\n\
             # TYPE frontdesk_sla_breaches_total counter\nfrontdesk_sla_breaches_total {}",
            self.sla_breaches.load(Ordering::Relaxed)
        );
        if let Some(queue) = queue {
            let _ = writeln!(
                out,
                "# HELP frontdesk_queue_length Open conversations waiting for an agent (the \
                 cluster's, from the database).\n# TYPE frontdesk_queue_length gauge\n\
                 frontdesk_queue_length {queue}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_is_cumulative_and_counts_every_observation() {
        let m = Metrics::default();
        m.acked(Kind::Visitor, Duration::from_micros(300));
        m.acked(Kind::Visitor, Duration::from_millis(3));
        m.acked(Kind::Visitor, Duration::from_secs(9));
        let mut out = String::new();
        m.render(&mut out, Some(4));
        let line = |prefix: &str| {
            out.lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("no {prefix} in\n{out}"))
                .rsplit(' ')
                .next()
                .unwrap()
                .to_owned()
        };
        let v = "frontdesk_ack_latency_seconds_bucket{kind=\"visitor\",";
        assert_eq!(line(&format!("{v}le=\"0.0005\"}}")), "1");
        assert_eq!(line(&format!("{v}le=\"0.002\"}}")), "1");
        assert_eq!(line(&format!("{v}le=\"0.005\"}}")), "2");
        assert_eq!(line(&format!("{v}le=\"5\"}}")), "2");
        assert_eq!(line(&format!("{v}le=\"+Inf\"}}")), "3");
        assert_eq!(
            line("frontdesk_ack_latency_seconds_count{kind=\"visitor\"}"),
            "3"
        );
        assert_eq!(
            line("frontdesk_ack_latency_seconds_count{kind=\"agent\"}"),
            "0"
        );
        assert_eq!(line("frontdesk_queue_length"), "4");
    }

    #[test]
    fn a_connection_leaves_the_gauge_when_dropped() {
        let m = Arc::new(Metrics::default());
        let a = m.connected(Kind::Agent);
        let _b = m.connected(Kind::Agent);
        drop(a);
        let mut out = String::new();
        m.render(&mut out, None);
        assert!(
            out.contains("frontdesk_connections{kind=\"agent\"} 1\n"),
            "{out}"
        );
        assert!(!out.contains("frontdesk_queue_length"));
    }
}
