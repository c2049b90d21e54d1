// A big knowledge base in the widget: the index arrives chunk by chunk. Typing a word shows the
// right suggestion after the widget fetched the entry and only some chunks (the term chunks of
// the words typed, the document chunks of the results shown), never the whole index file.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  launchBrowser, removeData, screenshot, startServer, stopServer, tempData, watchErrors,
} from "./harness.mjs";

const ARTICLES = 3000;
const WORDS = [
  "password", "invoice", "billing", "account", "login", "email", "refund", "export", "team",
  "member", "invite", "archive", "widget", "mobile", "backup", "webhook", "report", "upload",
  "calendar", "domain", "payout", "receipt", "coupon", "shipping", "language", "timezone",
];
const TARGET = "How do I moor the zeppelin at the harbour?";
let data, kb, server, browser;

before(async () => {
  data = tempData();
  kb = mkdtempSync(join(tmpdir(), "frontdesk-kb-big-"));
  mkdirSync(join(kb, "en"));
  for (let i = 0; i < ARTICLES; i++) {
    const w = (k) => WORDS[(i * 7 + k * 5 + Math.floor(i / 3)) % WORDS.length];
    writeFileSync(join(kb, `en/a${i}.md`),
      `---\ntitle: How do I ${w(0)} my ${w(1)} ${i}?\nlang: en\n---\n` +
      `${w(2)} and ${w(3)} with ${w(4)} in ${w(5)}${i}. The ${w(6)} settings keep every ${w(7)}.\n`);
  }
  writeFileSync(join(kb, "en/zeppelin.md"),
    `---\ntitle: ${TARGET}\nlang: en\n---\nTie the zeppelin to the mooring mast before the wind rises.\n`);
  server = await startServer(data, "127.0.0.1:0", ["--kb", kb]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server) await stopServer(server);
  removeData(data);
  removeData(kb);
});

/** Reads an entry file's chunk tables (the layout of `search_index::Entry`): term and document chunk counts. */
function entryChunks(bytes) {
  let at = 0;
  const u8 = () => bytes[at++];
  const varint = () => {
    let v = 0, shift = 0, b;
    do { b = u8(); v += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
    return v;
  };
  assert.equal(Buffer.from(bytes.subarray(0, 4)).toString(), "FDSX");
  const kind = bytes[6] | (bytes[7] << 8);
  assert.equal(kind, 1, "the manifest names an entry (kind 1), not a bundle");
  at = 9 + bytes[8]; // the language tag after its length byte
  at += 4 + 5 * 4; // n_docs, average field lengths
  const codes = varint();
  for (let i = 0; i < codes * 5; i++) varint();
  const weights = varint();
  for (let i = 0; i < weights * 2; i++) varint();
  const terms = varint();
  for (let i = 0; i < terms; i++) {
    const first = varint(); // the chunk's first key, then its content hash
    at += first + 8;
  }
  const docs = varint();
  return { terms, docs };
}

test("a big knowledge base: the entry and only the chunks the typed word and its results need", async (t) => {
  const manifest = await (await fetch(`${server.base}/index/manifest.json`)).json();
  const en = manifest.languages.en;
  assert.equal(en.documents, ARTICLES + 1);
  assert.match(en.chunked, /\.entry\.fdx$/, "a knowledge base this big is an entry and chunks");
  const entry = new Uint8Array(await (await fetch(`${server.base}/index/${en.chunked}`)).arrayBuffer());
  const total = entryChunks(entry);
  assert.ok(total.terms > 10, `${total.terms} term chunks`);
  assert.ok(total.docs > 3, `${total.docs} document chunks`);

  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  const errors = watchErrors(page);
  const fetched = [];
  page.on("request", (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith("/index/")) fetched.push(path.slice("/index/".length));
  });
  await page.goto(`${server.base}/demo`);
  await page.locator("button.fd-launcher").click();
  const chat = page.frameLocator('iframe[title="Frontdesk chat"]');
  const box = chat.locator('input[name="q"]');
  await box.waitFor({ timeout: 15000 });
  for (const ch of "zeppelin") await box.press(ch);
  await chat.locator(".fd-sug-title").first().waitFor();
  assert.equal(await chat.locator(".fd-sug-title").first().innerText(), TARGET);
  await chat.locator(".fd-sug mark", { hasText: "zeppelin" }).first().waitFor(); // snippet highlight
  await screenshot(page, "suggestions-chunked");

  const chunks = fetched.filter((f) => f.endsWith(".fdc"));
  const termChunks = new Set(chunks.filter((f) => f.startsWith("en-t")));
  const docChunks = new Set(chunks.filter((f) => f.startsWith("en-d")));
  assert.ok(fetched.includes(en.chunked), fetched.join(" "));
  assert.ok(!fetched.includes(en.index), `the whole index was fetched: ${fetched.join(" ")}`);
  assert.equal(chunks.length, termChunks.size + docChunks.size, `each chunk once: ${chunks.join(" ")}`);
  assert.ok(termChunks.size >= 1 && termChunks.size < total.terms / 2,
    `${termChunks.size} of ${total.terms} term chunks: ${[...termChunks].join(" ")}`);
  assert.ok(docChunks.size >= 1 && docChunks.size < total.docs,
    `${docChunks.size} of ${total.docs} document chunks: ${[...docChunks].join(" ")}`);
  t.diagnostic(`fetched ${termChunks.size} of ${total.terms} term chunks and ${docChunks.size} of ${total.docs} document chunks`);
  assert.deepEqual(errors, []);
  await context.close();
});
