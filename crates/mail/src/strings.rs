//! What the email says, in the customer's language (the widget's languages; English for any
//! other). `{site}` stands for the site's name.

pub struct Strings {
    /// Subject of the email of new replies.
    pub subject: &'static str,
    /// First line: who answered.
    pub intro: &'static str,
    /// How to answer.
    pub reply_hint: &'static str,
    /// Heading of the earlier messages.
    pub earlier: &'static str,
    /// Who wrote a line the customer wrote.
    pub you: &'static str,
    /// Written right to left.
    pub rtl: bool,
}

const EN: Strings = Strings {
    subject: "New reply from {site}",
    intro: "You have a new reply in your conversation with {site}:",
    reply_hint: "Reply to this email to answer: your message goes to the same conversation.",
    earlier: "Earlier in this conversation",
    you: "You",
    rtl: false,
};

const PT: Strings = Strings {
    subject: "Nova resposta de {site}",
    intro: "Você tem uma nova resposta na sua conversa com {site}:",
    reply_hint: "Responda a este e-mail para continuar: sua mensagem vai para a mesma conversa.",
    earlier: "Antes nesta conversa",
    you: "Você",
    rtl: false,
};

const PT_PT: Strings = Strings {
    subject: "Nova resposta de {site}",
    intro: "Tem uma nova resposta na sua conversa com {site}:",
    reply_hint: "Responda a este e-mail para continuar: a sua mensagem vai para a mesma conversa.",
    earlier: "Antes nesta conversa",
    you: "Você",
    rtl: false,
};

const ES: Strings = Strings {
    subject: "Nueva respuesta de {site}",
    intro: "Tienes una nueva respuesta en tu conversación con {site}:",
    reply_hint: "Responde a este correo para contestar: tu mensaje va a la misma conversación.",
    earlier: "Antes en esta conversación",
    you: "Tú",
    rtl: false,
};

const TR: Strings = Strings {
    subject: "{site} yanıt verdi",
    intro: "{site} ile konuşmanızda yeni bir yanıt var:",
    reply_hint: "Yanıtlamak için bu e-postayı yanıtlayın: mesajınız aynı konuşmaya gider.",
    earlier: "Bu konuşmada daha önce",
    you: "Siz",
    rtl: false,
};

const RU: Strings = Strings {
    subject: "Новый ответ от {site}",
    intro: "В вашем разговоре с {site} новый ответ:",
    reply_hint: "Чтобы ответить, ответьте на это письмо: сообщение попадёт в тот же разговор.",
    earlier: "Ранее в этом разговоре",
    you: "Вы",
    rtl: false,
};

const AR: Strings = Strings {
    subject: "رد جديد من {site}",
    intro: "لديك رد جديد في محادثتك مع {site}:",
    reply_hint: "للإجابة، رُدّ على هذه الرسالة: تصل رسالتك إلى المحادثة نفسها.",
    earlier: "في وقت سابق من هذه المحادثة",
    you: "أنت",
    rtl: true,
};

const HE: Strings = Strings {
    subject: "תשובה חדשה מ-{site}",
    intro: "יש לך תשובה חדשה בשיחה שלך עם {site}:",
    reply_hint: "כדי לענות, השב/י למייל הזה: ההודעה תגיע לאותה שיחה.",
    earlier: "מוקדם יותר בשיחה הזו",
    you: "את/ה",
    rtl: true,
};

/// The strings for a locale (`pt-BR`, `tr`, `ru-RU`…).
pub fn strings(locale: Option<&str>) -> &'static Strings {
    let locale = locale.unwrap_or("en").to_ascii_lowercase();
    let (language, region) = locale.split_once(['-', '_']).unwrap_or((&locale, ""));
    match (language, region) {
        ("pt", "pt") => &PT_PT,
        ("pt", _) => &PT,
        ("es", _) => &ES,
        ("tr", _) => &TR,
        ("ru", _) => &RU,
        ("ar", _) => &AR,
        ("he" | "iw", _) => &HE,
        _ => &EN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_pick_their_language() {
        assert_eq!(strings(Some("pt-BR")).you, "Você");
        assert!(strings(Some("pt-PT")).intro.starts_with("Tem"));
        assert_eq!(strings(Some("TR")).you, "Siz");
        assert_eq!(strings(Some("ru_RU")).you, "Вы");
        assert!(strings(Some("he-IL")).rtl);
        assert_eq!(strings(Some("xx")).you, "You");
        assert_eq!(strings(None).you, "You");
        for s in [&EN, &PT, &PT_PT, &ES, &TR, &RU, &AR, &HE] {
            assert!(s.subject.contains("{site}") && s.intro.contains("{site}"));
        }
    }
}
