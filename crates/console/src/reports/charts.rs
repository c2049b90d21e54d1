//! The Reports page's charts, drawn as SVG by hand (a charting crate would cost more than the
//! page): the geometry is pure and tested; every bar and cell is a button that asks for the
//! conversations behind it.

use super::i18n::Strings;
use super::{Drill, bucket_label};
use protocol::reports::DayFigure;
use yew::prelude::*;

/// A drill asked for by a click, with the title of the list it opens.
pub type OnDrill = Callback<(Drill, String)>;

/// The smallest "round" number (1, 2 or 5 × 10ⁿ) at or above `max`, so the axis reads well; 1
/// for an empty chart.
pub fn nice_ceiling(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            if step.saturating_mul(m) >= max {
                return step.saturating_mul(m).max(1);
            }
        }
        step = step.saturating_mul(10);
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// The smallest bar drawn for a count above zero, so it stays visible.
const MIN_BAR: f64 = 2.0;

/// The length of a bar for `value` on an axis of `scale` that is `length` long.
pub fn bar_length(value: u64, scale: u64, length: f64) -> f64 {
    if value == 0 || scale == 0 {
        return 0.0;
    }
    (value.min(scale) as f64 / scale as f64 * length).max(MIN_BAR)
}

/// Vertical bars in groups of `series`, one group per slot across `width`, bottom-aligned in
/// `height`: `values[slot][series]`. A slot keeps a fifth of its width as a gap.
pub fn grouped_bars<const N: usize>(
    values: &[[u64; N]],
    scale: u64,
    width: f64,
    height: f64,
) -> Vec<[Rect; N]> {
    let slot = width / values.len().max(1) as f64;
    let bar = slot * 0.8 / N as f64;
    values
        .iter()
        .enumerate()
        .map(|(i, group)| {
            std::array::from_fn(|k| {
                let h = bar_length(group[k], scale, height);
                Rect {
                    x: i as f64 * slot + slot * 0.1 + k as f64 * bar,
                    y: height - h,
                    w: bar,
                    h,
                }
            })
        })
        .collect()
}

/// How dark a heatmap cell is: 0 for nothing, else 1–4 by its share of the busiest cell.
pub fn heat_level(count: u64, max: u64) -> u8 {
    if count == 0 || max == 0 {
        return 0;
    }
    (count.min(max) * 4).div_ceil(max) as u8
}

/// Which of `n` axis labels to print so that at most `room` show.
pub fn label_step(n: usize, room: usize) -> usize {
    n.div_ceil(room.max(1)).max(1)
}

/// Press Enter or Space on a focused bar, like a click.
fn activate(
    on_drill: &OnDrill,
    drill: Drill,
    title: String,
) -> (Callback<MouseEvent>, Callback<KeyboardEvent>) {
    let (d, t, cb) = (drill.clone(), title.clone(), on_drill.clone());
    let click = Callback::from(move |_| cb.emit((d.clone(), t.clone())));
    let cb = on_drill.clone();
    let key = Callback::from(move |e: KeyboardEvent| {
        if e.key() == "Enter" || e.key() == " " {
            e.prevent_default();
            cb.emit((drill.clone(), title.clone()));
        }
    });
    (click, key)
}

const DAY_W: f64 = 640.0;
const DAY_H: f64 = 160.0;
const AXIS: f64 = 36.0;

/// Created and resolved per day; a day is one button (its conversations created that day).
pub fn day_chart(days: &[DayFigure], s: &Strings, on_drill: &OnDrill) -> Html {
    let values: Vec<[u64; 2]> = days.iter().map(|d| [d.created, d.resolved]).collect();
    let max = values.iter().flatten().copied().max().unwrap_or(0);
    let scale = nice_ceiling(max);
    let rects = grouped_bars(&values, scale, DAY_W, DAY_H);
    let slot = DAY_W / days.len().max(1) as f64;
    let step = label_step(days.len(), 10);
    let groups = days.iter().zip(rects).enumerate().map(|(i, (day, [c, r]))| {
        let title = format!(
            "{} · {}: {} · {}: {}",
            day.date, s.created, day.created, s.resolved, day.resolved
        );
        let drill = Drill::new(format!("day:{}", day.date));
        let (onclick, onkeydown) = activate(on_drill, drill, format!("{} · {}", s.created, day.date));
        let label = (i % step == 0).then(|| day.date.get(5..).unwrap_or(&day.date).to_owned());
        html! {
            <g class="day" role="button" tabindex="0" aria-label={title.clone()}
                data-drill={format!("day:{}", day.date)} data-created={day.created.to_string()}
                data-resolved={day.resolved.to_string()} {onclick} {onkeydown}>
                <title>{ title }</title>
                <rect class="hit" x={fmt(i as f64 * slot)} y="0" width={fmt(slot)} height={fmt(DAY_H)} />
                <rect class="bar created" x={fmt(c.x)} y={fmt(c.y)} width={fmt(c.w)} height={fmt(c.h)} />
                <rect class="bar resolved" x={fmt(r.x)} y={fmt(r.y)} width={fmt(r.w)} height={fmt(r.h)} />
                if let Some(label) = label {
                    <text x={fmt(i as f64 * slot + slot / 2.0)} y={fmt(DAY_H + 14.0)} text-anchor="middle">{ label }</text>
                }
            </g>
        }
    });
    html! {
        <figure class="chart days">
            <figcaption>{ s.per_day }
                <span class="legend created">{ s.created }</span>
                <span class="legend resolved">{ s.resolved }</span>
            </figcaption>
            <svg viewBox={format!("-{AXIS} -8 {} {}", DAY_W + AXIS + 4.0, DAY_H + 28.0)} role="group" aria-label={s.per_day}>
                { axis(scale, DAY_H) }
                { for groups }
            </svg>
        </figure>
    }
}

/// The y axis: 0 and the scale's top, with a baseline.
fn axis(scale: u64, height: f64) -> Html {
    html! {
        <g class="axis">
            <line x1="0" y1={fmt(height)} x2={fmt(DAY_W)} y2={fmt(height)} />
            <line x1="0" y1="0" x2={fmt(DAY_W)} y2="0" class="grid" />
            <text x="-6" y={fmt(height)} text-anchor="end">{ "0" }</text>
            <text x="-6" y="4" text-anchor="end">{ scale }</text>
        </g>
    }
}

const ROW_H: f64 = 22.0;
const LABEL_W: f64 = 130.0;
const HIST_W: f64 = 480.0;

/// The first-response histogram as horizontal bars, one row per bucket of `HISTOGRAM_MINUTES`.
pub fn histogram_chart(counts: &[u64], s: &Strings, on_drill: &OnDrill) -> Html {
    let scale = nice_ceiling(counts.iter().copied().max().unwrap_or(0));
    let rows = counts.iter().enumerate().map(|(i, &n)| {
        let label = bucket_label(i, s);
        let y = i as f64 * ROW_H;
        let w = bar_length(n, scale, HIST_W);
        let title = format!("{} · {label}: {n}", s.first_response);
        let (onclick, onkeydown) = activate(on_drill, Drill::new(format!("frt:{i}")), title.clone());
        html! {
            <g class="bucket" role="button" tabindex="0" aria-label={title.clone()}
                data-drill={format!("frt:{i}")} data-count={n.to_string()} {onclick} {onkeydown}>
                <title>{ title }</title>
                <rect class="hit" x={fmt(-LABEL_W)} y={fmt(y)} width={fmt(LABEL_W + HIST_W + 40.0)} height={fmt(ROW_H)} />
                <text x="-8" y={fmt(y + 15.0)} text-anchor="end">{ label }</text>
                <rect class="bar created" x="0" y={fmt(y + 3.0)} width={fmt(w)} height={fmt(ROW_H - 6.0)} />
                <text x={fmt(w + 6.0)} y={fmt(y + 15.0)}>{ n }</text>
            </g>
        }
    });
    let height = counts.len() as f64 * ROW_H;
    html! {
        <figure class="chart histogram">
            <figcaption>{ s.frt_histogram }</figcaption>
            <svg viewBox={format!("-{LABEL_W} 0 {} {height}", LABEL_W + HIST_W + 40.0)} role="group" aria-label={s.frt_histogram}>
                { for rows }
            </svg>
        </figure>
    }
}

const CELL_W: f64 = 22.0;
const CELL_H: f64 = 20.0;
const DAY_LABEL_W: f64 = 44.0;

/// New conversations by local weekday (Monday first) × hour.
pub fn heatmap(rows: &[[u64; 24]], s: &Strings, on_drill: &OnDrill) -> Html {
    let max = rows.iter().flatten().copied().max().unwrap_or(0);
    let cells = rows
        .iter()
        .take(7)
        .enumerate()
        .flat_map(|(w, hours)| hours.iter().enumerate().map(move |(h, &n)| (w, h, n)));
    let cells = cells.map(|(w, h, n)| {
        let title = format!("{} {h:02}:00 · {n}", s.weekdays[w]);
        let key = format!("heat:{w}:{h}");
        let (onclick, onkeydown) = activate(on_drill, Drill::new(key.clone()), title.clone());
        html! {
            <rect class={format!("cell heat{}", heat_level(n, max))} role="button" tabindex="0"
                aria-label={title.clone()} data-drill={key} data-count={n.to_string()}
                x={fmt(h as f64 * CELL_W)} y={fmt(w as f64 * CELL_H)}
                width={fmt(CELL_W - 2.0)} height={fmt(CELL_H - 2.0)} {onclick} {onkeydown}>
                <title>{ title }</title>
            </rect>
        }
    });
    let days = s.weekdays.iter().enumerate().map(|(w, d)| {
        html! { <text x="-6" y={fmt(w as f64 * CELL_H + 14.0)} text-anchor="end">{ *d }</text> }
    });
    let hours = (0..24).step_by(3).map(|h| {
        html! { <text x={fmt(h as f64 * CELL_W + CELL_W / 2.0)} y="-4" text-anchor="middle">{ format!("{h:02}") }</text> }
    });
    html! {
        <figure class="chart heatmap">
            <figcaption>{ s.heatmap }</figcaption>
            <svg viewBox={format!("-{DAY_LABEL_W} -16 {} {}", DAY_LABEL_W + 24.0 * CELL_W, 16.0 + 7.0 * CELL_H)} role="group" aria-label={s.heatmap}>
                { for days }
                { for hours }
                { for cells }
            </svg>
        </figure>
    }
}

/// A coordinate with at most one decimal, so the markup stays short.
fn fmt(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn axes_end_on_round_numbers() {
        let cases = [
            (0, 1),
            (1, 1),
            (2, 2),
            (3, 5),
            (7, 10),
            (10, 10),
            (11, 20),
            (430, 500),
        ];
        for (max, top) in cases {
            assert_eq!(nice_ceiling(max), top, "{max}");
        }
        assert_eq!(nice_ceiling(u64::MAX), u64::MAX);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn bars_stand_on_the_baseline_and_small_counts_stay_visible() {
        let bars = grouped_bars(&[[10, 5], [0, 1]], 10, 100.0, 50.0);
        assert_eq!(
            bars[0][0],
            Rect {
                x: 5.0,
                y: 0.0,
                w: 20.0,
                h: 50.0
            }
        );
        assert_eq!(
            bars[0][1],
            Rect {
                x: 25.0,
                y: 25.0,
                w: 20.0,
                h: 25.0
            }
        );
        assert_eq!(bars[1][0].h, 0.0);
        assert_eq!(bars[1][0].x, 55.0);
        assert_eq!(bars[1][1].h, 5.0);
        assert_eq!(bar_length(1, 1000, 50.0), MIN_BAR);
        assert_eq!(bar_length(0, 0, 50.0), 0.0);
        assert!(grouped_bars::<2>(&[], 1, 100.0, 50.0).is_empty());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn heat_levels_split_the_busiest_cell_in_four() {
        assert_eq!(heat_level(0, 9), 0);
        assert_eq!(heat_level(1, 100), 1);
        assert_eq!(heat_level(1, 1), 4);
        assert_eq!(heat_level(50, 100), 2);
        assert_eq!(heat_level(51, 100), 3);
        assert_eq!(heat_level(3, 0), 0);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn axis_labels_thin_out() {
        assert_eq!(label_step(7, 10), 1);
        assert_eq!(label_step(30, 10), 3);
        assert_eq!(label_step(31, 10), 4);
        assert_eq!(label_step(0, 10), 1);
        assert_eq!(fmt(12.345), "12.3");
        assert_eq!(fmt(40.0), "40");
    }
}
