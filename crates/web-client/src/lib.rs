//! Browser plumbing shared by the widget and the console: a same-origin WebSocket that reports
//! to callbacks and closes when dropped, client-generated message ids, the page's `#app` root, a
//! clock time for messages, a notification chime, a one-shot timer, when to say "typing", and
//! files (`files.rs`: upload with progress, download into a `blob:` URL, picked, dropped or
//! pasted files).
//!
//! *Architecture invariant*: no protocol knowledge here; the apps decode frames and decide what
//! to do. Only what the two apps would otherwise write twice.

pub mod files;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// An open (or opening) WebSocket. Dropping it detaches the callbacks and closes it, so a
/// replaced socket can never report into the app again.
pub struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

/// `ws://` or `wss://` (matching the page) on this page's host, at `path`.
fn same_origin_url(path: &str) -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}{path}", location.host().ok()?))
}

impl Socket {
    /// Opens a WebSocket to `path` on this page's origin. `on_text` gets every text frame;
    /// `on_close` is called once when the connection ends or fails. `None` when the browser
    /// refused to create the socket (call `on_close` semantics yourself).
    pub fn open(
        path: &str,
        on_open: impl FnMut() + 'static,
        mut on_text: impl FnMut(String) + 'static,
        mut on_close: impl FnMut() + 'static,
    ) -> Option<Socket> {
        let ws = WebSocket::new(&same_origin_url(path)?).ok()?;
        let on_open = Closure::<dyn FnMut()>::new(on_open);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(text) = e.data().as_string() {
                on_text(text);
            }
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_e: CloseEvent| on_close());
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Some(Socket {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Sends a text frame; a closed socket drops it (the apps resend on reconnect).
    pub fn send(&self, text: &str) {
        let _ = self.ws.send_with_str(text);
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// 128 random bits, hex: a client-generated message id.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The page's `#app` element, where an app mounts.
pub fn app_root() -> web_sys::Element {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("app"))
        .expect("the page has an #app element")
}

/// `HH:MM` in the browser's time zone.
pub fn time_of(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

/// A short chime through Web Audio (no asset to download): one 100 ms tone per frequency.
pub fn chime(frequencies: &[f32]) {
    let Ok(ctx) = web_sys::AudioContext::new() else {
        return;
    };
    let now = ctx.current_time();
    for (i, &freq) in frequencies.iter().enumerate() {
        let (Ok(osc), Ok(gain)) = (ctx.create_oscillator(), ctx.create_gain()) else {
            return;
        };
        osc.frequency().set_value(freq);
        gain.gain().set_value(0.08);
        let start = now + i as f64 * 0.12;
        let _ = osc.connect_with_audio_node(&gain);
        let _ = gain.connect_with_audio_node(&ctx.destination());
        let _ = osc.start_with_when(start);
        let _ = osc.stop_with_when(start + 0.1);
    }
}

/// Calls `f` once after `ms` milliseconds. (Hand-written rather than `gloo_timers`: the same
/// call, 0.4 KB smaller in the widget, which is at its size budget.)
pub fn after(ms: u32, f: impl FnOnce() + 'static) {
    let callback = Closure::once_into_js(f);
    if let Some(w) = web_sys::window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
            callback.unchecked_ref(),
            ms.min(i32::MAX as u32) as i32,
        );
    }
}

/// How long without a keystroke before the other side is told the typing stopped.
pub const TYPING_IDLE_MS: u32 = 5_000;

/// When to tell the other side this user is typing: `on` at the first keystroke, `off` when the
/// composer is emptied or after `TYPING_IDLE_MS` without a keystroke, once each (a sent message
/// clears the indicator on the other side by itself). Times are the caller's clock in ms.
#[derive(Debug, Default)]
pub struct Typing {
    on: bool,
    last_input: f64,
}

impl Typing {
    /// The composer changed at `now`; `Some(on)` is what to send.
    pub fn input(&mut self, has_text: bool, now: f64) -> Option<bool> {
        self.last_input = now;
        (has_text != self.on).then(|| {
            self.on = has_text;
            has_text
        })
    }

    /// The idle timer set at a keystroke fired at `now`: `Some(false)` when no keystroke came
    /// since (a later one has its own timer).
    pub fn idle(&mut self, now: f64) -> Option<bool> {
        if self.on && now - self.last_input >= f64::from(TYPING_IDLE_MS) - 20.0 {
            self.on = false;
            return Some(false);
        }
        None
    }

    /// A message went out or the conversation changed: forget, and `Some(false)` if the other
    /// side was told "on".
    pub fn reset(&mut self) -> Option<bool> {
        std::mem::take(&mut self.on).then_some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::Typing;

    #[test]
    fn typing_is_said_once_and_unsaid_when_emptied_or_idle() {
        let mut t = Typing::default();
        assert_eq!(t.input(true, 0.0), Some(true));
        assert_eq!(t.input(true, 100.0), None, "once per spell");
        assert_eq!(t.idle(5_000.0), None, "a keystroke came 4.9 s ago");
        assert_eq!(t.idle(5_100.0), Some(false));
        assert_eq!(t.idle(9_000.0), None, "said once");
        assert_eq!(t.input(true, 9_000.0), Some(true), "typing again");
        assert_eq!(t.input(false, 9_500.0), Some(false), "emptied");
        assert_eq!(t.input(true, 9_600.0), Some(true));
        assert_eq!(t.reset(), Some(false));
        assert_eq!(t.reset(), None);
    }
}
