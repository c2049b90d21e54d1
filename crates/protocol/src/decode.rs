//! Decoding and validation of client frames, with a stable error code for every rejection.

use crate::{
    AgentFrame, ErrorCode, MAX_ARTICLE_ID_LEN, MAX_BODY_CHARS, MAX_CLIENT_ID_LEN, MAX_CONTEXT_LEN,
    MAX_FRAME_BYTES, MAX_SEARCH_QUERY_CHARS, MAX_SEARCH_SHOWN, MAX_SEARCHING_MS, MAX_SITE_LEN,
    MAX_TOKEN_LEN, VisitorFrame,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Why a client frame was rejected: a stable code and a human-readable reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub code: ErrorCode,
    pub message: String,
    /// The client message id, when the frame had a readable one.
    pub id: Option<String>,
}

impl FrameError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        FrameError {
            code,
            message: message.into(),
            id: None,
        }
    }
}

#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    id: Option<serde_json::Value>,
}

fn decode<T: DeserializeOwned>(text: &str, known: &[&str]) -> Result<T, FrameError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(FrameError::new(
            ErrorCode::TooLarge,
            format!(
                "frame is {} bytes; the limit is {MAX_FRAME_BYTES}",
                text.len()
            ),
        ));
    }
    let probe: Probe = serde_json::from_str(text).map_err(|e| {
        FrameError::new(
            ErrorCode::BadFrame,
            format!("expected a JSON object with a string \"type\": {e}"),
        )
    })?;
    let id = match probe.id {
        Some(serde_json::Value::String(s)) if s.len() <= MAX_CLIENT_ID_LEN => Some(s),
        _ => None,
    };
    if !known.contains(&probe.ty.as_str()) {
        // Quoted back shortened, on a character boundary (byte 40 may fall inside one).
        let ty: String = probe.ty.chars().take(40).collect();
        return Err(FrameError {
            code: ErrorCode::UnknownType,
            message: format!("unknown frame type {ty:?}; expected one of {known:?}"),
            id,
        });
    }
    serde_json::from_str(text).map_err(|e| FrameError {
        code: ErrorCode::InvalidField,
        message: format!("invalid {} frame: {e}", probe.ty),
        id,
    })
}

fn check_len(field: &str, value: &str, max: usize, id: Option<&str>) -> Result<(), FrameError> {
    if value.len() > max {
        return Err(FrameError {
            code: ErrorCode::TooLarge,
            message: format!("{field} is {} bytes; the limit is {max}", value.len()),
            id: id.map(str::to_owned),
        });
    }
    Ok(())
}

/// A client-generated id: 1 to `MAX_CLIENT_ID_LEN` characters of `[A-Za-z0-9_-]`.
pub fn check_id(id: &str) -> Result<(), FrameError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_CLIENT_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(FrameError::new(
            ErrorCode::InvalidField,
            format!("id must be 1 to {MAX_CLIENT_ID_LEN} characters of [A-Za-z0-9_-]"),
        ))
    }
}

/// A message or note body: not blank, no control characters but newline and tab, at most
/// `MAX_BODY_CHARS` characters.
/// A message's attachment ids: at most [`crate::MAX_ATTACHMENTS`], each a short token.
fn check_attachments(id: &str, attachments: &[String]) -> Result<(), FrameError> {
    let fail = |code, message: &str| FrameError {
        code,
        message: message.to_owned(),
        id: Some(id.to_owned()),
    };
    if attachments.len() > crate::MAX_ATTACHMENTS {
        return Err(fail(
            ErrorCode::TooLarge,
            "too many attachments on one message",
        ));
    }
    let valid = |a: &String| {
        !a.is_empty()
            && a.len() <= crate::MAX_ATTACHMENT_ID_LEN
            && a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !attachments.iter().all(valid) {
        return Err(fail(
            ErrorCode::InvalidField,
            "an attachment id is malformed",
        ));
    }
    Ok(())
}

pub fn check_body(id: &str, body: &str) -> Result<(), FrameError> {
    let fail = |code, message: String| FrameError {
        code,
        message,
        id: Some(id.to_owned()),
    };
    if crate::text::is_blank(body) {
        return Err(fail(ErrorCode::InvalidField, "body is empty".into()));
    }
    if let Some(c) = crate::text::forbidden_control(body) {
        return Err(fail(
            ErrorCode::InvalidField,
            format!(
                "body holds the control character U+{:04X}; only newlines and tabs are allowed",
                u32::from(c)
            ),
        ));
    }
    let chars = body.chars().count();
    if chars > MAX_BODY_CHARS {
        return Err(fail(
            ErrorCode::TooLarge,
            format!("body is {chars} characters; the limit is {MAX_BODY_CHARS}"),
        ));
    }
    Ok(())
}

/// Decodes and validates a frame from a visitor's widget.
pub fn decode_visitor(text: &str) -> Result<VisitorFrame, FrameError> {
    let mut frame: VisitorFrame = decode(
        text,
        &[
            "hello",
            "send",
            "typing",
            "read",
            "resolve",
            "rate",
            "deflected",
            "contact",
            "searched",
            "effort",
            "upload",
        ],
    )?;
    match &frame {
        VisitorFrame::Hello {
            site,
            token,
            locale,
            page_url,
            ..
        } => {
            let site_ok = !site.is_empty()
                && site.len() <= MAX_SITE_LEN
                && site
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !site_ok {
                return Err(FrameError::new(
                    ErrorCode::InvalidField,
                    format!("site must be 1 to {MAX_SITE_LEN} characters of [A-Za-z0-9_-]"),
                ));
            }
            if let Some(token) = token {
                check_len("token", token, MAX_TOKEN_LEN, None)?;
            }
            if let Some(locale) = locale {
                check_len("locale", locale, 35, None)?;
            }
            if let Some(url) = page_url {
                check_len("page_url", url, MAX_CONTEXT_LEN, None)?;
            }
        }
        VisitorFrame::Send {
            id,
            body,
            context,
            attachments,
        } => {
            check_id(id)?;
            check_attachments(id, attachments)?;
            if attachments.is_empty() || !body.is_empty() {
                check_body(id, body)?;
            }
            if let Some(c) = context {
                check_handoff(c)?;
            }
        }
        VisitorFrame::Rate { score, comment } => {
            if !(1..=5).contains(score) {
                return Err(FrameError::new(
                    ErrorCode::InvalidField,
                    "score must be 1 to 5",
                ));
            }
            if let Some(comment) = comment {
                check_len("comment", comment, MAX_BODY_CHARS * 4, None)?;
            }
        }
        VisitorFrame::Deflected { query, article } => {
            check_len("query", query, 512, None)?;
            check_len("article", article, 256, None)?;
        }
        VisitorFrame::Contact(details) => check_contact(details)?,
        VisitorFrame::Searched {
            query,
            shown,
            opened,
            ..
        } => check_searched(query, shown, opened.as_deref())?,
        VisitorFrame::Effort { score } => {
            if !(1..=7).contains(score) {
                return Err(FrameError::new(
                    ErrorCode::InvalidField,
                    "score must be 1 to 7",
                ));
            }
        }
        VisitorFrame::Typing { .. }
        | VisitorFrame::Read { .. }
        | VisitorFrame::Resolve
        | VisitorFrame::Upload => {}
    }
    match &mut frame {
        VisitorFrame::Searched { query, .. } => *query = query.trim().to_owned(),
        // A self-help time past a day is a stale clock, not a measure: dropped, not refused
        // (the message it travels with must not be lost).
        VisitorFrame::Send {
            context: Some(c), ..
        } if c.searching_ms.is_some_and(|ms| ms > MAX_SEARCHING_MS) => c.searching_ms = None,
        _ => {}
    }
    // A name is kept as it shows: no bidi overrides, invisible or control characters.
    if let VisitorFrame::Contact(details) = &mut frame
        && let Some(name) = details.name.take()
    {
        let clean = crate::text::clean_name(&name);
        details.name = (!clean.is_empty()).then_some(clean);
    }
    Ok(frame)
}

fn check_contact(d: &crate::ContactDetails) -> Result<(), FrameError> {
    if let Some(name) = &d.name {
        check_len("name", name, 200, None)?;
    }
    if let Some(email) = &d.email {
        check_len("email", email, 254, None)?;
        if !crate::text::valid_email(email) {
            return Err(FrameError::new(
                ErrorCode::InvalidField,
                "email is not a valid address",
            ));
        }
    }
    if let Some(id) = &d.user_id {
        check_len("user_id", id, 128, None)?;
        if id.trim().is_empty() || id.chars().any(char::is_control) {
            return Err(FrameError::new(
                ErrorCode::InvalidField,
                "user_id must be non-empty text",
            ));
        }
    }
    if let Some(hash) = &d.user_hash {
        check_len("user_hash", hash, 128, None)?;
    }
    if d.attributes.len() > crate::MAX_ATTRIBUTES {
        return Err(FrameError::new(
            ErrorCode::TooLarge,
            format!("at most {} attributes", crate::MAX_ATTRIBUTES),
        ));
    }
    for (k, v) in &d.attributes {
        if !crate::valid_attribute_key(k) {
            return Err(FrameError::new(
                ErrorCode::InvalidField,
                format!(
                    "attribute names are 1 to {} characters of [A-Za-z0-9_.-]",
                    crate::MAX_ATTRIBUTE_KEY_CHARS
                ),
            ));
        }
        check_len("attribute value", v, crate::MAX_ATTRIBUTE_VALUE_CHARS, None)?;
        if v.chars().any(char::is_control) {
            return Err(FrameError::new(
                ErrorCode::InvalidField,
                "attribute values cannot hold control characters",
            ));
        }
    }
    Ok(())
}

fn check_searched(query: &str, shown: &[String], opened: Option<&str>) -> Result<(), FrameError> {
    let query = query.trim();
    if crate::text::is_blank(query) {
        return Err(FrameError::new(ErrorCode::InvalidField, "query is empty"));
    }
    let chars = query.chars().count();
    if chars > MAX_SEARCH_QUERY_CHARS {
        return Err(FrameError::new(
            ErrorCode::InvalidField,
            format!("query is {chars} characters; the limit is {MAX_SEARCH_QUERY_CHARS}"),
        ));
    }
    if query.chars().any(char::is_control) {
        return Err(FrameError::new(
            ErrorCode::InvalidField,
            "query cannot hold control characters",
        ));
    }
    if shown.len() > MAX_SEARCH_SHOWN {
        return Err(FrameError::new(
            ErrorCode::InvalidField,
            format!("shown lists at most {MAX_SEARCH_SHOWN} article ids"),
        ));
    }
    for id in shown.iter().map(String::as_str).chain(opened) {
        if id.is_empty() || id.len() > MAX_ARTICLE_ID_LEN || id.chars().any(char::is_control) {
            return Err(FrameError::new(
                ErrorCode::InvalidField,
                format!(
                    "article ids are 1 to {MAX_ARTICLE_ID_LEN} bytes without control characters"
                ),
            ));
        }
    }
    Ok(())
}

fn check_handoff(c: &crate::Handoff) -> Result<(), FrameError> {
    if let Some(q) = &c.query {
        check_len("context.query", q, 512, None)?;
    }
    if let Some(ua) = &c.user_agent {
        check_len("context.user_agent", ua, 512, None)?;
    }
    if c.shown.len() > 20 || c.opened.len() > 20 {
        return Err(FrameError::new(
            ErrorCode::TooLarge,
            "at most 20 articles per list",
        ));
    }
    for a in c.shown.iter().chain(&c.opened) {
        check_len("article id", &a.id, 256, None)?;
        check_len("article title", &a.title, 512, None)?;
    }
    Ok(())
}

fn check_label(what: &str, text: &str) -> Result<(), FrameError> {
    if crate::normalize_label(text).is_none() {
        return Err(FrameError::new(
            ErrorCode::InvalidField,
            format!(
                "{what} must be 1 to {} characters, without commas or control characters",
                crate::MAX_LABEL_CHARS
            ),
        ));
    }
    Ok(())
}

/// Decodes and validates a frame from an agent's console.
pub fn decode_agent(text: &str) -> Result<AgentFrame, FrameError> {
    let frame: AgentFrame = decode(
        text,
        &[
            "hello",
            "open",
            "send",
            "typing",
            "read",
            "resolve",
            "reopen",
            "assign",
            "set_priority",
            "note",
            "presence",
            "set_labels",
            "set_team",
        ],
    )?;
    match &frame {
        AgentFrame::Send {
            id,
            body,
            attachments,
            ..
        } => {
            check_id(id)?;
            check_attachments(id, attachments)?;
            if attachments.is_empty() || !body.is_empty() {
                check_body(id, body)?;
            }
        }
        AgentFrame::Note { id, body, .. } => {
            check_id(id)?;
            check_body(id, body)?;
        }
        AgentFrame::SetLabels { labels, .. } => {
            if labels.len() > crate::MAX_LABELS {
                return Err(FrameError::new(
                    ErrorCode::TooLarge,
                    format!("at most {} labels", crate::MAX_LABELS),
                ));
            }
            for label in labels {
                check_label("label", label)?;
            }
        }
        AgentFrame::SetTeam {
            team: Some(team), ..
        } => check_label("team", team)?,
        _ => {}
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    //! Run natively by `cargo test` and as wasm by `cargo xtask test` (wasm-bindgen-test-runner).
    use super::*;
    use expect_test::{Expect, expect};
    use wasm_bindgen_test::wasm_bindgen_test;

    fn check(input: &str, expect: Expect) {
        let actual = match decode_visitor(input) {
            Ok(frame) => format!("ok {frame:?}"),
            Err(e) => format!("{:?} id={:?}: {}", e.code, e.id, e.message),
        };
        expect.assert_eq(&actual);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn visitor_frames() {
        check(
            r#"{"type":"hello","v":1,"site":"demo"}"#,
            expect![[
                r#"ok Hello { v: 1, site: "demo", token: None, last_seq: 0, locale: None, page_url: None }"#
            ]],
        );
        check(
            r#"{"type":"send","id":"a1","body":"Olá, preciso de ajuda"}"#,
            expect![[
                r#"ok Send { id: "a1", body: "Olá, preciso de ajuda", context: None, attachments: [] }"#
            ]],
        );
        check(
            r#"{"type":"send","id":"a2","body":"","attachments":["k3Jx_9"]}"#,
            expect![[r#"ok Send { id: "a2", body: "", context: None, attachments: ["k3Jx_9"] }"#]],
        );
        check(
            r#"{"type":"send","id":"a3","body":"","attachments":[]}"#,
            expect![[r#"InvalidField id=Some("a3"): body is empty"#]],
        );
        check(
            r#"{"type":"send","id":"a4","body":"x","attachments":["../etc"]}"#,
            expect![[r#"InvalidField id=Some("a4"): an attachment id is malformed"#]],
        );
        check(r#"{"type":"upload"}"#, expect!["ok Upload"]);
        check(
            "not json",
            expect![[
                r#"BadFrame id=None: expected a JSON object with a string "type": expected ident at line 1 column 2"#
            ]],
        );
        check(
            "[1,2]",
            expect![[
                r#"BadFrame id=None: expected a JSON object with a string "type": invalid type: integer `1`, expected a string at line 1 column 2"#
            ]],
        );
        check(
            r#"{"type":"launch_missiles","id":"x"}"#,
            expect![[
                r#"UnknownType id=Some("x"): unknown frame type "launch_missiles"; expected one of ["hello", "send", "typing", "read", "resolve", "rate", "deflected", "contact", "searched", "effort", "upload"]"#
            ]],
        );
        check(
            r#"{"type":"send","id":"a1"}"#,
            expect![[r#"InvalidField id=Some("a1"): invalid send frame: missing field `body`"#]],
        );
        check(
            r#"{"type":"send","id":"a b","body":"hi"}"#,
            expect![[r#"InvalidField id=None: id must be 1 to 64 characters of [A-Za-z0-9_-]"#]],
        );
        check(
            r#"{"type":"send","id":"a1","body":"   "}"#,
            expect![[r#"InvalidField id=Some("a1"): body is empty"#]],
        );
        check(
            r#"{"type":"rate","score":6}"#,
            expect![[r#"InvalidField id=None: score must be 1 to 5"#]],
        );
        check(
            r#"{"type":"contact","email":"not-an-email"}"#,
            expect![[r#"InvalidField id=None: email is not a valid address"#]],
        );
        check(
            r#"{"type":"rate","score":5,"comment":"Quick and kind"}"#,
            expect![[r#"ok Rate { score: 5, comment: Some("Quick and kind") }"#]],
        );
        check(
            r#"{"type":"hello","v":1,"site":"../etc"}"#,
            expect![[r#"InvalidField id=None: site must be 1 to 64 characters of [A-Za-z0-9_-]"#]],
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn searched_and_effort_frames() {
        check(
            r#"{"type":"searched","query":"  reset my password ","results":2,"shown":["en/reset","en/login"],"opened":"en/reset","helpful":false}"#,
            expect![[
                r#"ok Searched { query: "reset my password", results: 2, shown: ["en/reset", "en/login"], opened: Some("en/reset"), helpful: Some(false), handoff: false }"#
            ]],
        );
        check(
            r#"{"type":"searched","query":"refund","results":0,"handoff":true}"#,
            expect![[
                r#"ok Searched { query: "refund", results: 0, shown: [], opened: None, helpful: None, handoff: true }"#
            ]],
        );
        check(
            r#"{"type":"searched","query":"   ","results":0}"#,
            expect!["InvalidField id=None: query is empty"],
        );
        check(
            &format!(
                r#"{{"type":"searched","query":"{}","results":0}}"#,
                "é".repeat(MAX_SEARCH_QUERY_CHARS + 1)
            ),
            expect!["InvalidField id=None: query is 201 characters; the limit is 200"],
        );
        check(
            r#"{"type":"searched","query":"a\u0007b","results":0}"#,
            expect!["InvalidField id=None: query cannot hold control characters"],
        );
        check(
            r#"{"type":"searched","query":"x","results":6,"shown":["a","b","c","d","e","f"]}"#,
            expect!["InvalidField id=None: shown lists at most 5 article ids"],
        );
        check(
            r#"{"type":"searched","query":"x","results":1,"shown":[""]}"#,
            expect![
                "InvalidField id=None: article ids are 1 to 256 bytes without control characters"
            ],
        );
        check(
            &format!(
                r#"{{"type":"searched","query":"x","results":1,"opened":"{}"}}"#,
                "a".repeat(MAX_ARTICLE_ID_LEN + 1)
            ),
            expect![
                "InvalidField id=None: article ids are 1 to 256 bytes without control characters"
            ],
        );
        check(
            r#"{"type":"searched","query":"x","results":-1}"#,
            expect![
                "InvalidField id=None: invalid searched frame: invalid value: integer `-1`, expected u32"
            ],
        );
        check(
            r#"{"type":"effort","score":7}"#,
            expect!["ok Effort { score: 7 }"],
        );
        check(
            r#"{"type":"effort","score":0}"#,
            expect!["InvalidField id=None: score must be 1 to 7"],
        );
        check(
            r#"{"type":"effort","score":8}"#,
            expect!["InvalidField id=None: score must be 1 to 7"],
        );
        check(
            r#"{"type":"send","id":"a1","body":"hi","context":{"searching_ms":86400000}}"#,
            expect![[
                r#"ok Send { id: "a1", body: "hi", context: Some(Handoff { query: None, shown: [], opened: [], user_agent: None, searching_ms: Some(86400000) }), attachments: [] }"#
            ]],
        );
        check(
            r#"{"type":"send","id":"a1","body":"hi","context":{"searching_ms":86400001}}"#,
            expect![[
                r#"ok Send { id: "a1", body: "hi", context: Some(Handoff { query: None, shown: [], opened: [], user_agent: None, searching_ms: None }), attachments: [] }"#
            ]],
        );
    }

    /// Found by `cargo xtask fuzz` (targets `visitor_frame` and `agent_frame`): an unknown frame
    /// type is quoted back cut to 40 bytes, which panicked when byte 40 fell inside a character.
    #[wasm_bindgen_test(unsupported = test)]
    fn regression_fuzz_a_long_unknown_type_is_cut_on_a_character_boundary() {
        let ty = format!("{}\u{8888}tail", "t".repeat(39));
        let frame = format!(r#"{{"type":"{ty}"}}"#);
        for result in [
            decode_visitor(&frame).map(|_| ()),
            decode_agent(&frame).map(|_| ()),
        ] {
            let e = result.unwrap_err();
            assert_eq!(e.code, ErrorCode::UnknownType);
            assert!(e.message.contains(&"t".repeat(39)), "{}", e.message);
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn oversized_frames_and_bodies_are_too_large() {
        let body = "é".repeat(MAX_BODY_CHARS + 1);
        let frame = format!(r#"{{"type":"send","id":"a1","body":"{body}"}}"#);
        assert_eq!(
            decode_visitor(&frame).unwrap_err().code,
            ErrorCode::TooLarge
        );
        let huge = format!(
            r#"{{"type":"send","id":"a1","body":"{}"}}"#,
            "x".repeat(MAX_FRAME_BYTES)
        );
        assert_eq!(decode_visitor(&huge).unwrap_err().code, ErrorCode::TooLarge);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn agent_frames() {
        assert_eq!(
            decode_agent(r#"{"type":"open","conversation":7}"#).unwrap(),
            AgentFrame::Open {
                conversation: 7,
                after_seq: 0
            }
        );
        assert_eq!(
            decode_agent(r#"{"type":"set_labels","conversation":7,"labels":["Billing "," VIP"]}"#)
                .unwrap(),
            AgentFrame::SetLabels {
                conversation: 7,
                labels: vec!["Billing ".into(), " VIP".into()]
            }
        );
        for bad in [
            r#"{"type":"set_labels","conversation":7,"labels":["a,b"]}"#,
            r#"{"type":"set_labels","conversation":7,"labels":["  "]}"#,
            r#"{"type":"set_team","conversation":7,"team":"x\u0000"}"#,
        ] {
            assert_eq!(
                decode_agent(bad).unwrap_err().code,
                ErrorCode::InvalidField,
                "{bad}"
            );
        }
        let many = format!(
            r#"{{"type":"set_labels","conversation":7,"labels":[{}]}}"#,
            vec![r#""x""#; crate::MAX_LABELS + 1].join(",")
        );
        assert_eq!(decode_agent(&many).unwrap_err().code, ErrorCode::TooLarge);
        assert_eq!(
            crate::normalize_label("  Refund   Request "),
            Some("refund request".into())
        );
        let VisitorFrame::Contact(d) = decode_visitor(
            r#"{"type":"contact","name":"Rita","user_id":"u-1","user_hash":"ab12","attributes":{"plan":"pro"}}"#,
        )
        .unwrap() else {
            panic!("a contact frame")
        };
        assert_eq!(
            (d.user_id.as_deref(), d.attributes["plan"].as_str()),
            (Some("u-1"), "pro")
        );
        for bad in [
            r#"{"type":"contact","attributes":{"a b":"x"}}"#,
            r#"{"type":"contact","attributes":{"plan":"x\u0007"}}"#,
            r#"{"type":"contact","user_id":"  "}"#,
            r#"{"type":"contact","email":"not an email"}"#,
        ] {
            assert_eq!(
                decode_visitor(bad).unwrap_err().code,
                ErrorCode::InvalidField,
                "{bad}"
            );
        }
        assert_eq!(
            decode_agent(r#"{"type":"send","id":"z","conversation":"7","body":"x"}"#)
                .unwrap_err()
                .code,
            ErrorCode::InvalidField
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn server_frames_roundtrip() {
        let frame = crate::ServerFrame::Message(crate::Message {
            conversation: 3,
            seq: 2,
            id: "c1".into(),
            author: crate::Author::Agent {
                id: 1,
                name: "Ana".into(),
            },
            body: "Oi!".into(),
            at: 1,
            attachments: Vec::new(),
        });
        let json = frame.to_json();
        expect![[
            r#"{"type":"message","conversation":3,"seq":2,"id":"c1","author":{"kind":"agent","id":1,"name":"Ana"},"body":"Oi!","at":1}"#
        ]]
        .assert_eq(&json);
        assert_eq!(crate::decode_server(&json).unwrap(), frame);
    }

    /// The widget's decoding (`{"<type>": frame}`, see `ServerFrame::deserialize_by_variant`)
    /// reads every visitor frame exactly as the server writes it.
    #[wasm_bindgen_test(unsupported = test)]
    fn server_frames_by_variant() {
        use crate::*;
        let availability = Availability {
            agents_online: true,
            open_now: false,
            next_open: Some(9),
        };
        let frames = [
            ServerFrame::Welcome {
                v: 1,
                token: Some("t".into()),
                conversation: Some(4),
                last_seq: 3,
                availability,
                rate_pending: true,
            },
            ServerFrame::Welcome {
                v: 1,
                token: None,
                conversation: None,
                last_seq: 0,
                availability: Availability::default(),
                rate_pending: false,
            },
            ServerFrame::Ack {
                id: "c1".into(),
                conversation: 4,
                seq: 5,
                at: 6,
            },
            ServerFrame::Message(Message {
                conversation: 4,
                seq: 5,
                id: "c1".into(),
                author: Author::Visitor,
                body: "Olá".into(),
                at: 6,
                attachments: vec![crate::Attachment {
                    id: "a1".into(),
                    name: "shot.png".into(),
                    content_type: "image/png".into(),
                    size: 3,
                    width: Some(2),
                    height: Some(1),
                }],
            }),
            ServerFrame::Typing {
                conversation: 4,
                from: Author::Agent {
                    id: 2,
                    name: "Ana".into(),
                },
                on: true,
            },
            ServerFrame::Read {
                conversation: 4,
                seq: 5,
                by: Reader::Agent,
            },
            ServerFrame::Status {
                conversation: 4,
                status: ConversationStatus::Resolved,
            },
            ServerFrame::Availability(availability),
            ServerFrame::IndexChanged {
                version: "abc".into(),
            },
            ServerFrame::Saved {
                what: Saved::Rating,
            },
            ServerFrame::Error {
                code: ErrorCode::TooLarge,
                message: "m".into(),
                id: Some("c1".into()),
                retry_after_ms: None,
            },
        ];
        for frame in frames {
            let value: serde_json::Value = serde_json::from_str(&frame.to_json()).unwrap();
            let tag = value["type"].as_str().unwrap().to_owned();
            let wrapped = serde_json::json!({ tag: value });
            assert_eq!(ServerFrame::deserialize_by_variant(wrapped).unwrap(), frame);
        }
        // Console-only frames are not part of the visitor's decoding.
        let conversation = serde_json::json!({"conversation": {"type": "conversation"}});
        assert!(ServerFrame::deserialize_by_variant(conversation).is_err());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn author_reads_like_an_internally_tagged_enum() {
        use crate::Author;
        let read = |json: &str| serde_json::from_str::<Author>(json).map_err(|e| e.to_string());
        assert_eq!(read(r#"{"kind":"visitor"}"#), Ok(Author::Visitor));
        assert_eq!(
            read(r#"{"name":"Ana","kind":"agent","id":2}"#),
            Ok(Author::Agent {
                id: 2,
                name: "Ana".into()
            })
        );
        assert!(read(r#"{"kind":"agent","id":2}"#).is_err());
        assert!(read(r#"{"kind":"agent","name":"Ana"}"#).is_err());
        assert!(read(r#"{"kind":"robot"}"#).is_err());
        assert!(read(r#"{"id":2}"#).is_err());
    }
}
