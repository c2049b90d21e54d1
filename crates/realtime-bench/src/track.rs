//! The book of every message the chat load sent: when it was sent, when its ack came, when (and
//! how often) the agent and the second tab received it; error frames by code; connections lost.

use crate::load::PhaseResult;
use crate::report::Dist;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Instant;

struct Rec {
    phase: u32,
    visitor: usize,
    sent: Instant,
    ack: Option<(Instant, i64, u64)>,
    /// Refused with an error frame naming its id (never acknowledged).
    refused: bool,
    agent_first: Option<Instant>,
    agent_count: u32,
    tab_first: Option<Instant>,
    tab_count: u32,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    sent: u64,
    answered: u64,
    acked: u64,
    agent: u64,
    tab: u64,
}

#[derive(Default)]
struct Book {
    recs: HashMap<String, Rec>,
    phase: u32,
    counts: Vec<Counts>,
    errors: BTreeMap<(u32, String), u64>,
    disconnects: BTreeMap<u32, u64>,
    /// Acks or deliveries of ids this bench never sent.
    unknown: u64,
    /// Visitors who write on another node than the agent's.
    cross: HashSet<usize>,
}

impl Book {
    fn counts(&mut self, phase: u32) -> &mut Counts {
        let i = phase as usize;
        if self.counts.len() <= i {
            self.counts.resize(i + 1, Counts::default());
        }
        &mut self.counts[i]
    }
}

/// An acknowledged message: who sent it, and where the server said it stored it.
#[derive(Debug, Clone)]
pub struct Acked {
    pub id: String,
    pub visitor: usize,
    pub conversation: i64,
    pub seq: u64,
}

/// Acks slower than this are listed by when they were sent (to tell a burst from a spread).
const SLOW_ACK: std::time::Duration = std::time::Duration::from_millis(20);

#[derive(Default)]
pub struct Tracker {
    book: Mutex<Book>,
}

impl Tracker {
    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks `visitor` as writing on another node than the agent following it.
    pub fn cross_node(&self, visitor: usize) {
        self.book().cross.insert(visitor);
    }

    /// Starts a new phase (phase 0 is the setup's first messages).
    pub fn begin_phase(&self) -> u32 {
        let mut book = self.book();
        book.phase += 1;
        book.phase
    }

    pub fn sent<'a>(
        &self,
        phase: u32,
        at: Instant,
        ids: impl IntoIterator<Item = (&'a str, usize)>,
    ) {
        let mut book = self.book();
        let mut n = 0;
        for (id, visitor) in ids {
            n += 1;
            book.recs.insert(
                id.to_owned(),
                Rec {
                    phase,
                    visitor,
                    sent: at,
                    ack: None,
                    refused: false,
                    agent_first: None,
                    agent_count: 0,
                    tab_first: None,
                    tab_count: 0,
                },
            );
        }
        book.counts(phase).sent += n;
    }

    pub fn acked(&self, id: &str, conversation: i64, seq: u64, at: Instant) {
        let mut book = self.book();
        let Some(rec) = book.recs.get_mut(id) else {
            book.unknown += 1;
            return;
        };
        if rec.ack.is_some() {
            return;
        }
        rec.ack = Some((at, conversation, seq));
        let phase = rec.phase;
        let c = book.counts(phase);
        c.acked += 1;
        c.answered += 1;
    }

    pub fn agent(&self, id: &str, at: Instant) {
        self.delivered(id, at, true);
    }

    pub fn tab(&self, id: &str, at: Instant) {
        self.delivered(id, at, false);
    }

    fn delivered(&self, id: &str, at: Instant, agent: bool) {
        let mut book = self.book();
        let Some(rec) = book.recs.get_mut(id) else {
            book.unknown += 1;
            return;
        };
        let (first, count) = match agent {
            true => (&mut rec.agent_first, &mut rec.agent_count),
            false => (&mut rec.tab_first, &mut rec.tab_count),
        };
        *count += 1;
        if first.is_some() {
            return;
        }
        *first = Some(at);
        let phase = rec.phase;
        let c = book.counts(phase);
        match agent {
            true => c.agent += 1,
            false => c.tab += 1,
        }
    }

    /// An error frame; booked under the phase of the message it names, else the current one.
    pub fn error(&self, code: &str, id: Option<&str>) {
        let mut book = self.book();
        let mut phase = book.phase;
        if let Some(rec) = id.and_then(|id| book.recs.get_mut(id)) {
            phase = rec.phase;
            if rec.ack.is_none() && !rec.refused {
                rec.refused = true;
                book.counts(phase).answered += 1;
            }
        }
        *book.errors.entry((phase, code.to_owned())).or_default() += 1;
    }

    pub fn disconnected(&self) {
        let mut book = self.book();
        let phase = book.phase;
        *book.disconnects.entry(phase).or_default() += 1;
    }

    /// Every message of `phase` was acked or refused, and every acked one reached the agent
    /// and the second tab (those that are measured).
    pub fn settled(&self, phase: u32, agent: bool, tab: bool) -> bool {
        let mut book = self.book();
        let c = *book.counts(phase);
        c.answered >= c.sent && (!agent || c.agent >= c.acked) && (!tab || c.tab >= c.acked)
    }

    pub fn unknown(&self) -> u64 {
        self.book().unknown
    }

    /// Every acknowledged message so far.
    pub fn acked_messages(&self) -> Vec<Acked> {
        let book = self.book();
        book.recs
            .iter()
            .filter_map(|(id, r)| {
                r.ack.map(|(_, conversation, seq)| Acked {
                    id: id.clone(),
                    visitor: r.visitor,
                    conversation,
                    seq,
                })
            })
            .collect()
    }

    /// How many messages were sent in all.
    pub fn sent_total(&self) -> u64 {
        self.book().recs.len() as u64
    }

    /// The figures of `phase`, which started at `start`.
    pub fn result(&self, phase: u32, start: Instant) -> PhaseResult {
        let book = self.book();
        let mut r = PhaseResult::default();
        let (mut ack, mut agent, mut tab) = (Vec::new(), Vec::new(), Vec::new());
        let (mut agent_cross, mut after_ack) = (Vec::new(), Vec::new());
        let mut last_ack = start;
        for rec in book.recs.values().filter(|r| r.phase == phase) {
            r.sent += 1;
            let Some((at, _, _)) = rec.ack else { continue };
            r.acked += 1;
            let latency = at.saturating_duration_since(rec.sent);
            if latency > SLOW_ACK {
                r.slow_acks
                    .push(rec.sent.saturating_duration_since(start).as_secs_f64());
            }
            ack.push(latency);
            last_ack = last_ack.max(at);
            match rec.agent_count {
                0 => r.agent_missing += 1,
                n => r.agent_duplicates += u64::from(n - 1),
            }
            match rec.tab_count {
                0 => r.tab_missing += 1,
                n => r.tab_duplicates += u64::from(n - 1),
            }
            if let Some(t) = rec.agent_first {
                let latency = t.saturating_duration_since(rec.sent);
                agent.push(latency);
                if book.cross.contains(&rec.visitor) {
                    agent_cross.push(latency);
                    after_ack.push(t.saturating_duration_since(at));
                }
            }
            if let Some(t) = rec.tab_first {
                tab.push(t.saturating_duration_since(rec.sent));
            }
        }
        r.slow_acks.sort_by(f64::total_cmp);
        r.ack = Dist::new(ack);
        r.agent = Dist::new(agent);
        r.agent_cross = Dist::new(agent_cross);
        r.agent_cross_after_ack = Dist::new(after_ack);
        r.tab = Dist::new(tab);
        let span = last_ack.duration_since(start).as_secs_f64();
        r.achieved = if span > 0.0 {
            r.acked as f64 / span
        } else {
            0.0
        };
        r.errors = book
            .errors
            .iter()
            .filter(|((p, _), _)| *p == phase)
            .map(|((_, code), n)| (code.clone(), *n))
            .collect();
        r.disconnects = book.disconnects.get(&phase).copied().unwrap_or(0);
        r
    }
}
