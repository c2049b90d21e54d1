//! The page's lists: top topics, questions and contacts, aging and the importance × urgency
//! view, the content gaps, and the drill-down panel with its rows.

use super::*;

impl ReportsPage {
    pub(super) fn view_lists(&self, ctx: &Context<Self>, lists: &Lists) -> Html {
        let s = self.s;
        let empty = || html! { <p class="muted">{ s.nothing }</p> };
        let topics = lists.top_topics.iter().map(|t| {
            html! { <li>{ self.drill_button(Drill::new(format!("label:{}", t.key)), format!("{} · {}", s.label, t.key),
                html! { <><bdi>{ t.key.clone() }</bdi>{ format!(" · {}", t.count) }</> }, "topic") }</li> }
        });
        let questions = lists.top_questions.iter().map(|q| {
            html! { <li><bdi>{ q.key.clone() }</bdi>{ format!(" · {}", q.count) }</li> }
        });
        let contacts = lists.top_contacts.iter().map(|c| {
            let who = c
                .name
                .clone()
                .or_else(|| c.email.clone())
                .unwrap_or_else(|| format!("#{}", c.contact_id));
            html! { <li>{ self.drill_button(Drill::new(format!("contact:{}", c.contact_id)), who.clone(),
                html! { <><bdi>{ who }</bdi>{ format!(" · {}", c.conversations) }</> }, "contact") }</li> }
        });
        let aging = lists
            .aging
            .iter()
            .zip(s.aging_buckets)
            .enumerate()
            .map(|(i, (n, label))| {
                self.drill_button(
                    Drill::new(format!("aging:{i}")),
                    format!("{} · {label}", s.aging),
                    html! { <><span class="count">{ n }</span>{ label }</> },
                    "aging-bucket",
                )
            });
        let matrix = lists
            .matrix
            .iter()
            .zip(s.matrix_cells)
            .enumerate()
            .map(|(i, (n, label))| {
                self.drill_button(
                    Drill::new(format!("matrix:{i}")),
                    format!("{} · {label}", s.matrix),
                    html! { <><span class="count">{ n }</span>{ label }</> },
                    "matrix-cell",
                )
            });
        html! {
            <section class="lists">
                <div class="list">
                    <h2>{ s.top_topics }</h2>
                    if lists.top_topics.is_empty() { { empty() } } else { <ol>{ for topics }</ol> }
                </div>
                <div class="list">
                    <h2>{ s.top_questions }</h2>
                    if lists.top_questions.is_empty() { { empty() } } else { <ol>{ for questions }</ol> }
                </div>
                <div class="list">
                    <h2>{ s.top_contacts }</h2>
                    if lists.top_contacts.is_empty() { { empty() } } else { <ol>{ for contacts }</ol> }
                </div>
                <div class="list">
                    <h2>{ s.matrix }</h2>
                    <div class="matrix">{ for matrix }</div>
                </div>
                <div class="list wide">
                    <h2>{ s.aging }</h2>
                    <div class="aging">{ for aging }</div>
                    <h3>{ s.oldest_open }</h3>
                    { self.rows_table(ctx, &lists.oldest_open) }
                </div>
            </section>
        }
    }

    pub(super) fn view_gaps(&self) -> Html {
        let s = self.s;
        let body = match &self.gaps {
            Load::Loading => html! { <p class="muted">{ s.loading }</p> },
            Load::Failed(e) => {
                html! { <p class="muted gaps-error">{ e.clone() }</p> }
            }
            Load::Ready(g) => {
                let queries = |key: &'static str,
                               title: &str,
                               list: &[protocol::reports::GapQuery]| {
                    html! {
                        <div class="list" data-gaps={key}>
                            <h3>{ title.to_owned() }</h3>
                            if list.is_empty() { <p class="muted">{ s.nothing }</p> } else {
                                <ol>{ for list.iter().map(|q| html! {
                                    <li><bdi>{ q.query.clone() }</bdi>
                                        <span class="muted">{ format!(" ({}) ", q.language) }{ fill(s.searches, &[&q.searches, &q.visitors]) }</span></li>
                                }) }</ol>
                            }
                        </div>
                    }
                };
                html! {
                    <div class="gaps-lists">
                        { queries("top_searches", s.top_searches, &g.top_searches) }
                        { queries("no_result", s.no_result, &g.no_result) }
                        { queries("handed_off", s.gaps_handed_off, &g.handed_off) }
                        <div class="list" data-gaps="unhelpful">
                            <h3>{ s.unhelpful }</h3>
                            if g.unhelpful_articles.is_empty() { <p class="muted">{ s.nothing }</p> } else {
                                <ol>{ for g.unhelpful_articles.iter().map(|a| html! {
                                    <li><bdi>{ a.key.clone() }</bdi>{ format!(" · {}", a.count) }</li>
                                }) }</ol>
                            }
                        </div>
                        <div class="list" data-gaps="never_shown">
                            <h3>{ s.never_shown }</h3>
                            if g.never_shown.is_empty() { <p class="muted">{ s.nothing }</p> } else {
                                <ul>{ for g.never_shown.iter().map(|a| html! { <li><bdi>{ a.clone() }</bdi></li> }) }</ul>
                            }
                        </div>
                    </div>
                }
            }
        };
        html! { <section class="gaps"><h2>{ s.gaps }</h2>{ body }</section> }
    }

    /// Conversations as a table; a row opens its conversation in the console.
    pub(super) fn rows_table(&self, ctx: &Context<Self>, rows: &[ReportRow]) -> Html {
        let s = self.s;
        if rows.is_empty() {
            return html! { <p class="muted">{ s.nothing }</p> };
        }
        let rows = rows.iter().map(|r| {
            let id = r.id;
            let on_open = ctx.props().on_open.clone();
            let onclick = Callback::from(move |_| on_open.emit(id));
            html! {
                <tr key={r.id} class="report-row" data-id={r.id.to_string()} onclick={onclick.clone()}>
                    <td><button type="button" class="link open-conversation" {onclick}>{ format!("#{}", r.id) }</button></td>
                    <td>{ date_time(r.created_at, &self.language) }</td>
                    <td>{ r.status.clone() }</td>
                    <td><span class={classes!("prio", r.priority.clone())}>{ r.priority.clone() }</span></td>
                    <td>{ r.assignee_id.map(|a| self.agent_name(ctx, a)).unwrap_or_else(|| "–".into()) }</td>
                    <td>{ crate::reports::duration(r.first_response_ms, s) }</td>
                    <td class="rating">{ r.rating.map(|n| format!("{n}/5")).unwrap_or_else(|| "–".into()) }</td>
                    <td class="preview"><bdi>{ r.preview.clone().unwrap_or_default() }</bdi></td>
                </tr>
            }
        });
        html! {
            <table class="report-rows">
                <thead><tr>
                    <th>{ "#" }</th><th>{ s.created }</th><th>{ s.status }</th><th>{ s.priority }</th>
                    <th>{ s.assignee }</th><th>{ s.first_response }</th><th>{ s.rating }</th><th>{ s.preview }</th>
                </tr></thead>
                <tbody>{ for rows }</tbody>
            </table>
        }
    }

    pub(super) fn view_drill(&self, ctx: &Context<Self>) -> Html {
        let Some(d) = &self.drill else {
            return Html::default();
        };
        let s = self.s;
        let csv = format!(
            "/api/reports/conversations.csv?{}",
            self.query(Some(&d.drill))
        );
        let file = format!("conversations-{}.csv", d.drill.key.replace([':', '/'], "-"));
        let close = ctx.link().callback(|_| Msg::CloseDrill);
        let onkeydown = ctx
            .link()
            .batch_callback(|e: KeyboardEvent| (e.key() == "Escape").then_some(Msg::CloseDrill));
        html! {
            <aside class="drill-panel" role="dialog" aria-label={d.title.clone()} data-drill={d.drill.key.clone()} {onkeydown}>
                <header>
                    <h2>{ d.title.clone() }</h2>
                    <a class="csv" href={csv} download={file}>{ s.download_csv }</a>
                    <button type="button" class="close" onclick={close} ref={self.close_button.clone()}>{ s.close }</button>
                </header>
                { match &d.rows {
                    Load::Loading => html! { <p class="muted">{ s.loading }</p> },
                    Load::Failed(e) => html! { <p class="error" role="alert">{ e.clone() }</p> },
                    Load::Ready(rows) => html! {
                        <>
                            <p class="muted drill-count" data-count={rows.len().to_string()}>{ rows.len() }
                                if rows.len() >= DRILL_LIMIT { { " · " }{ fill(s.truncated, &[&DRILL_LIMIT]) } }
                            </p>
                            { self.rows_table(ctx, rows) }
                        </>
                    },
                } }
            </aside>
        }
    }
}
