// The XSS corpus of xss.test.mjs, in one place: every entry has a short unique name and a text
// that calls a global hook (`__xss(name)`, `top.__xss(…)`, `alert`, `confirm`, `prompt`, `print`,
// `open`) if it ever runs as script. The test instruments those hooks in every frame.
//
// Kinds: script tags, event handlers, SVG and MathML, frames and embeds, javascript:/data: URLs
// (HTML, Markdown links, images and autolinks, encoded and split), malformed and unclosed tags,
// attribute breakouts, template injection, CSS tricks, HTML entities, bidi overrides and isolates,
// zero-width and other invisible characters, emoji with combining marks, Markdown code spans with
// HTML, and over-long strings at the limits of crates/protocol (MAX_BODY_CHARS = 4000).

/** Largest message body, in characters (protocol::MAX_BODY_CHARS). */
export const MAX_BODY_CHARS = 4000;

const longAscii = (() => {
  const unit = "<img src=x onerror=__xss('long-ascii')>";
  let s = "";
  while (s.length + unit.length <= MAX_BODY_CHARS) s += unit;
  return s + "x".repeat(MAX_BODY_CHARS - s.length);
})();

// 2,000 emoji: 4,000 UTF-16 units (the composers' maxlength), 2,000 characters for the server.
const longEmoji = "<svg onload=alert(2000)>" + "😀".repeat(2000 - 24);

export const PAYLOADS = [
  // <script> in its many spellings.
  { name: "script", text: "<script>__xss('script')</script>" },
  { name: "script-top", text: "<script>top.__xss('script-top')</script>" },
  { name: "script-upper", text: "<SCRIPT>alert('script-upper')</SCRIPT>" },
  { name: "script-src-data", text: "<script src=\"data:text/javascript,__xss('script-src-data')\"></script>" },
  { name: "script-nested", text: "<scr<script>ipt>__xss('script-nested')</scr</script>ipt>" },
  { name: "script-double-lt", text: "<<script>__xss('double-lt');//<</script>" },
  { name: "script-in-template", text: "<template><script>__xss('template')</script></template>" },
  // Breaking out of the element the text might land in.
  { name: "textarea-breakout", text: "</textarea><script>__xss('textarea-breakout')</script>" },
  { name: "title-breakout", text: "</title><script>__xss('title-breakout')</script>" },
  { name: "style-breakout", text: "</style><script>__xss('style-breakout')</script>" },
  { name: "comment-breakout", text: "--><script>__xss('comment-breakout')</script><!--" },
  { name: "cdata", text: "<![CDATA[<script>__xss('cdata')</script>]]>" },
  { name: "noscript-mutation", text: "<noscript><p title=\"</noscript><img src=x onerror=__xss('noscript')>\">" },
  // Event handlers.
  { name: "img-onerror", text: "<img src=x onerror=__xss('img-onerror')>" },
  { name: "img-onerror-quoted", text: "<img src=\"x\" onerror=\"alert('img-quoted')\">" },
  { name: "img-unclosed", text: "<img src=x onerror=alert(1)//" },
  { name: "img-js-src", text: "<IMG SRC=javascript:__xss('img-js-src')>" },
  { name: "img-quotes-mess", text: "<img \"\"\"><script>__xss('quotes-mess')</script>\">" },
  { name: "svg-onload", text: "<svg onload=__xss('svg-onload')>" },
  { name: "svg-slash", text: "<svg/onload=top.__xss('svg-slash')>" },
  { name: "svg-script", text: "<svg><script>__xss('svg-script')</script></svg>" },
  { name: "svg-animate", text: "<svg><animate onbegin=__xss('svg-animate') attributeName=x dur=1s>" },
  { name: "svg-xlink", text: "<svg><a xlink:href=\"javascript:__xss('svg-xlink')\"><text x=20 y=20>XSS</text></a></svg>" },
  { name: "body-onload", text: "<body onload=__xss('body-onload')>" },
  { name: "input-autofocus", text: "<input autofocus onfocus=__xss('input-autofocus')>" },
  { name: "details-ontoggle", text: "<details open ontoggle=__xss('details')>" },
  { name: "video-source", text: "<video><source onerror=__xss('video-source')></video>" },
  { name: "audio-onerror", text: "<audio src=x onerror=confirm('audio')>" },
  { name: "marquee-onstart", text: "<marquee onstart=__xss('marquee')>x</marquee>" },
  { name: "div-hover-overlay", text: "<div onmouseover=\"__xss('overlay')\" style=\"position:fixed;inset:0\">hover</div>" },
  { name: "custom-onclick", text: "<x onclick=prompt('custom')>click me" },
  { name: "math-mglyph", text: "<math><mtext><table><mglyph><style><img src=x onerror=__xss('math-mglyph')>" },
  { name: "math-href", text: "<math href=\"javascript:__xss('math-href')\">click</math>" },
  // Frames, objects, forms and document-level elements.
  { name: "iframe-js", text: "<iframe src=javascript:__xss('iframe-js')></iframe>" },
  { name: "iframe-srcdoc", text: "<iframe srcdoc=\"<script>parent.__xss('srcdoc')</script>\"></iframe>" },
  { name: "object-js", text: "<object data=\"javascript:__xss('object')\"></object>" },
  { name: "embed-data", text: "<embed src=\"data:text/html,<script>__xss('embed')</script>\">" },
  { name: "form-formaction", text: "<form><button formaction=javascript:__xss('formaction')>go</button></form>" },
  { name: "meta-refresh", text: "<meta http-equiv=\"refresh\" content=\"0;url=javascript:__xss('meta')\">" },
  { name: "base-href", text: "<base href=\"javascript:__xss('base')//\">" },
  { name: "link-import", text: "<link rel=stylesheet href=\"javascript:__xss('link')\">" },
  // javascript: and data: URLs as HTML.
  { name: "a-js", text: "<a href=\"javascript:__xss('a-js')\">click</a>" },
  { name: "a-entities", text: "<a href=\"&#106;avascript:__xss('a-entities')\">click</a>" },
  { name: "a-hex-entities", text: "<a href=\"&#x6A;&#x61;vascript&colon;alert('hex')\">click</a>" },
  { name: "a-tab-split", text: "<a href=\"java\tscript:__xss('a-tab')\">click</a>" },
  { name: "a-newline-split", text: "<a href=\"java\nscript:__xss('a-newline')\">click</a>" },
  { name: "a-leading-space", text: "<a href=\" javascript:open('a-space')\">click</a>" },
  { name: "a-data-html", text: "<a href=\"data:text/html,<script>__xss('a-data')</script>\">click</a>" },
  { name: "a-https-onclick", text: "<a href=\"https://example.com\" onclick=\"__xss('a-onclick')\">https://example.com</a>" },
  // …and as Markdown links, images and autolinks.
  { name: "md-link-js", text: "[click me](javascript:__xss('md-link'))" },
  { name: "md-link-js-mixed-case", text: "[x](JaVaScRiPt:alert('md-case'))" },
  { name: "md-image-js", text: "![x](javascript:__xss('md-image'))" },
  { name: "md-link-data", text: "[x](data:text/html;base64,PHNjcmlwdD50b3AuX194c3MoMSk8L3NjcmlwdD4=)" },
  { name: "md-autolink-js", text: "<javascript:__xss('autolink')>" },
  { name: "md-link-quote-breakout", text: "[x](https://example.com/\"onmouseover=\"__xss('md-quote'))" },
  { name: "md-link-nested", text: "[[x](javascript:alert('nested'))](https://example.com)" },
  { name: "md-link-text-html", text: "[<img src=x onerror=__xss('link-text')>](https://example.com/ok)" },
  { name: "md-link-entity-js", text: "[x](&#106;avascript:__xss('md-entity'))" },
  { name: "bare-url-breakout", text: "see https://example.com/<img src=x onerror=__xss('bare-url')> now" },
  { name: "js-url-text", text: "javascript:__xss('js-url-text')//https://example.com" },
  // Attribute breakouts.
  { name: "attr-double-quote", text: "\"><script>__xss('attr-dq')</script>" },
  { name: "attr-single-quote", text: "'onmouseover='__xss(\"attr-sq\")' x='" },
  { name: "attr-autofocus", text: "\" autofocus onfocus=\"__xss('attr-autofocus')\" x=\"" },
  { name: "attr-backtick", text: "`onmouseover=alert`1`` x=`" },
  // Template and Yew-ish injection.
  { name: "mustache", text: "{{constructor.constructor('__xss(\"mustache\")')()}}" },
  { name: "template-literal", text: "${__xss('template-literal')}" },
  { name: "angular", text: "{{$on.constructor('alert(\"angular\")')()}}" },
  { name: "yew-html-macro", text: "{ html! { <script>__xss('yew')</script> } }" },
  { name: "canned-vars", text: "{{name}} {{agent}} <img src=x onerror=__xss('canned-vars')>" },
  { name: "erb", text: "<%= __xss('erb') %>" },
  // CSS tricks.
  { name: "style-element", text: "<style>@import 'javascript:__xss(1)';*{background:url(\"javascript:__xss('style-el')\")}</style>" },
  { name: "style-url", text: "<div style=\"background:url(javascript:__xss('style-url'))\">x</div>" },
  { name: "style-expression", text: "<div style=\"width:expression(__xss('expression'))\">x</div>" },
  { name: "style-overlay-click", text: "<div style=\"position:fixed;top:0;left:0;width:100%;height:100%;z-index:99999\" onclick=\"__xss('overlay-click')\"></div>" },
  // HTML entities: shown as typed, never decoded.
  { name: "entities-escaped", text: "&lt;script&gt;__xss('entities')&lt;/script&gt;" },
  { name: "entities-double", text: "&amp;lt;img src=x onerror=alert(1)&amp;gt; &#60;b&#62;bold&#60;/b&#62; &quot;&apos;" },
  // Bidirectional overrides and isolates, invisible characters.
  { name: "bidi-rlo", text: "\u202Egnp.exe <img src=x onerror=__xss('rlo')>" },
  { name: "bidi-isolates", text: "\u2066<script>__xss('lri')</script>\u2069 \u2067RTL\u2069 \u2068FSI\u2069" },
  { name: "bidi-embeddings", text: "\u202Aleft\u202C \u202Bright\u202C \u202Doverride\u202C <svg onload=__xss('bidi-emb')>" },
  { name: "zero-width", text: "<scr\u200Bipt>__xss('zwsp')</scr\u200Bipt>\u200C\u200D\u2060\uFEFF" },
  { name: "arabic-hebrew", text: "مرحبا <img src=x onerror=__xss('arabic')> שלום" },
  // Look-alikes, emoji and combining marks.
  { name: "fullwidth", text: "＜script＞__xss('fullwidth')＜/script＞" },
  { name: "cyrillic-lookalike", text: "<ѕcript>__xss('cyrillic')</ѕcript> аlert(1)" },
  { name: "emoji-combining", text: "Z̸̢̛a̷l̴g̶o̵ 👩‍👩‍👧‍👦 🏳️‍🌈 e\u0301\u0301\u0301 <img src=x onerror=__xss('zalgo')>" },
  // Markdown around HTML.
  { name: "md-code-span", text: "`<script>__xss('code-span')</script>`" },
  { name: "md-bold-html", text: "**<img src=x onerror=__xss('bold')>**" },
  { name: "md-code-fence", text: "```html\n<script>__xss('fence')</script>\n```" },
  { name: "newlines-in-tag", text: "<img\nsrc=x\nonerror=__xss('newlines')>" },
  // Strings at the limits of crates/protocol: a label (40 characters), an agent's name (100), a
  // contact's name or an attribute value (200 bytes), a message (4,000 characters).
  { name: "exactly-40", text: "<svg onload=alert('forty-characters!!')>" },
  { name: "exactly-100", text: "<img src=x onerror=__xss('exactly-100')>".padEnd(100, "~") },
  { name: "exactly-200", text: "<details open ontoggle=__xss('exactly-200')>".padEnd(200, "~") },
  { name: "long-ascii-4000", text: longAscii },
  { name: "long-emoji-2000", text: longEmoji },
];

/** Markdown articles for the knowledge base: what `frontdesk index check` accepts (the
 * renderer sanitizes it) and what it refuses (active URLs, raw-text elements left open). */
export const KB_BODY_ACCEPTED = [
  "<script>__xss('kb-script')</script>",
  "<img src=x onerror=__xss('kb-img')>",
  "<svg onload=__xss('kb-svg')><script>__xss('kb-svg-script')</script></svg>",
  "<details open ontoggle=__xss('kb-details')>x</details>",
  "<input autofocus onfocus=__xss('kb-input')>",
  "<iframe src=\"https://example.com/\" onload=__xss('kb-iframe')></iframe>",
  "<a href=\"&#106;avascript:__xss('kb-entities')\">entity-encoded</a>",
  "<a href=\"java&#x09;script:__xss('kb-tab')\">tab-split</a>",
  "<a href=\"https://example.com\" onclick=\"__xss('kb-onclick')\">a link with a handler</a>",
  "<div style=\"background:url(javascript:__xss('kb-style'))\">styled</div>",
  "<style>*{background:url(\"https://example.com/x.png\")}</style>",
  "<math><mtext><table><mglyph><style><img src=x onerror=__xss('kb-math')></style></mglyph></table></mtext></math>",
  "<form action=\"https://example.com\"><button formaction=\"https://example.com\">go</button></form>",
  "<object data=\"https://example.com/x.swf\"></object><embed src=\"https://example.com/x.swf\">",
  "<base href=\"https://evil.example/\"><meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">",
  "`<script>__xss('kb-code')</script>`",
  "```html\n<img src=x onerror=__xss('kb-fence')>\n```",
  "**<svg/onload=__xss('kb-bold')>**",
  "[<img src=x onerror=__xss('kb-link-text')>](https://example.com/ok)",
  "\u202Egnp.exe \u2066isolated\u2069 zero\u200Bwidth 👩‍👩‍👧‍👦 e\u0301\u0301",
  "{{constructor.constructor('__xss(1)')()}} ${__xss('kb-template')}",
  "&lt;script&gt;__xss('kb-entities-text')&lt;/script&gt;",
  "<noscript><p title=\"</noscript><img src=x onerror=__xss('kb-noscript')>\"></noscript>",
];

/** Articles the build must refuse (file, the Markdown, what the error names). */
export const KB_REFUSED = [
  { name: "md-link-js", body: "[click](javascript:__xss('kb-refused-link'))", error: /unsafe URL `javascript:/ },
  { name: "md-image-js", body: "![x](javascript:__xss('kb-refused-image'))", error: /unsafe URL `javascript:/ },
  { name: "md-autolink-js", body: "<javascript:__xss('kb-refused-autolink')>", error: /unsafe URL `javascript:/ },
  { name: "md-link-data", body: "[x](data:text/html,<script>__xss(1)</script>)", error: /unsafe URL/ },
  { name: "html-a-js", body: "<a href=\"javascript:__xss('kb-refused-a')\">x</a>", error: /unsafe URL `javascript:/ },
  { name: "html-a-js-spaced", body: "<a href=\"  JaVaScRiPt:__xss('kb-refused-case')\">x</a>", error: /unsafe URL/ },
  { name: "html-img-data", body: "<img src=\"data:image/svg+xml,<svg onload=__xss(1)>\">", error: /unsafe URL `data:/ },
  { name: "html-iframe-js", body: "<iframe src=javascript:__xss('kb-refused-iframe')></iframe>", error: /unsafe URL `javascript:/ },
  { name: "unclosed-script", body: "<script>__xss('kb-refused-script')\n\nThe rest of the article.", error: /`<script>` is never closed/ },
  { name: "unclosed-style", body: "<style>*{background:red}\n\nThe rest.", error: /`<style>` is never closed/ },
  { name: "unclosed-textarea", body: "</p><textarea><img src=x onerror=__xss(1)>\n\nThe rest.", error: /`<textarea>` is never closed/ },
  { name: "front-matter-url-js", body: "A fine body.", url: "javascript:__xss('kb-refused-url')", error: /unsafe URL `javascript:/ },
];
