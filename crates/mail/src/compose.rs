//! The email of an agent's replies to a customer who left.

use crate::{ReplyKey, strings};
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};

/// One message of the conversation as the email shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The agent's name; `None` for the customer.
    pub agent: Option<String>,
    pub body: String,
}

/// What an email is made of.
#[derive(Debug, Clone)]
pub struct Thread<'a> {
    pub conversation: i64,
    /// The newest message the email carries (its Message-ID names it).
    pub up_to_seq: u64,
    /// The newest message an earlier email carried (0: none), which this one answers.
    pub emailed_seq: u64,
    pub site_name: &'a str,
    pub locale: Option<&'a str>,
    /// `Name <address>` the site's emails come from.
    pub from: &'a str,
    pub to: &'a str,
    /// The replies the customer has not seen, oldest first.
    pub new: &'a [Line],
    /// A few messages before them, oldest first.
    pub earlier: &'a [Line],
}

/// An email ready to send and the Message-ID it carries.
#[derive(Debug)]
pub struct Outgoing {
    pub message: Message,
    pub message_id: String,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Builds the email; an address that does not parse is an error naming it.
pub fn compose(key: &ReplyKey, t: &Thread) -> Result<Outgoing, String> {
    let s = strings(t.locale);
    let site = |text: &str| text.replace("{site}", t.site_name);
    let who = |l: &Line| l.agent.clone().unwrap_or_else(|| s.you.to_owned());
    let from: Mailbox = t
        .from
        .parse()
        .map_err(|e| format!("the sender {:?} is not an address: {e}", t.from))?;
    let to: Mailbox =
        t.to.parse()
            .map_err(|e| format!("the customer's address {:?} is not an address: {e}", t.to))?;
    let reply_to: Mailbox = format!(
        "{} <{}>",
        t.site_name.replace(['<', '>', '"'], ""),
        key.address(t.conversation)
    )
    .parse()
    .map_err(|e| format!("the reply address does not parse: {e}"))?;

    let mut text = format!("{}\n\n", site(s.intro));
    for l in t.new {
        text.push_str(&format!("{}:\n{}\n\n", who(l), l.body.trim()));
    }
    text.push_str(s.reply_hint);
    text.push('\n');
    if !t.earlier.is_empty() {
        text.push_str(&format!("\n— {} —\n", s.earlier));
        for l in t.earlier {
            text.push_str(&format!("{}: {}\n", who(l), l.body.trim()));
        }
    }

    let dir = if s.rtl { "rtl" } else { "ltr" };
    let paragraph = |body: &str| escape(body.trim()).replace('\n', "<br>");
    let mut html = format!(
        "<!doctype html><html dir=\"{dir}\"><body style=\"font-family:sans-serif\">\
         <p>{}</p>",
        escape(&site(s.intro))
    );
    for l in t.new {
        html.push_str(&format!(
            "<p><strong>{}</strong><br>{}</p>",
            escape(&who(l)),
            paragraph(&l.body)
        ));
    }
    html.push_str(&format!(
        "<p style=\"color:#555\">{}</p>",
        escape(s.reply_hint)
    ));
    if !t.earlier.is_empty() {
        html.push_str(&format!(
            "<hr><p style=\"color:#555\">{}</p>",
            escape(s.earlier)
        ));
        for l in t.earlier {
            html.push_str(&format!(
                "<p style=\"color:#555\"><strong>{}</strong>: {}</p>",
                escape(&who(l)),
                paragraph(&l.body)
            ));
        }
    }
    html.push_str("</body></html>");

    let message_id = key.message_id(t.conversation, t.up_to_seq);
    let mut builder = Message::builder()
        .from(from)
        .reply_to(reply_to)
        .to(to)
        .subject(site(s.subject))
        .message_id(Some(format!("<{message_id}>")));
    if t.emailed_seq > 0 {
        let previous = format!("<{}>", key.message_id(t.conversation, t.emailed_seq));
        builder = builder.in_reply_to(previous.clone()).references(previous);
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| format!("the email could not be built: {e}"))?;
    Ok(Outgoing {
        message,
        message_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread<'a>(new: &'a [Line], earlier: &'a [Line], locale: &'a str) -> Thread<'a> {
        Thread {
            conversation: 7,
            up_to_seq: 5,
            emailed_seq: 3,
            site_name: "Brightbill",
            locale: Some(locale),
            from: "Brightbill Support <support@brightbill.example>",
            to: "Rita <rita@example.com>",
            new,
            earlier,
        }
    }

    #[test]
    fn the_email_carries_the_replies_the_history_and_the_signed_addresses() {
        let key = ReplyKey::new(b"k", "reply.brightbill.example");
        let new = [Line {
            agent: Some("Ada".into()),
            body: "Your refund is on its way <b>today</b>.".into(),
        }];
        let earlier = [Line {
            agent: None,
            body: "Where is my refund?".into(),
        }];
        let out = compose(&key, &thread(&new, &earlier, "pt-BR")).unwrap();
        let raw = String::from_utf8(out.message.formatted()).unwrap();
        let parsed = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap();
        assert_eq!(parsed.subject(), Some("Nova resposta de Brightbill"));
        let reply_to = parsed
            .reply_to()
            .unwrap()
            .first()
            .unwrap()
            .address()
            .unwrap();
        assert_eq!(key.conversation_of(reply_to), Some(7));
        assert_eq!(parsed.message_id(), Some(out.message_id.as_str()));
        assert_eq!(key.conversation_of(parsed.message_id().unwrap()), Some(7));
        assert_eq!(
            parsed.in_reply_to().as_text(),
            Some(key.message_id(7, 3).as_str())
        );
        let text = parsed.body_text(0).unwrap().replace("\r\n", "\n");
        assert!(text.contains("Você tem uma nova resposta"), "{text}");
        assert!(
            text.contains("Ada:\nYour refund is on its way <b>today</b>."),
            "{text}"
        );
        assert!(text.contains("Você: Where is my refund?"), "{text}");
        let html = parsed.body_html(0).unwrap();
        assert!(
            html.contains("&lt;b&gt;today&lt;/b&gt;"),
            "markup is text: {html}"
        );
        assert!(!html.contains("<b>today"));
    }

    #[test]
    fn right_to_left_languages_and_bad_addresses() {
        let key = ReplyKey::new(b"k", "reply.example");
        let new = [Line {
            agent: Some("Ada".into()),
            body: "שלום".into(),
        }];
        let out = compose(&key, &thread(&new, &[], "he")).unwrap();
        let raw = String::from_utf8(out.message.formatted()).unwrap();
        let parsed = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap();
        assert!(parsed.body_html(0).unwrap().contains("dir=\"rtl\""));
        let mut t = thread(&new, &[], "en");
        t.to = "not an address";
        assert!(compose(&key, &t).unwrap_err().contains("not an address"));
    }
}
