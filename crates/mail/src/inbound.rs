//! A customer's email answer: which conversation it belongs to, who sent it, and what they
//! wrote above the quoted history.

use crate::ReplyKey;
use mail_parser::{Address, HeaderValue, MessageParser};

/// What an inbound email adds to a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub conversation: i64,
    /// The sender's address, lowercase.
    pub from: String,
    /// The email's own Message-ID (a mail provider that posts the same email twice is told
    /// apart by it), or a digest of the email when it has none.
    pub message_id: String,
    /// The new text: quotes, attribution lines and signatures trimmed.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundError {
    /// The bytes are not an email (no headers).
    NotAnEmail,
    /// No signed reply address or Message-ID of ours among its recipients and references.
    NoConversation,
    /// No sender address.
    NoSender,
    /// Nothing left once the quoted history is trimmed.
    Empty,
}

impl std::fmt::Display for InboundError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InboundError::NotAnEmail => "the body is not an email (RFC 5322 headers and body)",
            InboundError::NoConversation => {
                "no recipient or reference is a signed reply address of this server"
            }
            InboundError::NoSender => "the email has no From address",
            InboundError::Empty => "the email has no text above the quoted conversation",
        })
    }
}

fn addresses(value: Option<&Address>) -> Vec<String> {
    value
        .map(|a| {
            a.iter()
                .filter_map(|a| a.address())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn texts(value: &HeaderValue) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(list) => list.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// Reads a raw email (as a mail server's pipe or a provider's inbound webhook delivers it).
pub fn parse(raw: &[u8], key: &ReplyKey) -> Result<Inbound, InboundError> {
    let message = MessageParser::default()
        .parse(raw)
        .filter(|m| !m.headers().is_empty())
        .ok_or(InboundError::NotAnEmail)?;
    // Where it was sent (the reply address), then what it answers (our Message-IDs).
    let mut candidates = addresses(message.to());
    candidates.extend(addresses(message.cc()));
    for name in ["Delivered-To", "X-Original-To"] {
        if let Some(v) = message.header(name) {
            candidates.extend(texts(v));
        }
    }
    candidates.extend(texts(message.in_reply_to()));
    candidates.extend(texts(message.references()));
    let conversation = candidates
        .iter()
        .find_map(|c| key.conversation_of(c))
        .ok_or(InboundError::NoConversation)?;
    let from = addresses(message.from())
        .into_iter()
        .next()
        .map(|a| a.to_lowercase())
        .ok_or(InboundError::NoSender)?;
    let message_id = match message.message_id() {
        Some(id) => id.to_owned(),
        None => {
            use sha2::{Digest, Sha256};
            let digest = Sha256::digest(raw);
            digest[..16].iter().map(|b| format!("{b:02x}")).collect()
        }
    };
    let body = message.body_text(0).unwrap_or_default();
    let text = trim_reply(&body);
    if text.is_empty() {
        return Err(InboundError::Empty);
    }
    Ok(Inbound {
        conversation,
        from,
        message_id,
        text,
    })
}

/// Lines that start the quoted history or a signature, in the languages of our customers'
/// mail programs (the line that ends "wrote:" may be the second of a wrapped attribution).
fn starts_history(line: &str) -> bool {
    let t = line.trim();
    let lower = t.to_lowercase();
    t == "--"
        || line.trim_end_matches(['\r', '\n']) == "-- "
        || lower.starts_with("-----original message-----")
        || lower.starts_with("-----mensagem original-----")
        || lower.starts_with("-----mensaje original-----")
        || lower.starts_with("-----исходное сообщение-----")
        || t.starts_with("________________________________")
        || lower.starts_with("sent from my ")
        || lower.starts_with("enviado do meu ")
        || lower.starts_with("enviado desde mi ")
        || lower.starts_with("отправлено с ")
        || lower.ends_with("dan gönderildi")
        || lower.ends_with(" wrote:")
        || lower.ends_with(" escreveu:")
        || lower.ends_with(" escribió:")
        || lower.ends_with(" yazdı:")
        || lower.ends_with(" написал:")
        || lower.ends_with(" написала:")
        || lower.ends_with(" написал(а):")
        || lower.ends_with(" a écrit :")
        || lower.ends_with(" a écrit:")
}

/// An attribution line's first half ("On Tue, 1 Dec 2026 at 10:00, Brightbill <") when the
/// mail program wrapped it.
fn starts_attribution(line: &str) -> bool {
    let lower = line.trim().to_lowercase();
    ["on ", "em ", "el ", "le "]
        .iter()
        .any(|p| lower.starts_with(p))
}

/// The customer's new text: everything above the quoted history or signature, without
/// quoted (`>`) lines, trimmed.
pub fn trim_reply(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate() {
        if starts_history(line) {
            end = i;
            // "On …, Name <" / "reply+…> wrote:": the first half goes too.
            if i > 0 && starts_attribution(lines[i - 1]) && !lines[i].trim().starts_with("On ") {
                end = i - 1;
            }
            break;
        }
    }
    let kept: Vec<&str> = lines[..end]
        .iter()
        .copied()
        .filter(|l| !l.trim_start().starts_with('>'))
        .collect();
    kept.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ReplyKey {
        ReplyKey::new(b"k", "reply.example")
    }

    #[test]
    fn replies_lose_their_quotes_and_signatures() {
        let gmail = "Thanks, it arrived!\n\nOn Tue, Dec 1, 2026 at 10:00 AM Brightbill <\nreply+7.abc@reply.example> wrote:\n> You have a new reply\n> Ada: on its way\n";
        assert_eq!(trim_reply(gmail), "Thanks, it arrived!");
        let one_line =
            "Obrigada!\r\n\r\nEm ter., 1 de dez. de 2026 às 10:00, Brightbill escreveu:\r\n> Olá";
        assert_eq!(trim_reply(one_line), "Obrigada!");
        let signature = "Спасибо, всё пришло.\n-- \nИван\n+7 900 000 00 00";
        assert_eq!(trim_reply(signature), "Спасибо, всё пришло.");
        let phone = "Teşekkürler\n\niPhone'umdan gönderildi";
        assert_eq!(trim_reply(phone), "Teşekkürler");
        let outlook = "Got it.\n\n-----Original Message-----\nFrom: Brightbill";
        assert_eq!(trim_reply(outlook), "Got it.");
        let inline = "> quoted first\nmy answer\n> more quote\nsecond line";
        assert_eq!(trim_reply(inline), "my answer\nsecond line");
        assert_eq!(trim_reply("> only a quote"), "");
        // A sentence that merely begins like an attribution stays.
        assert_eq!(trim_reply("On Monday I will pay."), "On Monday I will pay.");
    }

    #[test]
    fn an_answer_finds_its_conversation_by_address_or_reference() {
        let k = key();
        let raw = format!(
            "From: Rita <Rita@Example.com>\r\nTo: Brightbill <{}>\r\nSubject: Re: New reply\r\n\
             Message-ID: <abc@mail.example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             It arrived, thanks!\r\n\r\nOn Tue, Brightbill wrote:\r\n> Ada: on its way\r\n",
            k.address(7)
        );
        let got = parse(raw.as_bytes(), &k).unwrap();
        assert_eq!(got.conversation, 7);
        assert_eq!(got.from, "rita@example.com");
        assert_eq!(got.message_id, "abc@mail.example.com");
        assert_eq!(got.text, "It arrived, thanks!");
        // Sent to another address, but answering our message.
        let raw = format!(
            "From: rita@example.com\r\nTo: support@brightbill.example\r\nIn-Reply-To: <{}>\r\n\r\nThanks\r\n",
            k.message_id(9, 4)
        );
        assert_eq!(parse(raw.as_bytes(), &k).unwrap().conversation, 9);
        // Unsigned or forged: no conversation.
        let raw = "From: x@example.com\r\nTo: reply+7.0000000000000000@reply.example\r\n\r\nHi\r\n";
        assert_eq!(parse(raw.as_bytes(), &k), Err(InboundError::NoConversation));
        let raw = format!("To: {}\r\n\r\nHi\r\n", k.address(7));
        assert_eq!(parse(raw.as_bytes(), &k), Err(InboundError::NoSender));
        let raw = format!(
            "From: r@example.com\r\nTo: {}\r\n\r\n> quote only\r\n",
            k.address(7)
        );
        assert_eq!(parse(raw.as_bytes(), &k), Err(InboundError::Empty));
        assert_eq!(parse(b"", &k), Err(InboundError::NotAnEmail));
    }

    #[test]
    fn html_only_answers_and_other_charsets_are_read() {
        let k = key();
        let raw = format!(
            "From: ivan@example.ru\r\nTo: {}\r\nContent-Type: text/html; charset=koi8-r\r\n\r\n",
            k.address(3)
        );
        let mut bytes = raw.into_bytes();
        // "Спасибо" in KOI8-R, in a paragraph.
        bytes.extend_from_slice(b"<p>\xf3\xd0\xc1\xd3\xc9\xc2\xcf</p>");
        assert_eq!(parse(&bytes, &k).unwrap().text, "Спасибо");
    }
}
