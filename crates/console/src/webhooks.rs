//! The webhooks panel for admins (wasm only): the endpoints with their state, an endpoint's
//! deliveries newest first (status, attempts, last answer, next try), replaying one, and
//! enabling or disabling an endpoint. Everything from the server is rendered as text nodes.

use crate::app::{api, error_message};
use protocol::webhooks::{WebhookDeliveryInfo, WebhookEndpointInfo};
use wasm_bindgen::JsValue;
use yew::prelude::*;

/// A date and time in the browser's language and zone.
fn when(ms: Option<i64>) -> String {
    match ms {
        Some(ms) => js_sys::Date::new(&JsValue::from_f64(ms as f64))
            .to_locale_string("default", &JsValue::UNDEFINED)
            .into(),
        None => "—".into(),
    }
}

async fn call<T: for<'de> serde::Deserialize<'de>>(method: &str, path: &str) -> Result<T, String> {
    match api(method, path, None).await {
        Ok((200, body)) => serde_json::from_str(&body).map_err(|e| e.to_string()),
        Ok((status, body)) => Err(format!("{} (HTTP {status})", error_message(&body))),
        Err(e) => Err(e),
    }
}

pub enum Msg {
    Endpoints(Result<Vec<WebhookEndpointInfo>, String>),
    Select(i64),
    Deliveries(i64, Result<Vec<WebhookDeliveryInfo>, String>),
    Replay(i64),
    SetEnabled(i64, bool),
    /// An action's answer: reload what it changed.
    Done(Result<(), String>),
}

#[derive(Default)]
pub struct WebhooksPanel {
    endpoints: Vec<WebhookEndpointInfo>,
    selected: Option<i64>,
    deliveries: Vec<WebhookDeliveryInfo>,
    error: Option<String>,
}

impl WebhooksPanel {
    fn load(&self, ctx: &Context<Self>) {
        let link = ctx.link().clone();
        wasm_bindgen_futures::spawn_local(async move {
            link.send_message(Msg::Endpoints(call("GET", "/api/webhooks").await));
        });
        if let Some(id) = self.selected {
            let link = ctx.link().clone();
            wasm_bindgen_futures::spawn_local(async move {
                let path = format!("/api/webhooks/{id}/deliveries?limit=100");
                link.send_message(Msg::Deliveries(id, call("GET", &path).await));
            });
        }
    }

    fn act(&self, ctx: &Context<Self>, path: String) {
        let link = ctx.link().clone();
        wasm_bindgen_futures::spawn_local(async move {
            let done = call::<serde_json::Value>("POST", &path).await.map(drop);
            link.send_message(Msg::Done(done));
        });
    }

    fn view_endpoint(&self, ctx: &Context<Self>, e: &WebhookEndpointInfo) -> Html {
        let id = e.id;
        let enabled = e.disabled_at.is_none();
        let events: Vec<&str> = e.events.iter().map(|e| e.as_str()).collect();
        let state = match (&e.disabled_reason, enabled) {
            (_, true) => "enabled".to_owned(),
            (Some(reason), false) => format!("disabled: {reason}"),
            (None, false) => "disabled".to_owned(),
        };
        html! {
            <tr key={id} class={classes!("endpoint", (!enabled).then_some("disabled"),
                (self.selected == Some(id)).then_some("selected"))}>
                <td>{ e.site.clone() }</td>
                <td class="url">{ e.url.clone() }</td>
                <td>{ events.join(", ") }</td>
                <td class="state">{ state }{ if e.configured { "" } else { " (not in the settings)" } }</td>
                <td>{ format!("last success: {}", when(e.last_success_at)) }</td>
                <td>
                    <button class="deliveries" onclick={ctx.link().callback(move |_| Msg::Select(id))}>{ "Deliveries" }</button>
                    <button class="toggle-endpoint" onclick={ctx.link().callback(move |_| Msg::SetEnabled(id, !enabled))}>
                        { if enabled { "Disable" } else { "Enable" } }
                    </button>
                </td>
            </tr>
        }
    }

    fn view_delivery(&self, ctx: &Context<Self>, d: &WebhookDeliveryInfo) -> Html {
        let id = d.id;
        let answer = match (d.last_response, &d.last_error) {
            (Some(status), Some(e)) => format!("{status} {e}"),
            (Some(status), None) => status.to_string(),
            (None, Some(e)) => e.clone(),
            (None, None) => "—".into(),
        };
        html! {
            <tr key={id} class={classes!("delivery", d.status.clone())}>
                <td>{ format!("msg_{id}") }</td>
                <td>{ d.event.clone() }</td>
                <td class="status">{ d.status.clone() }</td>
                <td>{ d.attempts }</td>
                <td class="answer">{ answer }</td>
                <td>{ when(d.next_attempt_at) }</td>
                <td>{ when(Some(d.created_at)) }</td>
                <td><button class="replay" onclick={ctx.link().callback(move |_| Msg::Replay(id))}>{ "Replay" }</button></td>
            </tr>
        }
    }
}

impl Component for WebhooksPanel {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let panel = WebhooksPanel::default();
        panel.load(ctx);
        panel
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Endpoints(Ok(list)) => self.endpoints = list,
            Msg::Deliveries(id, Ok(list)) if self.selected == Some(id) => self.deliveries = list,
            Msg::Deliveries(..) => return false,
            Msg::Endpoints(Err(e)) | Msg::Done(Err(e)) => self.error = Some(e),
            Msg::Select(id) => {
                self.selected = Some(id);
                self.deliveries.clear();
                self.load(ctx);
            }
            Msg::Replay(id) => self.act(ctx, format!("/api/webhooks/deliveries/{id}/replay")),
            Msg::SetEnabled(id, on) => {
                let verb = if on { "enable" } else { "disable" };
                self.act(ctx, format!("/api/webhooks/{id}/{verb}"));
            }
            Msg::Done(Ok(())) => {
                self.error = None;
                self.load(ctx);
            }
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let selected = self
            .selected
            .and_then(|id| self.endpoints.iter().find(|e| e.id == id));
        let selected_id = self.selected.unwrap_or_default();
        html! {
            <section class="admin webhooks" aria-label="Webhooks">
                <h2>{ "Webhooks" }</h2>
                if let Some(e) = &self.error { <p class="error" role="alert">{ e }</p> }
                if self.endpoints.is_empty() {
                    <p>{ "No endpoint yet: add [[sites.KEY.webhooks]] to the settings (docs/webhooks.md)." }</p>
                }
                <table class="endpoints"><tbody>
                    { for self.endpoints.iter().map(|e| self.view_endpoint(ctx, e)) }
                </tbody></table>
                if let Some(endpoint) = selected {
                    <h2>{ format!("Deliveries to {}", endpoint.url) }</h2>
                    <table class="deliveries">
                        <thead><tr>
                            <th>{ "id" }</th><th>{ "event" }</th><th>{ "status" }</th><th>{ "attempts" }</th>
                            <th>{ "last answer" }</th><th>{ "next try" }</th><th>{ "created" }</th><th></th>
                        </tr></thead>
                        <tbody>{ for self.deliveries.iter().map(|d| self.view_delivery(ctx, d)) }</tbody>
                    </table>
                    <button class="refresh" onclick={ctx.link().callback(move |_| Msg::Select(selected_id))}>{ "Refresh" }</button>
                }
            </section>
        }
    }
}
