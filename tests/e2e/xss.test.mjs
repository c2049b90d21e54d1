// The XSS corpus as a test: every payload of xss-payloads.mjs goes through the fields a person
// sees, rendered by the widget and the console in Chromium, and nothing may run: `alert`,
// `confirm`, `prompt`, `print`, `open` and `__xss` are instrumented in every frame, CSP
// violations, page errors, dialogs, pop-ups, failed resource loads and requests to other hosts
// are recorded, and the rendered DOM is scanned for handlers, scripts, frames and active URLs.
// Text must show as typed: messages, notes and labels exactly (labels as normalized by
// `protocol::normalize_label`), names as `protocol::clean_name` shows them, the widget's light
// Markdown (`crates/widget/src/markdown.rs`) as its segments; knowledge-base articles, which are
// Markdown rendered and sanitized at build time, must hold nothing active.
//
// Fields: visitor messages (widget and console), agent replies (console → widget), private
// notes, labels, canned replies (titles and bodies from the config file), the `/kb` link, agents'
// display names (CLI and the console's admin form) and teams, the site's name and greeting, the
// visitor's name and email from the widget's pre-chat form, `Frontdesk('identify')` names,
// emails, verified user ids and custom attributes, the handoff context (the query typed in the
// widget, the articles suggested and read, their tags as labels), CSAT comments, and
// knowledge-base titles, descriptions, tags and bodies. Over-long strings: accepted up to the
// protocol's limits, refused cleanly past them.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BIN, addAgent, launchBrowser, removeData, screenshot, startServer, stopServer, tempData,
} from "./harness.mjs";
import { KB_BODY_ACCEPTED, KB_REFUSED, MAX_BODY_CHARS, PAYLOADS } from "./xss-payloads.mjs";

const SECRET = "the xss test's identity secret, long enough";
const pick = (name) => {
  const p = PAYLOADS.find((x) => x.name === name);
  if (!p) throw new Error(`no payload ${name}`);
  return p.text;
};
const ADMIN = {
  email: "ana@xss.test",
  password: "ana's long password",
  name: "Ana \u202E<img src=x onerror=__xss('admin-name')>",
};

// ---------------------------------------------------------------------------------------------
// The documented text rules, ported from Rust to compute what each field must show.

/** `char::is_whitespace` (Unicode White_Space). */
const isWs = (cp) => (cp >= 9 && cp <= 13) || cp === 0x20 || cp === 0x85 || cp === 0xa0 || cp === 0x1680
  || (cp >= 0x2000 && cp <= 0x200a) || cp === 0x2028 || cp === 0x2029 || cp === 0x202f || cp === 0x205f
  || cp === 0x3000;
/** `char::is_control` (general category Cc). */
const isControl = (cp) => cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f);
/** `protocol::is_invisible`. */
const isInvisible = (cp) => cp === 0xad || cp === 0x34f || cp === 0x61c || cp === 0x115f || cp === 0x1160
  || cp === 0x17b4 || cp === 0x17b5 || (cp >= 0x180b && cp <= 0x180f) || (cp >= 0x200b && cp <= 0x200f)
  || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) || cp === 0x3164
  || (cp >= 0xfe00 && cp <= 0xfe0f) || cp === 0xfeff || cp === 0xffa0 || (cp >= 0x1d173 && cp <= 0x1d17a)
  || (cp >= 0xe0000 && cp <= 0xe007f);
const cp = (c) => c.codePointAt(0);
const bytes = (s) => Buffer.byteLength(s, "utf8");

/** `str::trim`. */
function rustTrim(s) {
  const a = [...s];
  while (a.length && isWs(cp(a[0]))) a.shift();
  while (a.length && isWs(cp(a[a.length - 1]))) a.pop();
  return a.join("");
}

/** `str::split_whitespace`. */
function splitWhitespace(s) {
  const words = [];
  let word = "";
  for (const c of s) {
    if (isWs(cp(c))) {
      if (word) words.push(word);
      word = "";
    } else word += c;
  }
  if (word) words.push(word);
  return words;
}

/** `protocol::clean_name`. */
function cleanName(text) {
  const words = [];
  let word = "";
  for (const c of text) {
    if (isWs(cp(c)) || isControl(cp(c))) {
      words.push(word);
      word = "";
    } else word += c;
  }
  words.push(word);
  return words.map((w) => [...w].filter((c) => !isInvisible(cp(c))).join("")).filter(Boolean).join(" ");
}

/** `protocol::normalize_label`. */
function normalizeLabel(text) {
  const label = splitWhitespace(text).join(" ").toLowerCase();
  const ok = label !== "" && [...label].length <= 40 && ![...label].some((c) => c === "," || isControl(cp(c)));
  return ok ? label : null;
}

/** `protocol::fill_canned`. */
const fillCanned = (body, name, agent) =>
  body.replaceAll("{{name}}", name && rustTrim(name) ? name : "there").replaceAll("{{agent}}", agent);

/** The widget's composer (`Action::Compose`): trimmed, control characters but `\n`/`\t` dropped. */
const composed = (text) => [...rustTrim(text)].filter((c) => !isControl(cp(c)) || c === "\n" || c === "\t").join("");

/** The inbox preview (`store::sqlite::preview`). */
function preview(body) {
  const flat = [...splitWhitespace(body).join(" ")];
  return flat.length > 140 ? flat.slice(0, 140).join("") + "…" : flat.join("");
}

/** `identify_details`' `plain`: trimmed, control characters dropped, cut under `max` bytes. */
function plain(text, max) {
  let t = [...rustTrim(text)].filter((c) => !isControl(cp(c)));
  while (bytes(t.join("")) > max) t.pop();
  return t.join("");
}

/** `markdown::safe_href`. */
const safeHref = (href) => (href.startsWith("https://") || href.startsWith("http://")) && bytes(href) <= 2048
  && ![...href].some((c) => isWs(cp(c)) || isControl(cp(c)) || c === '"' || c === "<" || c === ">");

/** `markdown::parse`: the segments of a chat message, as the widget renders them. */
function segments(input) {
  const out = [];
  const merge = (text) => {
    if (!text) return;
    const last = out[out.length - 1];
    if (last && last.kind === "text") last.text += text;
    else out.push({ kind: "text", text });
  };
  const pushText = (text) => {
    let rest = text;
    let start;
    while ((start = rest.indexOf("http")) >= 0) {
      const candidate = rest.slice(start);
      const chars = [...candidate];
      let end = chars.findIndex((c) => isWs(cp(c)));
      let url = end < 0 ? candidate : chars.slice(0, end).join("");
      url = url.replace(/[.,)!?;:]+$/u, "");
      if (safeHref(url) && bytes(url) > "https://".length) {
        merge(rest.slice(0, start));
        out.push({ kind: "link", text: url, href: url });
        rest = rest.slice(start + url.length);
      } else {
        merge(rest.slice(0, start + 4));
        rest = rest.slice(start + 4);
      }
    }
    merge(rest);
  };
  let plainStart = 0;
  let i = 0;
  while (i < input.length) {
    const rest = input.slice(i);
    let found = null;
    if (rest.startsWith("**")) {
      const inner = rest.slice(2);
      const e = inner.indexOf("**");
      if (e > 0) found = [{ kind: "bold", text: inner.slice(0, e) }, e + 4];
    } else if (rest.startsWith("`")) {
      const inner = rest.slice(1);
      const e = inner.indexOf("`");
      if (e > 0) found = [{ kind: "code", text: inner.slice(0, e) }, e + 2];
    } else if (rest.startsWith("[")) {
      const mid = rest.indexOf("](");
      if (mid >= 0) {
        const c = rest.slice(mid + 2).indexOf(")");
        if (c >= 0) {
          const close = c + mid + 2;
          const text = rest.slice(1, mid);
          const href = rest.slice(mid + 2, close);
          if (text && !text.includes("[") && safeHref(href)) found = [{ kind: "link", text, href }, close + 1];
        }
      }
    }
    if (found) {
      pushText(input.slice(plainStart, i));
      out.push(found[0]);
      i += found[1];
      plainStart = i;
    } else {
      i += cp(input[i]) > 0xffff ? 2 : 1;
    }
  }
  pushText(input.slice(plainStart));
  return out;
}

/** What a chat bubble of the widget shows: its text and its links' targets. */
function widgetShows(body) {
  const segs = segments(body);
  return { text: segs.map((s) => s.text).join(""), links: segs.filter((s) => s.kind === "link").map((s) => s.href) };
}

/** The avatar's initials (`view_line`): first letters of the first two words, upper-cased. */
const initials = (name) => splitWhitespace(name).slice(0, 2).map((w) => [...w][0]).join("").toUpperCase();

// TOML and YAML double-quoted strings, everything but printable ASCII escaped.
function quoted(s) {
  return '"' + [...s].map((c) => {
    const code = cp(c);
    if (c === '"') return '\\"';
    if (c === "\\") return "\\\\";
    if (code >= 0x20 && code < 0x7f) return c;
    return code > 0xffff ? "\\U" + code.toString(16).padStart(8, "0") : "\\u" + code.toString(16).padStart(4, "0");
  }).join("") + '"';
}

// ---------------------------------------------------------------------------------------------
// Field plans: which payloads go where (every payload goes through messages both ways; the other
// fields take a share each).

const SHORT = PAYLOADS.filter((p) => p.text.length <= 200 && !p.text.includes("\n"));
const LABELS = PAYLOADS.filter((p) => p.text.length <= 40 && !p.text.includes("\n") && normalizeLabel(p.text));
const every = (list, n, offset = 0) => list.filter((_, i) => i % n === offset);

const SITE_NAME = pick("attr-double-quote");
const GREETING = `${pick("md-link-js")} ${pick("bidi-isolates")}`;

const CANNED = every(SHORT, 4, 1).slice(0, 14).map((p, i) => ({
  shortcut: `c${String(i).padStart(2, "0")}`,
  title: p.text,
  body: `${SHORT[(i * 5 + 3) % SHORT.length].text} {{name}} / {{agent}}`,
}));

// Knowledge base: each article's title, description and tags are payloads, its body some of the
// Markdown the build accepts, and a made-up word to find it by.
const KB_WORDS = ["zorblax", "quuxify", "flimbo", "wobnik", "grelpy", "snorvat", "plixum", "dravoth", "kwimble", "tazzle"];
const ARTICLES = KB_WORDS.map((word, i) => {
  const titleFrom = SHORT[(i * 7 + 2) % SHORT.length];
  const descFrom = SHORT.filter((p) => bytes(p.text) <= 90)[(i * 3 + 1) % SHORT.filter((p) => bytes(p.text) <= 90).length];
  const tags = LABELS.slice((i * 2) % LABELS.length, (i * 2) % LABELS.length + 2).map((p) => p.text);
  return {
    id: `art-${word}`,
    word,
    title: `${titleFrom.text} ${word}`,
    description: descFrom.text,
    tags,
    url: i === 0 ? `https://help.example/kb?q="><img src=x onerror=__xss('kb-url')>` : `https://help.example/${word}`,
    body: [`How to ${word} a payment, for the ${word} test.`,
      ...KB_BODY_ACCEPTED.filter((_, j) => j % KB_WORDS.length === i)].join("\n\n"),
  };
});

// Display names of agents made with `frontdesk agent add`, and with the console's admin form.
const NAMEABLE = SHORT.filter((p) => cleanName(p.text) && [...cleanName(p.text)].length <= 100);
const CLI_AGENTS = [...every(NAMEABLE, 9, 4).slice(0, 6), PAYLOADS.find((p) => p.name === "exactly-100")].map((p, i) => ({
  email: `agent${i}@xss.test`, password: `agent ${i}'s long password`, name: p.text,
}));
const FORM_AGENTS = [pick("bidi-rlo"), pick("template-literal"), pick("attr-single-quote")].map((name, i) => ({
  email: `form${i}@xss.test`, password: `form agent ${i}'s password`, name,
}));
const TEAMS = LABELS.slice(-4).map((p) => p.text);

let data, kb, configDir, server, browser, admin, v1, v1Id;

before(async () => {
  data = tempData();
  kb = mkdtempSync(join(tmpdir(), "frontdesk-kb-xss-"));
  mkdirSync(join(kb, "en"));
  for (const a of ARTICLES) {
    writeFileSync(join(kb, "en", `${a.id}.md`), [
      "---",
      `id: ${a.id}`,
      `title: ${quoted(a.title)}`,
      "lang: en",
      `description: ${quoted(a.description)}`,
      `tags: [${a.tags.map(quoted).join(", ")}]`,
      `url: ${quoted(a.url)}`,
      "---",
      a.body,
      "",
    ].join("\n"));
  }
  KB_REFUSED.forEach((r, i) => {
    writeFileSync(join(kb, "en", `refused-${r.name}.md`), [
      "---",
      `title: ${quoted(`Refused ${r.name} xkbrefused${i}`)}`,
      "lang: en",
      ...(r.url ? [`url: ${quoted(r.url)}`] : []),
      "---",
      `Refused article xkbrefused${i}.`,
      "",
      r.body,
      "",
    ].join("\n"));
  });

  configDir = mkdtempSync(join(tmpdir(), "frontdesk-config-xss-"));
  const config = join(configDir, "frontdesk.toml");
  writeFileSync(config, [
    "[limits]",
    "new_visitors_per_address = 0",
    "new_conversations_per_address = 0",
    "messages_per_visitor = 0",
    "frames_per_connection = 0",
    "sign_ins_per_address = 0",
    "",
    "[routing]",
    "capacity = 1000",
    "reassign_after_seconds = 3600",
    "",
    "[demo]",
    "enabled = true",
    "",
    "[sites.xss]",
    `name = ${quoted(SITE_NAME)}`,
    `greeting = { en = ${quoted(GREETING)} }`,
    "prechat_name = true",
    "prechat_email = true",
    `identity_secret = ${quoted(SECRET)}`,
    "",
    ...CANNED.flatMap((c) => ["[[canned]]", `shortcut = ${quoted(c.shortcut)}`, `title = ${quoted(c.title)}`,
      `body = ${quoted(c.body)}`, ""]),
  ].join("\n"));

  addAgent(data, ADMIN.email, ADMIN.password, ADMIN.name, { admin: true });
  CLI_AGENTS.forEach((a, i) => addAgent(data, a.email, a.password, a.name, { teams: i === 0 ? TEAMS : [] }));
  server = await startServer(data, "127.0.0.1:0", ["--config", config, "--kb", kb]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server) await stopServer(server);
  removeData(data);
  removeData(kb);
  removeData(configDir);
});

// ---------------------------------------------------------------------------------------------
// Instrumentation.

/** Runs first in every frame of every page of a context (iframes too). */
function instrumentFrame() {
  const report = (kind, detail) => {
    try { window.__fdReport(kind, String(detail).slice(0, 300)); } catch { /* the binding is always there */ }
  };
  const hook = (name, result) => function (...args) {
    report(name, args.map(String).join(" "));
    return result;
  };
  for (const [name, result] of [["alert"], ["confirm", false], ["prompt", null], ["print"], ["open", null], ["__xss"]]) {
    try {
      Object.defineProperty(window, name, { value: hook(name, result), writable: false, configurable: false });
    } catch { /* already defined */ }
  }
  addEventListener("securitypolicyviolation", (e) =>
    report("csp", `${e.violatedDirective} blocked=${e.blockedURI} sample=${e.sample}`), true);
  addEventListener("error", (e) => {
    const el = e.target;
    // A resource that failed to load: only sanitized article HTML may hold images (`src=x`).
    if (el && el !== window && el.localName && !el.closest?.(".fd-article-body")) {
      report("resource-error", `<${el.localName} src=${el.getAttribute("src")}>`);
    }
  }, true);
}

/** Records everything a script running where it should not would leave behind. */
async function instrument(context, label) {
  const events = [];
  await context.exposeBinding("__fdReport", ({ frame }, kind, detail) => {
    events.push(`${label} ${kind}: ${detail} (in ${frame.url()})`);
  });
  await context.addInitScript(instrumentFrame);
  const base = new URL(server.base);
  context.on("request", (r) => {
    const url = new URL(r.url());
    if (url.hostname !== base.hostname) events.push(`${label} request to another host: ${r.url()}`);
  });
  const watchPage = (page) => {
    page.on("pageerror", (e) => events.push(`${label} pageerror: ${e.message}`));
    page.on("dialog", (d) => {
      events.push(`${label} dialog ${d.type()}: ${d.message()}`);
      d.dismiss().catch(() => {});
    });
    page.on("console", (m) => {
      if (m.type() === "error" && !/Failed to load resource|WebSocket connection/.test(m.text())) {
        events.push(`${label} console error: ${m.text()}`);
      }
    });
  };
  const pages = [];
  context.on("page", (page) => {
    if (pages.length) events.push(`${label} pop-up: ${page.url()}`);
    pages.push(page);
    watchPage(page);
  });
  return events;
}

// Elements and attributes nothing a person types may produce.
const CONTAINERS = {
  widget: [
    [".fd-body", ["strong", "code", "a"]],
    [".fd-who", ["span"]],
    [".fd-sug-title, #fd-article-title, .fd-greet, .fd-head h1, .fd-typing, .fd-notice, .fd-meta", []],
    [".fd-sug-snippet", ["mark"]],
  ],
  console: [
    [".msg .body, .msg .who, .msg .meta, .conv-preview, .conv-assignee, .me, .teammate, .chip.team, .canned, "
      + ".attr-name, .attr-value, .verified, .context dd:not(.ctx-history), option, .error, .admin td:nth-child(-n+3)", []],
    [".conv-title", ["span"]],
    [".chip.label, .duplicates li, .ctx-history", ["button"]],
    [".profile h3", ["span"]],
    [".admin td:nth-child(n+4)", ["input", "button"]],
  ],
  host: [],
};

/** Runs in a frame: what should not be in its DOM. */
function scanDom({ base, containers }) {
  const problems = [];
  const roots = [document];
  for (const el of document.querySelectorAll("*")) if (el.shadowRoot) roots.push(el.shadowRoot);
  const active = /^(javascript|vbscript|data|file):/;
  const urlAttrs = new Set(["href", "src", "action", "formaction", "xlink:href", "data", "background", "poster",
    "srcset", "codebase", "cite", "ping", "lowsrc", "dynsrc", "content"]);
  const forbidden = new Set(["iframe", "frame", "frameset", "object", "embed", "applet", "base", "template", "noscript",
    "math", "img", "image", "video", "audio", "source", "track", "marquee", "details", "animate", "set",
    "animatetransform", "animatemotion", "foreignobject", "xmp", "plaintext", "listing", "isindex", "keygen",
    "portal", "use", "script", "style", "link", "meta", "title", "body", "head", "html", "svg"]);
  const describe = (el) => `<${el.localName}${[...el.attributes].map((a) => ` ${a.name}="${a.value.slice(0, 60)}"`).join("")}>`;
  for (const root of roots) {
    for (const el of root.querySelectorAll("*")) {
      const tag = el.localName.toLowerCase();
      let allowed = !forbidden.has(tag);
      if (tag === "script") {
        allowed = !!el.src && el.src.startsWith(base + "/") && !el.textContent.trim()
          && (el.parentNode === document.head || el.parentNode === document.body);
      } else if (["style", "link", "meta", "title"].includes(tag)) {
        allowed = el.parentNode === document.head;
      } else if (tag === "html" || tag === "head" || tag === "body") {
        allowed = el === document.documentElement || el === document.head || el === document.body;
      } else if (tag === "iframe") {
        allowed = root !== document && el.title === "Frontdesk chat" && el.src.startsWith(base + "/frame/widget?");
      } else if (tag === "svg" || el.namespaceURI === "http://www.w3.org/2000/svg") {
        allowed = !!el.closest("button.fd-mute") && (tag === "svg" || tag === "path");
      } else if (el.closest?.(".fd-article-body")) {
        // Sanitized article HTML: images and disclosure widgets are fine, minus handlers and URLs.
        allowed = allowed || tag === "img" || tag === "details";
      }
      if (!allowed) problems.push(`forbidden element ${describe(el)}`);
      for (const a of el.attributes) {
        const name = a.name.toLowerCase();
        const value = a.value.replace(/[\s\u0000-\u001f]+/g, "").toLowerCase();
        if (name.startsWith("on")) problems.push(`handler attribute ${describe(el)}`);
        // (An empty `style=""` is left behind on fields the browser resized; a value is not.)
        if ((name === "style" && a.value.trim()) || name === "srcdoc") problems.push(`${name} attribute ${describe(el)}`);
        if (urlAttrs.has(name) && active.test(value)) problems.push(`active URL ${describe(el)}`);
        if (name === "content" && /url=/.test(value)) problems.push(`refresh ${describe(el)}`);
      }
    }
  }
  for (const [selector, allow] of containers) {
    for (const box of document.querySelectorAll(selector)) {
      for (const child of box.querySelectorAll("*")) {
        if (child.parentElement !== box || !allow.includes(child.localName) || child.children.length) {
          problems.push(`${describe(child)} inside ${selector}`);
        }
      }
    }
  }
  return problems;
}

/** Scans every frame of a page; any frame that is neither the page nor the widget is a problem. */
async function scanPage(page, kind) {
  const problems = [];
  for (const frame of page.frames()) {
    const url = frame.url();
    const isWidget = url.startsWith(`${server.base}/frame/widget?`);
    if (!url.startsWith(server.base + "/") || (frame !== page.mainFrame() && !isWidget)) {
      problems.push(`unexpected frame ${url}`);
      continue;
    }
    const containers = isWidget ? CONTAINERS.widget : CONTAINERS[kind];
    const found = await frame.evaluate(scanDom, { base: server.base, containers });
    problems.push(...found.map((p) => `${kind} ${url}: ${p}`));
  }
  return problems;
}

/** Proves the oracle works in every frame of a party before it is trusted: each hook reports,
 * an inline handler is blocked by the CSP (and reported), a failed load is reported. */
async function canary(party) {
  const frames = party.page.frames();
  for (const frame of frames) {
    await frame.evaluate(() => {
      __xss("canary");
      alert("canary");
      confirm("canary");
      prompt("canary");
      print();
      open("about:blank");
      const box = document.createElement("div");
      box.id = "fd-canary";
      box.innerHTML = "<img src=canary-x onerror=__xss('canary-handler')>";
      document.body.append(box);
    });
  }
  const wanted = frames.flatMap((f) => ["__xss: canary", "alert: canary", "confirm: canary", "prompt: canary", "print: ",
    "open: about:blank", "csp: ", "resource-error: <img src=canary-x>"].map((w) => [w, f.url()]));
  const missing = () => wanted.filter(([w, url]) => !party.events.some((e) => e.includes(` ${w}`) && e.endsWith(`(in ${url})`)));
  for (let i = 0; i < 50 && missing().length; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(missing(), [], `the instrumentation reports from every frame: ${party.events.join("\n")}`);
  assert.ok(!party.events.some((e) => e.includes("canary-handler")), "the CSP blocks inline handlers");
  // The DOM scan sees it too, then it goes.
  assert.ok((await scanPage(party.page, party.kind)).some((p) => p.includes("canary-handler")), "the DOM scan sees handlers");
  for (const frame of frames) await frame.evaluate(() => document.getElementById("fd-canary").remove());
  await new Promise((r) => setTimeout(r, 300));
  party.events.length = 0;
}

/** After a batch: give handlers, timers and failed loads a moment, then nothing may have happened. */
async function assertClean(what, ...parties) {
  await new Promise((r) => setTimeout(r, 400));
  const events = parties.flatMap((p) => p.events);
  assert.deepEqual(events, [], `${what}: something ran or was blocked`);
  const problems = [];
  for (const p of parties) problems.push(...(await scanPage(p.page, p.kind)));
  assert.deepEqual(problems, [], `${what}: the rendered DOM holds something active`);
}

// ---------------------------------------------------------------------------------------------
// People.

/** A customer on a host page of the Frontdesk origin (so `top.__xss` is reachable from the
 * widget frame), under a strict CSP like the demo page's. */
async function visitor(site = "xss", label = "visitor") {
  const context = await browser.newContext({ locale: "en-US" });
  const events = await instrument(context, label);
  await context.route(`${server.base}/host/**`, (route) => route.fulfill({
    status: 200,
    contentType: "text/html; charset=utf-8",
    headers: {
      "content-security-policy": "default-src 'self'; script-src 'self'; frame-src 'self'; style-src 'self'; "
        + "img-src 'self' data:; base-uri 'none'; form-action 'none'",
    },
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host</title></head>`
      + `<body><h1>A customer's site</h1><script src="/widget.js" data-site="${site}" async></script></body></html>`,
  }));
  const page = await context.newPage();
  if (process.env.DEBUG_WS) page.on("websocket", (ws) => {
    ws.on("framesent", (f) => console.log(label, "SENT", String(f.payload).slice(0, 160)));
    ws.on("framereceived", (f) => console.log(label, "RECV", String(f.payload).slice(0, 160)));
    ws.on("close", () => console.log(label, "CLOSED"));
  });
  await page.goto(`${server.base}/host/${site}`);
  await page.locator("button.fd-launcher").click();
  const chat = page.frameLocator('iframe[title="Frontdesk chat"]');
  await chat.locator(".fd-conn.online").waitFor({ timeout: 15000 });
  const frame = () => page.frames().find((f) => f.url().includes("/frame/widget"));
  const party = { context, page, chat, frame, events, kind: "host" };
  await canary(party);
  return party;
}

async function signIn(who, label = "console") {
  const context = await browser.newContext();
  const events = await instrument(context, label);
  const page = await context.newPage();
  await page.goto(`${server.base}/console`);
  await page.locator('input[name="email"]').fill(who.email);
  await page.locator('input[name="password"]').fill(who.password);
  await page.locator('button[type="submit"]').click();
  await page.locator(".conn.online").waitFor({ timeout: 15000 });
  const party = { context, page, events, kind: "console" };
  await canary(party);
  return party;
}

/** The texts of every element matching `selector` in a frame or page. */
const texts = (where, selector) => where.evaluate((s) => [...document.querySelectorAll(s)].map((e) => e.textContent), selector);

/** The widget's bubbles of one author: text and link targets. */
const bubbles = (frame, author) => frame.evaluate((a) =>
  [...document.querySelectorAll(`.fd-msg[data-author="${a}"] .fd-body`)].map((b) => ({
    text: b.textContent,
    links: [...b.querySelectorAll("a")].map((l) => l.getAttribute("href")),
  })), author);

/** A definition in the console's context panel (`<dt>Name</dt><dd>…</dd>`). */
const contextValue = (page, term) => page.evaluate((t) => {
  const dt = [...document.querySelectorAll(".context dt")].find((d) => d.textContent === t);
  return dt ? dt.nextElementSibling.textContent : null;
}, term);

async function waitFor(page, fn, arg, what, timeout = 10000) {
  try {
    await page.waitForFunction(fn, arg, { timeout });
  } catch (e) {
    throw new Error(`timed out waiting for ${what}: ${e.message.split("\n")[0]}`);
  }
}

async function send(chat, text) {
  const box = chat.locator('textarea[name="message"]');
  await box.fill(text);
  await box.press("Enter");
}

async function reply(page, text) {
  const box = page.locator('textarea[name="reply"]');
  await box.fill(text);
  await box.press("Enter");
}

const conversationOf = (page, text) => page.locator("button.conv", { hasText: text }).first();

// ---------------------------------------------------------------------------------------------

test("the knowledge-base build refuses active URLs and unclosed raw-text elements, and serves none of them", async () => {
  const check = spawnSync(BIN, ["index", "check", "--source", kb], { encoding: "utf8" });
  assert.notEqual(check.status, 0, "index check fails");
  const lines = check.stderr.split("\n");
  for (const r of KB_REFUSED) {
    const line = lines.find((l) => l.includes(`refused-${r.name}.md:`));
    assert.ok(line, `refused-${r.name}.md is reported:\n${check.stderr}`);
    assert.match(line, /\.md:\d+: /, "with file and line");
    assert.match(line, r.error, `refused-${r.name}.md: ${line}`);
  }
  for (const a of ARTICLES) {
    assert.ok(!check.stderr.includes(`${a.id}.md`), `${a.id} is accepted:\n${check.stderr}`);
  }
  assert.match(check.stderr, new RegExp(`${KB_REFUSED.length} article\\(s\\) have errors \\(${ARTICLES.length} are fine\\)`));

  // The server skipped them: not in the article map, not in the index (the widget's search for
  // them finds nothing either, below); what it serves holds nothing active.
  const manifest = await (await fetch(`${server.base}/index/manifest.json`)).json();
  const map = await (await fetch(`${server.base}/index/${manifest.languages.en.articles}`)).json();
  assert.deepEqual(Object.keys(map).sort(), ARTICLES.map((a) => a.id).sort());
  const index = Buffer.from(await (await fetch(`${server.base}/index/${manifest.languages.en.index}`)).arrayBuffer());
  assert.ok(!index.includes("xkbrefused"), "no refused article in the search index");
  for (const a of ARTICLES) {
    const html = await (await fetch(`${server.base}/index/${map[a.id]}`)).text();
    // Text is escaped (`&lt;`), so every `<` left opens a real element.
    assert.ok(!/<(script|iframe|style|object|embed|base|meta|form|input|svg|math|link)\b/i.test(html), `${a.id}: ${html}`);
    assert.ok(!/<[^>]*\s(on\w+|style|srcdoc)\s*=/i.test(html), `${a.id}: ${html}`);
    assert.ok(!/<[^>]*\s(href|src|action|formaction|data)\s*=\s*["']?\s*(javascript|vbscript|data):/i.test(html), `${a.id}: ${html}`);
  }
});

test("every payload as a visitor message, an agent reply and a private note; names, labels, canned replies", async () => {
  admin = await signIn(ADMIN, "admin");
  v1 = await visitor("xss", "v1");
  const { chat } = v1;
  const frame = v1.frame();

  // The site's name and greeting, as configured.
  assert.equal(await chat.locator(".fd-head h1").textContent(), SITE_NAME);
  assert.equal(await chat.locator(".fd-greet").textContent(), GREETING);

  // The pre-chat form: a name and an email with payloads.
  await chat.locator("button.fd-start").click();
  const NAME = `${pick("img-onerror")} \u202Eevil\u200B ${pick("bidi-isolates")}`;
  const EMAIL = "x'/onmouseover='alert`1`'{{7*7}}${__xss`1`}@example.com";
  await chat.locator('.fd-contact input[name="name"]').fill(NAME);
  await chat.locator('.fd-contact input[name="email"]').fill(EMAIL);
  await chat.locator('.fd-contact button[type="submit"]').click();
  await chat.locator(".fd-contact").waitFor({ state: "detached" });

  // Every payload, from the customer.
  let first = true;
  for (const p of PAYLOADS) {
    await send(chat, p.text);
    if (first) {
      await conversationOf(admin.page, preview(composed(p.text)).slice(0, 20)).click();
      first = false;
    }
  }
  await waitFor(frame, (n) => document.querySelectorAll('.fd-msg[data-author="visitor"][data-state="sent"]').length === n,
    PAYLOADS.length, "the customer's messages to be sent");
  await waitFor(admin.page, (n) => document.querySelectorAll('.msg[data-author="visitor"]').length === n,
    PAYLOADS.length, "the customer's messages in the console");
  assert.deepEqual(await bubbles(frame, "visitor"), PAYLOADS.map((p) => widgetShows(composed(p.text))));
  assert.deepEqual(await texts(admin.page, '.msg[data-author="visitor"] .body'), PAYLOADS.map((p) => composed(p.text)));
  await waitFor(admin.page, (v) => document.querySelector("button.conv.selected .conv-preview").textContent === v,
    preview(composed(PAYLOADS.at(-1).text)), "the inbox preview");
  // The name as the hygiene rules show it (no bidi override, no zero-width space); the email as typed.
  await waitFor(admin.page, (n) => [...document.querySelectorAll(".context dt")].some((d) => d.textContent === "Name"), null, "the name");
  assert.equal(await contextValue(admin.page, "Name"), cleanName(NAME));
  assert.ok(!(await contextValue(admin.page, "Name")).includes("\u202E"));
  assert.equal(await contextValue(admin.page, "Email"), EMAIL);
  assert.equal(await admin.page.locator("button.conv.selected .conv-title").textContent(),
    `#${await admin.page.locator("button.conv.selected").getAttribute("data-id")} · ${cleanName(NAME)}`);
  await assertClean("customer messages", v1, admin);

  // Every payload, from the agent.
  for (const p of PAYLOADS) await reply(admin.page, p.text);
  await waitFor(frame, (n) => document.querySelectorAll('.fd-msg[data-author="agent"]').length === n,
    PAYLOADS.length, "the agent's replies in the widget");
  await waitFor(admin.page, (n) => document.querySelectorAll('.msg[data-author="agent"][data-state="sent"]').length === n,
    PAYLOADS.length, "the agent's replies to be sent");
  assert.deepEqual(await bubbles(frame, "agent"), PAYLOADS.map((p) => widgetShows(rustTrim(p.text))));
  assert.deepEqual(await texts(admin.page, '.msg[data-author="agent"] .body'), PAYLOADS.map((p) => rustTrim(p.text)));
  const adminName = cleanName(ADMIN.name);
  assert.deepEqual([...new Set(await texts(frame, '.fd-msg[data-author="agent"] .fd-who'))], [initials(adminName) + adminName]);
  assert.deepEqual([...new Set(await texts(admin.page, '.msg[data-author="agent"] .who'))], [adminName]);
  assert.equal(await admin.page.locator(".top .me").textContent(), adminName);
  await assertClean("agent replies", v1, admin);

  // Every payload as a private note: in the console, never in the widget.
  await admin.page.locator("button.mode-note").click();
  for (const p of PAYLOADS) await reply(admin.page, p.text);
  await waitFor(admin.page, (n) => document.querySelectorAll(".msg.note").length === n, PAYLOADS.length, "the notes");
  assert.deepEqual(await texts(admin.page, ".msg.note .body"), PAYLOADS.map((p) => rustTrim(p.text)));
  assert.deepEqual([...new Set(await texts(admin.page, ".msg.note .who"))], [`${adminName} · private note`]);
  await admin.page.locator("button.mode-reply").click();
  assert.equal(await frame.evaluate(() => document.querySelectorAll(".fd-msg").length), 2 * PAYLOADS.length, "no note in the widget");
  await assertClean("private notes", v1, admin);

  // Labels (as normalized: lowercase, spaces folded), up to 20 per conversation: the rest go on
  // a second customer's conversation.
  const v2 = await visitor("xss", "v2");
  await v2.chat.locator("button.fd-start").click();
  await send(v2.chat, "A second customer, for labels");
  await conversationOf(admin.page, "A second customer, for labels").waitFor();
  v1Id = await admin.page.locator("button.conv.selected").getAttribute("data-id");
  const v2Id = await conversationOf(admin.page, "A second customer, for labels").getAttribute("data-id");
  for (const [id, batch] of [[v1Id, LABELS.slice(0, 20)], [v2Id, LABELS.slice(20)]]) {
    await admin.page.locator(`button.conv[data-id="${id}"]`).click();
    const expected = [];
    for (const p of batch) {
      const input = admin.page.locator('input[name="label"]');
      await input.fill(p.text);
      await input.press("Enter");
      const label = normalizeLabel(p.text);
      if (!expected.includes(label)) expected.push(label);
      await waitFor(admin.page, (n) => document.querySelectorAll(".labels .chip.label").length === n, expected.length, `label ${p.name}`);
    }
    // The chip shows the label then its remove button's "×".
    assert.deepEqual((await texts(admin.page, ".labels .chip.label")).sort(), expected.map((l) => `${l}×`).sort());
    const onItem = await admin.page.locator(`button.conv[data-id="${id}"] .chip.label`).allTextContents();
    assert.deepEqual(onItem.sort(), [...expected].sort());
    const options = await admin.page.locator('select[name="label-filter"] option').allTextContents();
    for (const l of expected) assert.ok(options.includes(l), `filter option ${l}`);
  }
  // A label over 40 characters (the field's maxlength bypassed) is refused in the console:
  // nothing is sent, the text stays for editing.
  const tooLong = "<img src=x onerror=__xss('label-too-long')> padding";
  await admin.page.locator('input[name="label"]').evaluate((el, v) => { el.value = v; }, tooLong);
  await admin.page.locator('input[name="label"]').press("Enter");
  assert.equal(await admin.page.locator('input[name="label"]').inputValue(), tooLong);
  await admin.page.locator('input[name="label"]').fill("");
  await assertClean("labels", v1, v2, admin);
  await v2.context.close();

  // Canned replies from the config file: listed with their titles, filled in, sent.
  await admin.page.locator(`button.conv[data-id="${v1Id}"]`).click();
  const box = admin.page.locator('textarea[name="reply"]');
  await box.fill("/");
  await waitFor(admin.page, (n) => document.querySelectorAll(".canned-suggestions button.canned").length === n, CANNED.length, "canned list");
  assert.deepEqual(await texts(admin.page, ".canned-suggestions button.canned"), CANNED.map((c) => `/${c.shortcut} — ${c.title}`));
  await assertClean("canned list", admin);
  const before = (await bubbles(frame, "agent")).length;
  for (const c of CANNED) {
    await box.fill(`/${c.shortcut}`);
    await box.press("Enter");
    const filled = fillCanned(c.body, cleanName(NAME), adminName);
    await waitFor(admin.page, (v) => document.querySelector('textarea[name="reply"]').value === v, filled, `canned ${c.shortcut}`);
    await box.press("Enter");
  }
  await waitFor(frame, (n) => document.querySelectorAll('.fd-msg[data-author="agent"]').length === n,
    before + CANNED.length, "the canned replies in the widget");
  assert.deepEqual((await bubbles(frame, "agent")).slice(before),
    CANNED.map((c) => widgetShows(rustTrim(fillCanned(c.body, cleanName(NAME), adminName)))));

  // A knowledge-base link found by the server's search: `[title](url)`, sent as typed.
  for (const a of ARTICLES.slice(0, 3)) {
    await box.fill(`/kb ${a.word}`);
    await box.press("Enter");
    const link = `[${a.title}](${a.url})`;
    await waitFor(admin.page, (v) => document.querySelector('textarea[name="reply"]').value === v, link, `/kb ${a.word}`);
    const count = (await bubbles(frame, "agent")).length;
    await box.press("Enter");
    await waitFor(frame, (n) => document.querySelectorAll('.fd-msg[data-author="agent"]').length === n,
      count + 1, "the /kb link in the widget");
    assert.deepEqual((await bubbles(frame, "agent")).at(-1), widgetShows(link));
  }
  await assertClean("canned replies and /kb links", v1, admin);
  await screenshot(v1.page, "xss-widget");
  await screenshot(admin.page, "xss-console");
});

test("agents' display names (CLI and the console's admin form) and teams, in the console and the widget", async () => {
  const frame = v1.frame();

  // Names that show nothing, or too long ones, are refused by the CLI with a message.
  for (const name of ["\u202E\u200B\u2066\u2069", "x".repeat(101)]) {
    const r = spawnSync(BIN, ["agent", "add", "--data", data, "--email", "nobody@xss.test", "--password-stdin", "--name", name],
      { input: "a long password\n", encoding: "utf8" });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /the name must be 1 to 100 visible characters/);
  }

  // The admin adds agents from the console: names as the server cleans them, refusals shown.
  await admin.page.locator("button.admin-toggle").click();
  await admin.page.locator(".admin tr", { hasText: ADMIN.email }).waitFor();
  const addForm = async (a) => {
    await admin.page.locator('input[name="new-email"]').fill(a.email);
    await admin.page.locator('input[name="new-name"]').fill(a.name);
    await admin.page.locator('input[name="new-password"]').fill(a.password);
    await admin.page.locator(".add-agent button[type=submit]").click();
  };
  await addForm({ email: "invisible@xss.test", name: "\u202E\u200B\u2060", password: "a long password" });
  await admin.page.locator(".admin .error[role=alert]", { hasText: "visible characters" }).waitFor();
  for (const a of FORM_AGENTS) {
    await addForm(a);
    await admin.page.locator(".admin tr", { hasText: a.email }).waitFor();
    assert.equal(await admin.page.locator(".admin tr", { hasText: a.email }).locator("td").first().textContent(), cleanName(a.name));
  }
  for (const a of CLI_AGENTS) {
    assert.equal(await admin.page.locator(".admin tr", { hasText: a.email }).locator("td").first().textContent(), cleanName(a.name));
  }
  // Teams (from the CLI), shown normalized in the admin table.
  assert.equal(await admin.page.locator(".admin tr", { hasText: CLI_AGENTS[0].email }).locator('input[name="teams"]').inputValue(),
    TEAMS.map(normalizeLabel).join(", "));
  await assertClean("the admin table", admin);
  await admin.page.locator("button.admin-toggle").click();

  // Each agent signs in and answers the first customer, who sees the name on the reply.
  const agents = [...CLI_AGENTS, ...FORM_AGENTS];
  for (const [i, a] of agents.entries()) {
    const agent = await signIn(a, `agent${i}`);
    await agent.page.locator(`button.conv[data-id="${v1Id}"]`).click();
    await agent.page.locator('.msg[data-author="visitor"]').first().waitFor();
    const text = SHORT[(i * 11 + 6) % SHORT.length].text;
    const count = (await bubbles(frame, "agent")).length;
    await reply(agent.page, text);
    await waitFor(frame, (n) => document.querySelectorAll('.fd-msg[data-author="agent"]').length === n, count + 1, `${a.email}'s reply`);
    const name = cleanName(a.name);
    const last = await frame.evaluate(() => {
      const who = [...document.querySelectorAll('.fd-msg[data-author="agent"] .fd-who')].at(-1);
      return { who: who.textContent, avatar: who.querySelector(".fd-avatar").textContent };
    });
    assert.deepEqual(last, { who: initials(name) + name, avatar: initials(name) }, a.email);
    assert.deepEqual((await bubbles(frame, "agent")).at(-1), widgetShows(rustTrim(text)));
    assert.equal(await agent.page.locator(".top .me").textContent(), name);
    // The admin sees the name on the message, in the team list and in the assignee picker.
    await waitFor(admin.page, (n) => [...document.querySelectorAll('.msg[data-author="agent"] .who')].at(-1)?.textContent === n,
      name, `${a.email}'s name on the reply in the console`);
    await waitFor(admin.page, (n) => [...document.querySelectorAll(".team .teammate")].some((t) => t.textContent.startsWith(n + " · online")),
      name, `${a.email} in the team list`);
    const options = await admin.page.locator('select[name="assignee"] option').allTextContents();
    assert.ok(options.includes(name), `${name} in the assignee picker: ${options}`);
    await assertClean(`${a.email}'s name`, v1, admin, agent);
    await agent.context.close();
  }

  // Teams: the team picker lists them normalized, a transfer shows the chip.
  const teamOptions = await admin.page.locator('select[name="team"] option').allTextContents();
  for (const t of TEAMS) assert.ok(teamOptions.includes(normalizeLabel(t)), `team ${t}: ${teamOptions}`);
  await admin.page.locator('select[name="team"]').selectOption(normalizeLabel(TEAMS[0]));
  await admin.page.locator(`button.conv[data-id="${v1Id}"] .chip.team`).waitFor();
  assert.equal(await admin.page.locator(`button.conv[data-id="${v1Id}"] .chip.team`).textContent(), normalizeLabel(TEAMS[0]));
  await admin.page.locator('select[name="team"]').selectOption("");
  await assertClean("teams", v1, admin);
});

test("identify from the host page: names, emails, verified user ids and custom attributes", async () => {
  const v3 = await visitor("xss", "v3");
  await v3.chat.locator("button.fd-start").click();
  await send(v3.chat, "The identified customer is here");
  await conversationOf(admin.page, "The identified customer is here").click();
  const id = await admin.page.locator("button.conv.selected").getAttribute("data-id");
  const identify = (details) => v3.page.evaluate((d) => window.Frontdesk("identify", d), details);
  const title = () => admin.page.locator(`button.conv[data-id="${id}"] .conv-title`).textContent();

  // Names: cleaned by the widget (trimmed, control characters dropped, cut under 200 bytes),
  // then by the server's hygiene rules.
  const names = [...every(SHORT, 5, 3).map((p) => p.text), pick("exactly-200"), `${"é".repeat(150)} <b>long</b>`];
  for (const name of names) {
    const shown = cleanName(plain(name, 200));
    await identify({ name });
    await waitFor(admin.page, ([sel, v]) => document.querySelector(sel)?.textContent.endsWith(` · ${v}`),
      [`button.conv[data-id="${id}"] .conv-title`, shown], `identify name ${JSON.stringify(name)}`);
    assert.equal(await title(), `#${id} · ${shown}`);
    assert.equal(await contextValue(admin.page, "Name"), shown);
  }
  // A name that shows nothing is not taken.
  await identify({ name: "\u202E\u200B\u2066" });
  await identify({ email: "still@example.com" });
  await waitFor(admin.page, () => [...document.querySelectorAll(".context dd")].some((d) => d.textContent === "still@example.com"), null, "email");
  assert.equal(await title(), `#${id} · ${cleanName(plain(names.at(-1), 200))}`);

  // Emails: valid addresses full of markup characters are kept as typed; invalid ones dropped.
  for (const email of ["{{constructor}}'onfocus='alert`1`'@example.com", "${__xss`email`}@пример.рф"]) {
    await identify({ email, name: "Rita" });
    await waitFor(admin.page, (v) => [...document.querySelectorAll(".context dd")].some((d) => d.textContent === v), email, email);
  }
  await identify({ email: "\"><svg/onload=__xss('bad-email')>@example.com" });

  // Custom attributes, flat and nested: every short payload as a value, under valid names (the
  // same names each time: a contact keeps a bounded number of them, later values replace).
  const values = SHORT.map((p) => p.text);
  for (let start = 0; start < values.length; start += 20) {
    const batch = values.slice(start, start + 20);
    const attributes = Object.fromEntries(batch.map((v, i) => [`attr${String(i).padStart(2, "0")}`, v]));
    const half = Object.keys(attributes).slice(10);
    const flat = Object.fromEntries(Object.entries(attributes).filter(([k]) => !half.includes(k)));
    const nested = Object.fromEntries(Object.entries(attributes).filter(([k]) => half.includes(k)));
    await identify({ ...flat, attributes: nested, "<img src=x onerror=__xss('key')>": "an invalid name is dropped" });
    // The profile is read when the conversation is selected: leave and come back.
    await admin.page.locator("button.conv:not(.selected)").first().click();
    await admin.page.locator(`button.conv[data-id="${id}"]`).click();
    await waitFor(admin.page, ([k, v]) => [...document.querySelectorAll(".profile .attr-name")]
      .some((e) => e.textContent === k && e.nextElementSibling.textContent === v),
    [Object.keys(attributes).at(-1), plain(batch.at(-1), 200)], `attributes from ${start}`);
    const shown = await admin.page.evaluate(() => Object.fromEntries([...document.querySelectorAll(".profile .attr-name")]
      .map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
    for (const [k, v] of Object.entries(attributes)) assert.equal(shown[k], plain(v, 200), `attribute ${k}`);
    assert.ok(!Object.keys(shown).some((k) => k.includes("<")), "invalid attribute names are dropped");
    await assertClean(`attributes from ${start}`, v3, admin);
  }

  // Verified user ids: signed by the site, shown as the contact's identity.
  for (const userId of every(SHORT, 13, 7).slice(0, 4).map((p) => p.text)) {
    const expected = plain(userId, 128);
    const hash = createHmac("sha256", SECRET).update(expected).digest("hex");
    await identify({ user_id: userId, user_hash: hash });
    await admin.page.locator("button.conv:not(.selected)").first().click();
    await admin.page.locator(`button.conv[data-id="${id}"]`).click();
    await waitFor(admin.page, (v) => document.querySelector(".profile .verified")?.textContent === v,
      `✓ verified · ${expected}`, `verified id ${JSON.stringify(userId)}`);
  }
  await assertClean("identify", v3, admin);
  await v3.context.close();
});

test("knowledge base: payload titles, descriptions, tags and bodies in the widget; the handoff context in the console", async () => {
  const h = await visitor("xss", "kb");
  const { chat } = h;
  const frame = h.frame();
  const q = chat.locator('input[name="q"]');

  // Refused articles are not found.
  for (let i = 0; i < KB_REFUSED.length; i += 4) {
    await q.fill(`xkbrefused${i}`);
    await chat.locator(".fd-muted", { hasText: "No article matches" }).waitFor();
    assert.equal(await chat.locator(".fd-sug").count(), 0);
  }

  const QUERIES = [pick("svg-onload"), pick("attr-autofocus"), pick("bidi-rlo"), pick("mustache"), pick("md-code-span")];
  const COMMENTS = [pick("iframe-srcdoc"), pick("style-url"), pick("zero-width"), pick("a-entities"), pick("emoji-combining")];
  let contactGiven = false;
  for (const [round, query] of QUERIES.entries()) {
    const read = ARTICLES.slice(round * 2, round * 2 + 2);
    for (const a of read) {
      await q.fill(a.word);
      await waitFor(frame, (t) => [...document.querySelectorAll(".fd-sug-title")].some((e) => e.textContent === t), a.title, `suggestion ${a.word}`);
      const sug = await frame.evaluate((t) => {
        const li = [...document.querySelectorAll(".fd-sug")].find((e) => e.querySelector(".fd-sug-title").textContent === t);
        return { snippet: li.querySelector(".fd-sug-snippet").textContent, index: [...li.parentNode.children].indexOf(li) };
      }, a.title);
      assert.equal(sug.snippet, a.description, `${a.id}'s snippet is its description`);
      await chat.locator(".fd-sug").nth(sug.index).click();
      await chat.locator(`.fd-article-body[data-id="${a.id}"]`).waitFor();
      await waitFor(frame, () => document.querySelector(".fd-article-body").textContent.includes("test."), null, `${a.id}'s body`);
      assert.equal(await chat.locator("#fd-article-title").textContent(), a.title);
      assert.match(await chat.locator(".fd-article-body").textContent(), new RegExp(`How to ${a.word} a payment`));
      await assertClean(`article ${a.id}`, h);
      await chat.locator("button.fd-back").click();
    }
    await q.fill(query);
    await chat.locator("button.fd-start").click();
    if (!contactGiven) {
      await chat.locator('.fd-contact input[name="name"]').fill(pick("md-link-text-html"));
      await chat.locator('.fd-contact input[name="email"]').fill("{{7*7}}@example.com");
      await chat.locator('.fd-contact button[type="submit"]').click();
      await chat.locator(".fd-contact").waitFor({ state: "detached" });
      contactGiven = true;
    }
    const message = `Handoff ${round}: ${SHORT[round * 3].text}`;
    await send(chat, message);
    await conversationOf(admin.page, `Handoff ${round}:`).click();
    await waitFor(admin.page, () => !!document.querySelector(".ctx-query"), null, "the handoff context");
    assert.equal(await admin.page.locator(".ctx-query").textContent(), rustTrim(query.replace(/[\r\n]/g, "")));
    assert.equal(await admin.page.locator(".ctx-opened").textContent(), read.map((a) => a.title).join("; "));
    const shown = await admin.page.locator(".ctx-shown").textContent();
    for (const a of read) assert.ok(shown.includes(a.title), `${a.title} among the suggested: ${shown}`);
    assert.deepEqual(await texts(admin.page, '.msg[data-author="visitor"] .body'), [message]);
    // The articles' tags become the conversation's labels.
    const labels = (await texts(admin.page, ".labels .chip.label")).map((l) => l.replace(/×$/, ""));
    for (const t of read.flatMap((a) => a.tags)) assert.ok(labels.includes(normalizeLabel(t)), `tag ${t} as a label: ${labels}`);
    if (round === 0) {
      assert.equal(await contextValue(admin.page, "Name"), cleanName(pick("md-link-text-html")));
      assert.equal(await contextValue(admin.page, "Email"), "{{7*7}}@example.com");
    }
    // The customer ends the chat and rates it with a comment.
    await chat.locator("button.fd-end").click();
    await chat.locator('button.fd-star[aria-label="4 / 5"]').click();
    await chat.locator('textarea[name="comment"]').fill(COMMENTS[round]);
    await chat.locator('.fd-rate button[type="submit"]').click();
    await chat.locator(".fd-rate .fd-glad").waitFor();
    await waitFor(admin.page, (v) => document.querySelector(".ctx-rating")?.textContent === v,
      `4/5 ${rustTrim(COMMENTS[round])}`, `rating ${round}`);
    await assertClean(`handoff ${round}`, h, admin);
    await chat.locator(".fd-rate button.fd-primary").click();
    await q.waitFor();
  }

  // A long question in a script of three-byte characters: the search box stops at 200 UTF-16
  // units (600 bytes here); the handoff carries what fits the protocol's 512 bytes, and the
  // first message is accepted (it used to be refused: "context.query is 600 bytes").
  await q.fill("退款".repeat(130));
  assert.equal((await q.inputValue()).length, 200);
  await chat.locator("button.fd-start").click();
  await send(chat, "Handoff CJK: 我想退款");
  await chat.locator('.fd-msg[data-state="sent"]', { hasText: "Handoff CJK" }).waitFor({ timeout: 10000 });
  await conversationOf(admin.page, "Handoff CJK:").click();
  await waitFor(admin.page, (v) => document.querySelector(".ctx-query")?.textContent === v, "退款".repeat(85), "the CJK query");
  assert.equal(await chat.locator(".fd-notice").count(), 0, "no error");
  await assertClean("a long CJK query", h, admin);
  await h.context.close();
});

test("the pre-chat form: names and emails as the hygiene rules show them, refusals", async () => {
  // Names (cleaned: no bidi overrides, no invisible characters, spaces folded) and emails
  // (valid addresses full of markup characters, kept as typed).
  const FORM = [
    [pick("bidi-embeddings"), "'onmouseover='__xss`form1`'@example.com"],
    [pick("a-tab-split"), "{{$on.constructor}}@example.com"],
    [pick("zero-width"), "a+b/c=d?e^f`__xss`1``~@example.org"],
    [pick("emoji-combining"), "emoji@example.com"],
  ];
  for (const [i, [name, email]] of FORM.entries()) {
    const v = await visitor("xss", `form${i}`);
    await v.chat.locator("button.fd-start").click();
    const emailBox = v.chat.locator('.fd-contact input[name="email"]');
    if (i === 0) {
      // An invalid address is refused by the field itself: nothing is sent, the form stays.
      await emailBox.fill("\"><svg/onload=__xss('bad-email')>@example.com");
      await v.chat.locator('.fd-contact button[type="submit"]').click();
      assert.equal(await emailBox.evaluate((e) => e.validity.valid), false);
      assert.equal(await v.chat.locator(".fd-contact").count(), 1);
    }
    await v.chat.locator('.fd-contact input[name="name"]').fill(name);
    await emailBox.fill(email);
    await v.chat.locator('.fd-contact button[type="submit"]').click();
    await v.chat.locator(".fd-contact").waitFor({ state: "detached" });
    await send(v.chat, `Pre-chat form ${i}`);
    await conversationOf(admin.page, `Pre-chat form ${i}`).click();
    await waitFor(admin.page, (e) => [...document.querySelectorAll(".context dd")].some((d) => d.textContent === e), email, `email ${i}`);
    assert.equal(await contextValue(admin.page, "Name"), cleanName(name));
    assert.equal(await contextValue(admin.page, "Email"), email);
    assert.ok(!/[\u202A-\u202E\u2066-\u2069\u200B-\u200F]/.test(await contextValue(admin.page, "Name")));
    await assertClean(`pre-chat form ${i}`, v, admin);
    await v.context.close();
  }

  // A name past the protocol's 200 bytes (150 two-byte letters fit the field's 200-unit
  // maxlength) is refused by the server: the widget says so and keeps the form.
  const v4 = await visitor("xss", "v4");
  await v4.chat.locator("button.fd-start").click();
  await v4.chat.locator('.fd-contact input[name="name"]').fill("é".repeat(150));
  await v4.chat.locator('.fd-contact input[name="email"]').fill("long-name@example.com");
  await v4.chat.locator('.fd-contact button[type="submit"]').click();
  await v4.chat.locator('.fd-notice[role="alert"]').waitFor();
  assert.equal(await v4.chat.locator(".fd-contact").count(), 1, "the form stays");
  await v4.chat.locator('.fd-contact input[name="name"]').fill(pick("exactly-200"));
  await v4.chat.locator('.fd-contact button[type="submit"]').click();
  await v4.chat.locator(".fd-contact").waitFor({ state: "detached" });
  await send(v4.chat, "After a refused name");
  await conversationOf(admin.page, "After a refused name").click();
  await waitFor(admin.page, (v) => [...document.querySelectorAll(".context dd")].some((d) => d.textContent === v),
    cleanName(pick("exactly-200")), "the name given again");
  // A name that shows nothing (only bidi and zero-width characters) is not taken.
  const v5 = await visitor("xss", "v5");
  await v5.chat.locator("button.fd-start").click();
  await v5.chat.locator('.fd-contact input[name="name"]').fill("\u202E\u200B\u2066\u2069");
  await v5.chat.locator('.fd-contact input[name="email"]').fill("invisible-name@example.com");
  await v5.chat.locator('.fd-contact button[type="submit"]').click();
  await v5.chat.locator(".fd-contact").waitFor({ state: "detached" });
  await send(v5.chat, "My name was invisible");
  await conversationOf(admin.page, "My name was invisible").click();
  await waitFor(admin.page, () => [...document.querySelectorAll(".context dd")].some((d) => d.textContent === "invisible-name@example.com"),
    null, "the email without a name");
  assert.equal(await contextValue(admin.page, "Name"), null, "no name shown");
  await assertClean("refused names", v4, v5, admin);
  await v4.context.close();
  await v5.context.close();
});

test("over-long strings: accepted up to the limits, refused cleanly past them", async () => {
  await admin.page.locator(`button.conv[data-id="${v1Id}"]`).click();
  const { chat } = v1;
  const box = chat.locator('textarea[name="message"]');

  // The composers stop at the limit (4,000 UTF-16 units: never past MAX_BODY_CHARS characters).
  await box.fill("<svg onload=__xss('over')>".repeat(200));
  assert.equal((await box.inputValue()).length, MAX_BODY_CHARS);
  await box.fill("");

  // Past the limit (the field's maxlength bypassed): the server refuses, the widget says so and
  // keeps working.
  const unit = "<img src=x onerror=__xss('too-long')>";
  const tooLong = unit.repeat(Math.floor(MAX_BODY_CHARS / unit.length)).padEnd(MAX_BODY_CHARS + 1, "y");
  await box.evaluate((el, v) => { el.value = v; }, tooLong);
  await chat.locator('.fd-compose button[type="submit"]').click();
  await chat.locator('.fd-notice[role="alert"]').waitFor();
  assert.equal(await chat.locator('.fd-msg[data-state="pending"]').count(), 1, "the refused message is not shown as sent");
  await send(chat, "Still working after a refusal");
  await chat.locator('.fd-msg[data-state="sent"]', { hasText: "Still working after a refusal" }).waitFor();
  await assertClean("over-long message from the widget", v1);

  // The console: its composer stops at the limit; past it, the server refuses and the console says so.
  const reply = admin.page.locator('textarea[name="reply"]');
  await reply.fill("x".repeat(MAX_BODY_CHARS + 10));
  assert.equal((await reply.inputValue()).length, MAX_BODY_CHARS);
  await reply.evaluate((el, v) => {
    el.value = v;
    el.dispatchEvent(new InputEvent("input", { bubbles: true }));
  }, tooLong);
  await reply.press("Enter");
  const refusal = admin.page.locator('.thread-extras [role="alert"]');
  await refusal.waitFor({ timeout: 5000 });
  assert.match(await refusal.textContent(), /4001 characters; the limit is 4000/);
  // A control character (pasted) is refused the same way; the next reply goes through.
  await reply.fill("bell \u0007 <img src=x onerror=__xss('bell')>");
  await reply.press("Enter");
  await admin.page.locator('.thread-extras [role="alert"]', { hasText: "control character U+0007" }).waitFor({ timeout: 5000 });
  await reply.fill("Still answering after a refusal");
  await reply.press("Enter");
  await chat.locator('.fd-msg[data-author="agent"]', { hasText: "Still answering after a refusal" }).waitFor();
  await refusal.waitFor({ state: "detached" });
  await assertClean("over-long reply", v1, admin);

});
