//! The Reports page as a Yew component (wasm only): the period and filters, the figures beside
//! the previous period, the charts, the lists, the content gaps, the live overview (refreshed
//! while the page is shown) and the drill-down list behind any number. Everything from users
//! (previews, names, queries, labels) is rendered as text nodes.

use super::charts::{self, OnDrill};
use super::i18n::{self, Strings, fill};
use super::{Date, Drill, Filters, Period, Trend, query_string};
use crate::app::api;
use protocol::reports::{Figures, Gaps, Lists, Live, Report, ReportRow};
use wasm_bindgen::JsValue;
use web_sys::HtmlInputElement;
use yew::prelude::*;

mod lists;

/// How often the live overview is refreshed while the page is shown.
const LIVE_EVERY_MS: u32 = 12_000;
/// The most conversations a drill-down lists (the API's cap).
const DRILL_LIMIT: usize = 500;

/// The browser's language (`navigator.language`), `en` when unknown.
pub fn browser_language() -> String {
    web_sys::window()
        .and_then(|w| w.navigator().language())
        .unwrap_or_else(|| "en".into())
}

/// The page's strings in the browser's language.
pub fn browser_strings() -> &'static Strings {
    i18n::strings(&browser_language())
}

/// The viewer's IANA time zone (`Intl.DateTimeFormat().resolvedOptions().timeZone`).
fn time_zone() -> String {
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    js_sys::Reflect::get(&format.resolved_options(), &JsValue::from_str("timeZone"))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| "UTC".into())
}

/// Local midnight of a date, in milliseconds (the browser's zone is the viewer's `tz`).
fn local_midnight(d: Date) -> i64 {
    js_sys::Date::new_with_year_month_day(d.year as u32, d.month as i32 - 1, d.day as i32)
        .get_time() as i64
}

fn today() -> Date {
    let now = js_sys::Date::new_0();
    Date {
        year: now.get_full_year() as i32,
        month: now.get_month() + 1,
        day: now.get_date(),
    }
}

/// A date and time in the viewer's language and zone.
fn date_time(ms: i64, language: &str) -> String {
    js_sys::Date::new(&JsValue::from_f64(ms as f64))
        .to_locale_string(language, &JsValue::UNDEFINED)
        .into()
}

#[derive(Debug, Clone, PartialEq)]
enum Load<T> {
    Loading,
    Ready(T),
    Failed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Site,
    Team,
    Agent,
    Label,
    Priority,
    Language,
}

#[derive(Properties, PartialEq)]
pub struct Props {
    /// Agents by id and name: the agent filter and the assignee column.
    pub agents: Vec<(i64, String)>,
    pub teams: Vec<String>,
    /// Opens a conversation in the console.
    pub on_open: Callback<i64>,
}

// Messages are handled one at a time; boxing the report would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Msg {
    SetPeriod(Period),
    SetFilter(Field, String),
    Report(u32, Result<Report, String>),
    Lists(u32, Result<Lists, String>),
    Gaps(u32, Result<Gaps, String>),
    LiveTick,
    Live(Result<Live, String>),
    Drill(Drill, String),
    Rows(u32, Result<Vec<ReportRow>, String>),
    CloseDrill,
}

struct DrillView {
    drill: Drill,
    title: String,
    rows: Load<Vec<ReportRow>>,
}

pub struct ReportsPage {
    s: &'static Strings,
    language: String,
    tz: String,
    period: Period,
    filters: Filters,
    since: i64,
    until: i64,
    /// Answers to an older period or filter are dropped.
    generation: u32,
    report: Load<Report>,
    lists: Load<Lists>,
    gaps: Load<Gaps>,
    live: Option<Result<Live, String>>,
    drill: Option<DrillView>,
    drill_generation: u32,
    on_drill: OnDrill,
    /// The drill-down's close button, focused when a list opens (Escape closes it).
    close_button: NodeRef,
    focus_drill: bool,
    _live_timer: gloo_timers::callback::Interval,
}

/// GETs a JSON document; a refusal or failure becomes a sentence for the page.
async fn get<T>(path: String, s: &'static Strings) -> Result<T, String>
where
    T: for<'de> serde::Deserialize<'de>,
{
    match api("GET", &path, None).await {
        Ok((200, body)) => serde_json::from_str(&body).map_err(|e| e.to_string()),
        Ok((403, _)) => Err(s.forbidden.into()),
        // A server without this report (the content gaps come with the search rollups).
        Ok((404, _)) => Err(s.unavailable.into()),
        Ok((status, _)) => Err(format!("{} (HTTP {status})", s.load_failed)),
        Err(e) => Err(format!("{} ({e})", s.load_failed)),
    }
}

impl ReportsPage {
    fn query(&self, drill: Option<&Drill>) -> String {
        query_string(self.since, self.until, &self.tz, &self.filters, drill)
    }

    /// (Re)loads the report, the lists and the gaps for the current period and filters, and the
    /// open drill-down.
    fn reload(&mut self, ctx: &Context<Self>) {
        let (since, until) = self.period.range(today());
        self.since = local_midnight(since);
        self.until = local_midnight(until);
        self.generation += 1;
        let generation = self.generation;
        self.report = Load::Loading;
        self.lists = Load::Loading;
        self.gaps = Load::Loading;
        let s = self.s;
        let q = self.query(None);
        let link = ctx.link().clone();
        let path = format!("/api/reports?{q}");
        wasm_bindgen_futures::spawn_local(async move {
            link.send_message(Msg::Report(generation, get(path, s).await));
        });
        let link = ctx.link().clone();
        let path = format!("/api/reports/lists?{q}");
        wasm_bindgen_futures::spawn_local(async move {
            link.send_message(Msg::Lists(generation, get(path, s).await));
        });
        let link = ctx.link().clone();
        let mut path = format!("/api/reports/gaps?since={}", self.since);
        if !self.filters.site.trim().is_empty() {
            path.push_str(&format!(
                "&site={}",
                super::encode_component(self.filters.site.trim())
            ));
        }
        wasm_bindgen_futures::spawn_local(async move {
            link.send_message(Msg::Gaps(generation, get(path, s).await));
        });
        if let Some(d) = self.drill.take() {
            self.open_drill(ctx, d.drill, d.title);
        }
    }

    fn open_drill(&mut self, ctx: &Context<Self>, drill: Drill, title: String) {
        self.drill_generation += 1;
        let generation = self.drill_generation;
        let path = format!(
            "/api/reports/conversations?{}&limit={DRILL_LIMIT}",
            self.query(Some(&drill))
        );
        self.drill = Some(DrillView {
            drill,
            title,
            rows: Load::Loading,
        });
        let (link, s) = (ctx.link().clone(), self.s);
        wasm_bindgen_futures::spawn_local(async move {
            link.send_message(Msg::Rows(generation, get(path, s).await));
        });
    }

    fn load_live(&self, ctx: &Context<Self>) {
        let (link, s) = (ctx.link().clone(), self.s);
        wasm_bindgen_futures::spawn_local(async move {
            link.send_message(Msg::Live(get("/api/reports/live".into(), s).await));
        });
    }

    fn agent_name(&self, ctx: &Context<Self>, id: i64) -> String {
        ctx.props()
            .agents
            .iter()
            .find(|(a, _)| *a == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| format!("#{id}"))
    }

    /// A number that opens the conversations behind it.
    fn drill_button(&self, drill: Drill, title: String, content: Html, class: &str) -> Html {
        let key = drill.key.clone();
        let on_drill = self.on_drill.clone();
        let onclick = Callback::from(move |_| on_drill.emit((drill.clone(), title.clone())));
        html! {
            <button type="button" class={classes!("drill", class.to_owned())} data-drill={key} {onclick}>{ content }</button>
        }
    }

    /// A figure tile: the value, a detail line, the previous period's value and which way it
    /// moved (`lower_is_better`: `None` for a figure that is neither good nor bad).
    #[allow(clippy::too_many_arguments)]
    fn tile(
        &self,
        name: &str,
        title: &str,
        value: String,
        detail: Option<String>,
        previous: String,
        trend: Option<Trend>,
        lower_is_better: Option<bool>,
        drill: Option<Drill>,
    ) -> Html {
        let moved = trend.map(|t| {
            let class = lower_is_better.map_or("neutral", |l| t.class(l));
            html! { <span class={classes!("trend", class)} aria-hidden="true">{ t.arrow() }</span> }
        });
        let body = html! {
            <>
                <span class="figure-title">{ title.to_owned() }</span>
                <span class="figure-value">{ value }</span>
                if let Some(d) = detail { <span class="figure-detail">{ d }</span> }
                <span class="figure-previous">{ fill(self.s.previous, &[&previous]) }{ " " }{ moved }</span>
            </>
        };
        match drill {
            Some(d) => html! {
                <div class="figure" data-figure={name.to_owned()}>
                    { self.drill_button(d, title.to_owned(), body, "figure-button") }
                </div>
            },
            None => html! { <div class="figure" data-figure={name.to_owned()}>{ body }</div> },
        }
    }

    fn view_toolbar(&self, ctx: &Context<Self>) -> Html {
        let s = self.s;
        let on_period = ctx.link().batch_callback(|e: Event| {
            let value = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            Period::parse(&value).map(Msg::SetPeriod)
        });
        let select_cb = |field: Field| {
            ctx.link().callback(move |e: Event| {
                let value = e
                    .target_unchecked_into::<web_sys::HtmlSelectElement>()
                    .value();
                Msg::SetFilter(field, value)
            })
        };
        let text = |field: Field, name: &'static str, label: &'static str, value: &str| {
            let onchange = ctx.link().callback(move |e: Event| {
                Msg::SetFilter(field, e.target_unchecked_into::<HtmlInputElement>().value())
            });
            html! {
                <label>{ label }
                    <input name={name} value={value.to_owned()} maxlength="100" {onchange} />
                </label>
            }
        };
        let f = &self.filters;
        let props = ctx.props();
        html! {
            <div class="reports-toolbar">
                <label>{ s.period }
                    <select name="report-period" onchange={on_period}>
                        { for Period::ALL.iter().zip(s.periods).map(|(p, label)| html! {
                            <option value={p.key()} selected={*p == self.period}>{ label }</option>
                        }) }
                    </select>
                </label>
                { text(Field::Site, "report-site", s.site, &f.site) }
                if props.teams.is_empty() {
                    { text(Field::Team, "report-team", s.team, &f.team) }
                } else {
                    <label>{ s.team }
                        <select name="report-team" onchange={select_cb(Field::Team)}>
                            <option value="" selected={f.team.is_empty()}>{ s.any }</option>
                            { for props.teams.iter().map(|t| html! {
                                <option value={t.clone()} selected={f.team == *t}>{ t.clone() }</option>
                            }) }
                        </select>
                    </label>
                }
                <label>{ s.agent }
                    <select name="report-agent" onchange={select_cb(Field::Agent)}>
                        <option value="" selected={f.agent.is_empty()}>{ s.any }</option>
                        { for props.agents.iter().map(|(id, name)| html! {
                            <option value={id.to_string()} selected={f.agent == id.to_string()}>{ name.clone() }</option>
                        }) }
                    </select>
                </label>
                { text(Field::Label, "report-label", s.label, &f.label) }
                <label>{ s.priority }
                    <select name="report-priority" onchange={select_cb(Field::Priority)}>
                        <option value="" selected={f.priority.is_empty()}>{ s.any }</option>
                        { for protocol::Priority::ALL.iter().map(|p| html! {
                            <option value={p.as_str()} selected={f.priority == p.as_str()}>{ p.as_str() }</option>
                        }) }
                    </select>
                </label>
                { text(Field::Language, "report-language", s.language, &f.language) }
                <span class="muted tz" title={s.time_zone}>{ self.tz.clone() }</span>
                <a class="csv-all" href={format!("/api/reports/conversations.csv?{}", self.query(Some(&Drill::new("created"))))}
                    download="conversations.csv">{ s.download_all }</a>
            </div>
        }
    }

    fn view_live(&self) -> Html {
        let s = self.s;
        match &self.live {
            None => Html::default(),
            Some(Err(e)) => html! { <p class="error live-error" role="alert">{ e.clone() }</p> },
            Some(Ok(live)) => html! {
                <section class="live" aria-label={s.live} aria-live="polite">
                    <h2>{ s.live }</h2>
                    { self.drill_button(Drill::new("open"), s.open.to_owned(), html! {
                        <><span class="live-value" data-live="open">{ live.open }</span>{ s.open }</>
                    }, "live-figure") }
                    <span class="live-figure"><span class="live-value" data-live="unassigned">{ live.unassigned }</span>{ s.unassigned }</span>
                    <span class="live-figure"><span class="live-value" data-live="waiting">{ live.waiting }</span>{ s.waiting }</span>
                    <span class="live-figure"><span class="live-value" data-live="agents_online">{ live.agents_online }</span>{ s.agents_online }</span>
                </section>
            },
        }
    }

    fn view_figures(&self, r: &Report) -> Html {
        let s = self.s;
        let (c, p) = (&r.current, &r.previous);
        let count = |v: u64| Some(v as i64);
        let pm = |v: Option<u64>| v.map(|x| x as i64);
        let dur = |v: Option<i64>| super::duration(v, s);
        let pct = |v: Option<u64>| super::percent(v, s);
        // A duration's tile opens the conversations it is computed from (`drill`); next
        // responses are counted per response, so theirs opens nothing.
        let duration_tile =
            |name: &str, title: &str, pick: fn(&Figures) -> Option<i64>, drill: Option<&str>| {
                self.tile(
                    name,
                    title,
                    dur(pick(c)),
                    None,
                    dur(pick(p)),
                    Trend::of(pick(c), pick(p)),
                    Some(true),
                    drill.map(Drill::new),
                )
            };
        let csat_count: u64 = c.csat.iter().sum();
        let scores = |counts: &[u64], prefix: &'static str, title: &'static str| {
            html! {
                <span class="scores">
                    { for counts.iter().enumerate().map(|(i, &n)| {
                        let score = i + 1;
                        self.drill_button(
                            Drill::new(format!("{prefix}:{score}")),
                            format!("{title} · {score}"),
                            html! { <><span class="score">{ score }</span>{ format!(" × {n}") }</> },
                            "score-chip",
                        )
                    }) }
                </span>
            }
        };
        let ces_answers: u64 = c.ces.iter().sum::<u64>() + p.ces.iter().sum::<u64>();
        let funnel = &c.funnel;
        html! {
            <section class="figures" aria-label={s.figures}>
                { self.tile("conversations", s.conversations, c.conversations.to_string(), None,
                    p.conversations.to_string(), Trend::of(count(c.conversations), count(p.conversations)),
                    None, Some(Drill::new("created"))) }
                { self.tile("unanswered", s.unanswered, super::unanswered(c).to_string(), None,
                    super::unanswered(p).to_string(), Trend::of(count(super::unanswered(c)), count(super::unanswered(p))),
                    Some(true), Some(Drill::new("unanswered"))) }
                <div class="figure wide" data-figure="first_response">
                    { self.drill_button(Drill::new("first_response"), s.first_response.to_owned(), html! { <>
                        <span class="figure-title">{ s.first_response }</span>
                        <span class="figure-value" title={s.median}>{ dur(c.first_response.median_ms) }</span>
                        <span class="figure-detail">
                            { format!("{} {} · {} {}", s.p90, dur(c.first_response.p90_ms), s.mean, dur(c.first_response.mean_ms)) }
                        </span>
                        <span class="figure-previous">
                            { fill(s.previous, &[&dur(p.first_response.median_ms)]) }{ " " }
                            if let Some(t) = Trend::of(c.first_response.median_ms, p.first_response.median_ms) {
                                <span class={classes!("trend", t.class(true))} aria-hidden="true">{ t.arrow() }</span>
                            }
                        </span>
                    </> }, "figure-button") }
                </div>
                { duration_tile("next_response", s.next_response, |f| f.next_response.median_ms, None) }
                { duration_tile("first_resolution", s.first_resolution, |f| f.first_resolution.median_ms, Some("first_resolution")) }
                { duration_tile("full_resolution", s.full_resolution, |f| f.full_resolution.median_ms, Some("full_resolution")) }
                { duration_tile("self_help", s.self_help, |f| f.self_help.median_ms, Some("self_help")) }
                { self.tile("resolved", s.resolved, c.resolved.to_string(), None, p.resolved.to_string(),
                    Trend::of(count(c.resolved), count(p.resolved)), Some(false), Some(Drill::new("resolved"))) }
                <div class="figure wide" data-figure="csat">
                    <span class="figure-title">{ s.csat }</span>
                    <span class="figure-value">{ pct(c.csat_per_mille()) }</span>
                    <span class="figure-detail" data-ratings={csat_count.to_string()}>
                        { self.drill_button(Drill::new("rated"), s.csat.to_owned(), html! { { fill(s.ratings, &[&csat_count]) } }, "ratings") }
                    </span>
                    { scores(&c.csat, "rating", s.csat) }
                    <span class="figure-previous">
                        { fill(s.previous, &[&pct(p.csat_per_mille())]) }{ " " }
                        if let Some(t) = Trend::of(pm(c.csat_per_mille()), pm(p.csat_per_mille())) {
                            <span class={classes!("trend", t.class(false))} aria-hidden="true">{ t.arrow() }</span>
                        }
                    </span>
                </div>
                if ces_answers > 0 {
                    <div class="figure wide" data-figure="ces">
                        <span class="figure-title">{ s.ces }</span>
                        <span class="figure-value">{ super::ces_tenths(&c.ces).map(|v| super::tenths(v, s)).unwrap_or_else(|| "–".into()) }</span>
                        <span class="figure-detail">{ fill(s.answers, &[&c.ces.iter().sum::<u64>()]) }</span>
                        { scores(&c.ces, "ces", s.ces) }
                        <span class="figure-previous">
                            { fill(s.previous, &[&super::ces_tenths(&p.ces).map(|v| super::tenths(v, s)).unwrap_or_else(|| "–".into())]) }
                        </span>
                    </div>
                }
                { self.tile("one_touch", s.one_touch, pct(super::one_touch_rate(c)),
                    Some(fill(s.of, &[&c.one_touch, &c.resolved])), pct(super::one_touch_rate(p)),
                    Trend::of(pm(super::one_touch_rate(c)), pm(super::one_touch_rate(p))), Some(false),
                    Some(Drill::new("one_touch"))) }
                { self.tile("reopen_rate", s.reopen_rate, pct(super::reopen_rate(c)),
                    Some(fill(s.of, &[&c.reopened, &c.resolved])), pct(super::reopen_rate(p)),
                    Trend::of(pm(super::reopen_rate(c)), pm(super::reopen_rate(p))), Some(true),
                    Some(Drill::new("reopened"))) }
                <div class="figure wide" data-figure="self_service">
                    <span class="figure-title">{ s.self_service }</span>
                    <span class="figure-value">{ pct(super::self_service_rate(funnel)) }</span>
                    <ol class="funnel">
                        <li>{ format!("{} {}", s.searched, funnel.searched) }</li>
                        <li>{ format!("{} {}", s.read, funnel.read) }</li>
                        <li>{ format!("{} {} / ", s.answered, funnel.answered) }
                            { self.drill_button(Drill::new("handed_off"), s.handed_off.to_owned(),
                                html! { { format!("{} {}", s.handed_off, funnel.handed_off) } }, "handed-off") }
                        </li>
                    </ol>
                    <span class="figure-previous">{ fill(s.previous, &[&pct(super::self_service_rate(&p.funnel))]) }</span>
                </div>
            </section>
        }
    }

    /// Met ÷ (met + breached) per clock (columns) and priority (rows); a first-response or
    /// resolution cell's breaches open those conversations (next responses are counted per
    /// response: theirs open nothing).
    fn view_sla(&self, figures: &Figures) -> Html {
        let s = self.s;
        const CLOCKS: [&str; 3] = ["first_response", "next_response", "resolution"];
        let mut priorities: Vec<&str> = protocol::Priority::ALL
            .iter()
            .map(|p| p.as_str())
            .filter(|p| figures.sla.iter().any(|f| f.priority == *p))
            .collect();
        for f in &figures.sla {
            if !priorities.contains(&f.priority.as_str()) {
                priorities.push(&f.priority);
            }
        }
        if priorities.is_empty() {
            return html! {
                <section class="sla-table"><h2>{ s.sla }</h2><p class="muted">{ s.nothing }</p></section>
            };
        }
        let cell = |clock: &str, priority: &str| {
            let Some(f) = figures
                .sla
                .iter()
                .find(|f| f.clock == clock && f.priority == priority)
            else {
                return html! { <td>{ "–" }</td> };
            };
            let total = f.met + f.breached;
            let share = fill(s.of, &[&f.met, &total]);
            html! {
                <td data-clock={clock.to_owned()} data-priority={priority.to_owned()}>
                    <strong>{ super::percent(super::achievement(f.met, f.breached), s) }</strong>
                    { " " }
                    if clock != "next_response" && f.breached > 0 {
                        { self.drill_button(
                            Drill { key: format!("{clock}_breached"), priority: Some(priority.to_owned()) },
                            format!("{} · {priority} · {share}", s.clocks[CLOCKS.iter().position(|c| *c == clock).unwrap_or(0)]),
                            html! { <span class="muted">{ share.clone() }</span> },
                            "sla-breaches",
                        ) }
                    } else {
                        <span class="muted">{ share }</span>
                    }
                </td>
            }
        };
        html! {
            <section class="sla-table">
                <h2>{ s.sla }</h2>
                <table>
                    <thead><tr><th>{ s.priority }</th>{ for s.clocks.iter().map(|c| html! { <th>{ *c }</th> }) }</tr></thead>
                    <tbody>
                        { for priorities.iter().map(|p| html! {
                            <tr><th>{ (*p).to_owned() }</th>{ for CLOCKS.iter().map(|c| cell(c, p)) }</tr>
                        }) }
                    </tbody>
                </table>
            </section>
        }
    }
}

impl Component for ReportsPage {
    type Message = Msg;
    type Properties = Props;

    fn create(ctx: &Context<Self>) -> Self {
        let language = browser_language();
        let link = ctx.link().clone();
        let live_timer = gloo_timers::callback::Interval::new(LIVE_EVERY_MS, move || {
            link.send_message(Msg::LiveTick)
        });
        let link = ctx.link().clone();
        let mut page = ReportsPage {
            s: i18n::strings(&language),
            language,
            tz: time_zone(),
            period: Period::Last7,
            filters: Filters::default(),
            since: 0,
            until: 0,
            generation: 0,
            report: Load::Loading,
            lists: Load::Loading,
            gaps: Load::Loading,
            live: None,
            drill: None,
            drill_generation: 0,
            on_drill: Callback::from(move |(d, t)| link.send_message(Msg::Drill(d, t))),
            close_button: NodeRef::default(),
            focus_drill: false,
            _live_timer: live_timer,
        };
        page.reload(ctx);
        page.load_live(ctx);
        page
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::SetPeriod(p) => {
                self.period = p;
                self.reload(ctx);
            }
            Msg::SetFilter(field, value) => {
                let value = value.trim().to_owned();
                let f = &mut self.filters;
                let slot = match field {
                    Field::Site => &mut f.site,
                    Field::Team => &mut f.team,
                    Field::Agent => &mut f.agent,
                    Field::Label => &mut f.label,
                    Field::Priority => &mut f.priority,
                    Field::Language => &mut f.language,
                };
                if *slot == value {
                    return false;
                }
                *slot = value;
                self.reload(ctx);
            }
            Msg::Report(g, r) if g == self.generation => {
                self.report = r.map_or_else(Load::Failed, Load::Ready)
            }
            Msg::Lists(g, r) if g == self.generation => {
                self.lists = r.map_or_else(Load::Failed, Load::Ready)
            }
            Msg::Gaps(g, r) if g == self.generation => {
                self.gaps = r.map_or_else(Load::Failed, Load::Ready)
            }
            Msg::Report(..) | Msg::Lists(..) | Msg::Gaps(..) => return false,
            Msg::LiveTick => {
                let hidden = web_sys::window()
                    .and_then(|w| w.document())
                    .is_some_and(|d| d.hidden());
                if !hidden {
                    self.load_live(ctx);
                }
                return false;
            }
            Msg::Live(live) => self.live = Some(live),
            Msg::Drill(drill, title) => {
                self.focus_drill = true;
                self.open_drill(ctx, drill, title);
            }
            Msg::Rows(g, rows) => match &mut self.drill {
                Some(d) if g == self.drill_generation => {
                    d.rows = rows.map_or_else(Load::Failed, Load::Ready)
                }
                _ => return false,
            },
            Msg::CloseDrill => self.drill = None,
        }
        true
    }

    fn rendered(&mut self, _ctx: &Context<Self>, _first: bool) {
        if self.focus_drill
            && let Some(button) = self.close_button.cast::<web_sys::HtmlElement>()
        {
            self.focus_drill = false;
            let _ = button.focus();
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let s = self.s;
        let report = match &self.report {
            Load::Loading => html! { <p class="muted loading">{ s.loading }</p> },
            Load::Failed(e) => {
                html! { <p class="error report-error" role="alert">{ e.clone() }</p> }
            }
            Load::Ready(r) => html! {
                <>
                    { self.view_figures(r) }
                    { self.view_sla(&r.current) }
                    <section class="charts">
                        { charts::day_chart(&r.days, s, &self.on_drill) }
                        { charts::histogram_chart(&r.current.first_response.histogram, s, &self.on_drill) }
                        { charts::heatmap(&r.heatmap, s, &self.on_drill) }
                    </section>
                </>
            },
        };
        let lists = match &self.lists {
            Load::Loading => Html::default(),
            Load::Failed(e) => html! { <p class="error" role="alert">{ e.clone() }</p> },
            Load::Ready(l) => self.view_lists(ctx, l),
        };
        html! {
            <section class="reports" aria-labelledby="reports-title">
                <h1 id="reports-title">{ s.nav }</h1>
                { self.view_toolbar(ctx) }
                { self.view_live() }
                { report }
                { lists }
                { self.view_gaps() }
                { self.view_drill(ctx) }
            </section>
        }
    }
}
