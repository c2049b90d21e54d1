//! User-interface strings of the widget, per language. Unknown languages fall back to English.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strings {
    pub title: &'static str,
    pub greeting: &'static str,
    pub placeholder: &'static str,
    pub send: &'static str,
    pub connecting: &'static str,
    pub online: &'static str,
    pub offline: &'static str,
    pub sending: &'static str,
    pub sent: &'static str,
    pub you: &'static str,
    pub agent_typing: &'static str,
    pub rate_limited: &'static str,
    pub error: &'static str,
}

const EN: Strings = Strings {
    title: "Support",
    greeting: "Hi! Ask us anything, we usually reply in a few minutes.",
    placeholder: "Type your message…",
    send: "Send",
    connecting: "Connecting…",
    online: "Connected",
    offline: "Offline: messages will be sent when the connection is back",
    sending: "Sending…",
    sent: "Sent",
    you: "You",
    agent_typing: "is typing…",
    rate_limited: "You are sending messages too fast. Please wait a moment.",
    error: "Something went wrong. Your message will be retried.",
};

const PT: Strings = Strings {
    title: "Suporte",
    greeting: "Olá! Pergunte o que quiser, costumamos responder em poucos minutos.",
    placeholder: "Digite sua mensagem…",
    send: "Enviar",
    connecting: "Conectando…",
    online: "Conectado",
    offline: "Sem conexão: as mensagens serão enviadas quando a conexão voltar",
    sending: "Enviando…",
    sent: "Enviada",
    you: "Você",
    agent_typing: "está digitando…",
    rate_limited: "Você está enviando mensagens rápido demais. Aguarde um momento.",
    error: "Algo deu errado. Sua mensagem será reenviada.",
};

const TR: Strings = Strings {
    title: "Destek",
    greeting: "Merhaba! Her şeyi sorabilirsiniz, genellikle birkaç dakika içinde yanıt veririz.",
    placeholder: "Mesajınızı yazın…",
    send: "Gönder",
    connecting: "Bağlanıyor…",
    online: "Bağlı",
    offline: "Çevrimdışı: mesajlar bağlantı geri geldiğinde gönderilecek",
    sending: "Gönderiliyor…",
    sent: "Gönderildi",
    you: "Siz",
    agent_typing: "yazıyor…",
    rate_limited: "Çok hızlı mesaj gönderiyorsunuz. Lütfen biraz bekleyin.",
    error: "Bir şeyler ters gitti. Mesajınız yeniden gönderilecek.",
};

const RU: Strings = Strings {
    title: "Поддержка",
    greeting: "Здравствуйте! Задайте любой вопрос, мы обычно отвечаем за несколько минут.",
    placeholder: "Введите сообщение…",
    send: "Отправить",
    connecting: "Подключение…",
    online: "Подключено",
    offline: "Нет соединения: сообщения будут отправлены, когда связь восстановится",
    sending: "Отправка…",
    sent: "Отправлено",
    you: "Вы",
    agent_typing: "печатает…",
    rate_limited: "Вы отправляете сообщения слишком быстро. Подождите немного.",
    error: "Что-то пошло не так. Сообщение будет отправлено повторно.",
};

/// Strings for a BCP 47 tag such as `pt-BR`; the primary language decides.
pub fn strings(locale: &str) -> &'static Strings {
    let primary = locale
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match primary.as_str() {
        "pt" => &PT,
        "tr" => &TR,
        "ru" => &RU,
        _ => &EN,
    }
}

/// Right-to-left scripts get `dir="rtl"`.
pub fn is_rtl(locale: &str) -> bool {
    let primary = locale
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(primary.as_str(), "ar" | "he" | "fa" | "ur")
}

#[cfg(test)]
mod tests {
    //! Run natively by `cargo test` and as wasm by `cargo xtask test` (wasm-bindgen-test-runner).
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn picks_by_primary_language() {
        assert_eq!(strings("pt-BR").send, "Enviar");
        assert_eq!(strings("TR").send, "Gönder");
        assert_eq!(strings("ru_RU").send, "Отправить");
        assert_eq!(strings("xx").send, "Send");
        assert!(is_rtl("ar-EG") && is_rtl("he") && !is_rtl("en"));
    }
}
