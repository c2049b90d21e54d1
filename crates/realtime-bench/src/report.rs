//! Figures and their printing: latency distributions (nearest-rank percentiles) and the small
//! "figure, value, budget, OK/OVER" tables every scenario prints. Nothing here fails a run.

use std::time::Duration;

/// A sorted sample of durations.
#[derive(Debug, Clone, Default)]
pub struct Dist {
    sorted: Vec<Duration>,
}

impl Dist {
    pub fn new(mut sample: Vec<Duration>) -> Dist {
        sample.sort_unstable();
        Dist { sorted: sample }
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Nearest-rank percentile, `q` in (0, 1]; `None` for an empty sample.
    pub fn p(&self, q: f64) -> Option<Duration> {
        if self.sorted.is_empty() {
            return None;
        }
        let rank = (q * self.sorted.len() as f64).ceil() as usize;
        Some(self.sorted[rank.clamp(1, self.sorted.len()) - 1])
    }

    pub fn max(&self) -> Option<Duration> {
        self.sorted.last().copied()
    }

    /// `p50 / p95 / p99 / max` in milliseconds.
    pub fn summary(&self) -> String {
        if self.sorted.is_empty() {
            return "no sample".into();
        }
        let f = |d: Option<Duration>| d.map_or("-".into(), |d| format!("{:.2}", millis(d)));
        format!(
            "{} / {} / {} / {} ms",
            f(self.p(0.50)),
            f(self.p(0.95)),
            f(self.p(0.99)),
            f(self.max())
        )
    }
}

pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn ms(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".into(), |d| format!("{:.2} ms", millis(d)))
}

/// Thousands separators: 15000 → "15,000".
pub fn count(n: impl Into<u64>) -> String {
    let digits = n.into().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

struct Row {
    figure: String,
    value: String,
    budget: String,
    verdict: &'static str,
}

/// One scenario's table.
pub struct Table {
    title: String,
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Table {
    pub fn new(title: impl Into<String>) -> Table {
        Table {
            title: title.into(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// A figure without a budget.
    pub fn info(&mut self, figure: impl Into<String>, value: impl Into<String>) {
        self.rows.push(Row {
            figure: figure.into(),
            value: value.into(),
            budget: String::new(),
            verdict: "",
        });
    }

    /// A figure beside its budget; `ok` says whether it is within it (`None`: not measured).
    pub fn check(
        &mut self,
        figure: impl Into<String>,
        value: impl Into<String>,
        budget: impl Into<String>,
        ok: Option<bool>,
    ) {
        self.rows.push(Row {
            figure: figure.into(),
            value: value.into(),
            budget: budget.into(),
            verdict: match ok {
                Some(true) => "OK",
                Some(false) => "OVER",
                None => "n/a",
            },
        });
    }

    /// A line printed under the table.
    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    pub fn print(&self) {
        let w0 = self
            .rows
            .iter()
            .map(|r| r.figure.chars().count())
            .max()
            .unwrap_or(0)
            .max(6);
        let w1 = self
            .rows
            .iter()
            .map(|r| r.value.chars().count())
            .max()
            .unwrap_or(0)
            .max(5);
        let w2 = self
            .rows
            .iter()
            .map(|r| r.budget.chars().count())
            .max()
            .unwrap_or(0)
            .max(6);
        println!("\n== {}", self.title);
        println!("{:<w0$}  {:<w1$}  budget", "figure", "value");
        for r in &self.rows {
            let verdict = r.verdict;
            let line = format!(
                "{:<w0$}  {:<w1$}  {:<w2$}  {verdict}",
                r.figure, r.value, r.budget
            );
            println!("{}", line.trim_end());
        }
        for n in &self.notes {
            println!("  {n}");
        }
    }
}

/// A latency budget check: `value ≤ limit_ms`.
pub fn within(d: Option<Duration>, limit_ms: f64) -> Option<bool> {
    d.map(|d| millis(d) <= limit_ms)
}

/// Adds the server's log summary (warnings and errors written during the scenario) as a row.
pub fn server_log(table: &mut Table, server: &crate::server::Server) {
    let (lines, distinct) = server.log_summary(3);
    table.info("server log lines (warn/error)", count(lines as u64));
    for line in distinct {
        table.note(format!("server log: {line}"));
    }
}
