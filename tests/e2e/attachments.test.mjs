// Attachments both ways: a screenshot (PNG), a PDF and a pasted image go from the widget to the
// console and back, shown as previews and download chips; an uploaded .html and .svg, opened at
// their URL, run no script; an over-size file and an unsupported one get a localized message
// and nothing is sent.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import {
  addAgent, launchBrowser, removeData, screenshot, startServer, stopServer, tempData, waitFor, watchErrors,
} from "./harness.mjs";

const AGENT = { email: "ana@brightbill.test", password: "correct horse battery", name: "Ana Souza" };
const PDF = Buffer.from("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n");

let data, server, browser;

before(async () => {
  data = tempData();
  addAgent(data, AGENT.email, AGENT.password, AGENT.name);
  // 1 MB, so the over-size file stays small.
  process.env.FRONTDESK_LIMITS_ATTACHMENT_MAX_MB = "1";
  server = await startServer(data);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server) await stopServer(server);
  removeData(data);
});

async function openWidget(page) {
  await page.goto(`${server.base}/demo`);
  await page.locator("button.fd-launcher").click();
  const chat = page.frameLocator('iframe[title="Frontdesk chat"]');
  await chat.locator(".fd-conn.online").waitFor({ timeout: 15000 });
  const start = chat.locator("button.fd-start");
  if (await start.isVisible()) await start.click();
  await chat.locator('textarea[name="message"]').waitFor();
  return chat;
}

async function signIn(page) {
  await page.goto(`${server.base}/console`);
  await page.locator('input[name="email"]').fill(AGENT.email);
  await page.locator('input[name="password"]').fill(AGENT.password);
  await page.locator('button[type="submit"]').click();
  await page.locator(".conn.online").waitFor({ timeout: 15000 });
}

/** Pastes a PNG into `textarea` as a screenshot copied to the clipboard would arrive. */
async function pasteImage(textarea, png, name) {
  await textarea.evaluate((el, [b64, name]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], name, { type: "image/png" }));
    el.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
  }, [png.toString("base64"), name]);
}

/** Drops a file on `target` as a file dragged from the desktop would arrive. */
async function dropFile(target, bytes, name, type) {
  await target.evaluate((el, [b64, name, type]) => {
    const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([data], name, { type }));
    el.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, [bytes.toString("base64"), name, type]);
}

/** Every image under `locator` has loaded (decoded pixels, not a broken icon). */
async function imagesLoaded(locator, count) {
  await waitFor(`${count} images loaded`, async () => {
    const widths = await locator.evaluateAll((imgs) => imgs.map((i) => i.complete ? i.naturalWidth : 0));
    return widths.length === count && widths.every((w) => w > 0);
  }, 15000);
}

test("a screenshot, a PDF and a pasted image go both ways and show in the console and the widget", async () => {
  const customerContext = await browser.newContext();
  const customer = await customerContext.newPage();
  const customerErrors = watchErrors(customer);
  const chat = await openWidget(customer);
  const shot = await customer.screenshot({ type: "png" });

  // The customer picks a screenshot and a PDF, then pastes an image.
  await chat.locator('.fd-attach input[type="file"]').setInputFiles([
    { name: "screenshot.png", mimeType: "image/png", buffer: shot },
    { name: "fatura.pdf", mimeType: "application/pdf", buffer: PDF },
  ]);
  await chat.locator('.fd-msg[data-author="visitor"][data-state="sent"] button.fd-file', { hasText: "fatura.pdf" }).waitFor();
  await pasteImage(chat.locator('textarea[name="message"]'), shot, "pasted.png");
  await imagesLoaded(chat.locator('.fd-msg[data-author="visitor"][data-state="sent"] img.fd-thumb'), 2);
  // A file dragged onto the composer goes too.
  await dropFile(chat.locator("form.fd-compose"), PDF, "dropped.pdf", "application/pdf");
  await chat.locator('.fd-msg[data-author="visitor"][data-state="sent"] button.fd-file', { hasText: "dropped.pdf" }).waitFor();

  // The agent sees both images and the PDF.
  const agentContext = await browser.newContext();
  const agent = await agentContext.newPage();
  const agentErrors = watchErrors(agent);
  await signIn(agent);
  // The inbox previews a message without words by its files' names.
  await agent.locator("button.conv", { hasText: "📎 dropped.pdf" }).click();
  await imagesLoaded(agent.locator('.msg[data-author="visitor"] .file-image img'), 2);
  const chip = agent.locator('.msg[data-author="visitor"] a.file-chip', { hasText: "fatura.pdf" });
  const pdfUrl = await chip.getAttribute("href");
  const served = await agent.evaluate(async (url) => {
    const r = await fetch(url);
    return { type: r.headers.get("content-type"), body: await r.text() };
  }, pdfUrl);
  assert.equal(served.type, "application/pdf");
  assert.equal(served.body, PDF.toString());

  // The agent answers with a screenshot and a PDF picked, plus a pasted image.
  const agentShot = await agent.screenshot({ type: "png" });
  await agent.locator('.attach-button input[type="file"]').setInputFiles([
    { name: "console.png", mimeType: "image/png", buffer: agentShot },
    { name: "guide.pdf", mimeType: "application/pdf", buffer: PDF },
  ]);
  await pasteImage(agent.locator('textarea[name="reply"]'), agentShot, "clip.png");
  await dropFile(agent.locator("form.reply"), PDF, "notes.pdf", "application/pdf");
  await waitFor("four files staged", async () => (await agent.locator('.staged[data-state="ready"]').count()) === 4);
  await agent.locator('textarea[name="reply"]').fill("Here you go");
  await agent.locator('textarea[name="reply"]').press("Enter");
  await imagesLoaded(agent.locator('.msg[data-author="agent"][data-state="sent"] .file-image img'), 2);

  // The customer gets them live: two previews and a download chip that downloads the PDF.
  await imagesLoaded(chat.locator('.fd-msg[data-author="agent"] img.fd-thumb'), 2);
  const download = customer.waitForEvent("download");
  await chat.locator('.fd-msg[data-author="agent"] button.fd-file', { hasText: "notes.pdf" }).waitFor();
  await chat.locator('.fd-msg[data-author="agent"] button.fd-file', { hasText: "guide.pdf" }).click();
  const file = await download;
  assert.equal(file.suggestedFilename(), "guide.pdf");
  const { readFileSync } = await import("node:fs");
  assert.equal(readFileSync(await file.path()).toString(), PDF.toString());
  await screenshot(customer, "attachments-widget");
  await screenshot(agent, "attachments-console");

  // After a reload the history (replay) shows them again.
  await customer.reload();
  const again = await openWidget(customer);
  await imagesLoaded(again.locator("img.fd-thumb"), 4);

  assert.deepEqual(customerErrors, []);
  assert.deepEqual(agentErrors, []);
  await customerContext.close();
  await agentContext.close();
});

test("an uploaded .html and .svg, opened at their URL, run no script", async () => {
  const customerContext = await browser.newContext();
  const customer = await customerContext.newPage();
  const chat = await openWidget(customer);
  const html = `<!doctype html><title>owned</title><script>window.owned = 1; document.title = "owned"; fetch("/probe-html");</script>`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" onload="fetch('/probe-svg')"><script>fetch('/probe-svg-script')</script></svg>`;
  await chat.locator('.fd-attach input[type="file"]').setInputFiles([
    { name: "page.html", mimeType: "text/html", buffer: Buffer.from(html) },
    { name: "logo.svg", mimeType: "image/svg+xml", buffer: Buffer.from(svg) },
  ]);
  await chat.locator('.fd-msg[data-state="sent"] button.fd-file', { hasText: "logo.svg" }).waitFor();

  const agentContext = await browser.newContext({ acceptDownloads: true });
  const probes = [];
  agentContext.on("request", (r) => { if (r.url().includes("/probe")) probes.push(r.url()); });
  const agent = await agentContext.newPage();
  await signIn(agent);
  await agent.locator("button.conv", { hasText: /📎 (page\.html|logo\.svg)/ }).click();
  for (const name of ["page.html", "logo.svg"]) {
    const href = await agent.locator("a.file-chip", { hasText: name }).getAttribute("href");
    const page = await agentContext.newPage();
    let downloaded = null;
    page.on("download", (d) => { downloaded = d; });
    // Served as a download (never rendered): the navigation is aborted by the download.
    await page.goto(`${server.base}${href}`).catch(() => {});
    await waitFor(`${name} downloaded`, () => downloaded);
    assert.notEqual(await page.title(), "owned");
    const headers = await agent.evaluate(async (url) => {
      const r = await fetch(url);
      return Object.fromEntries(["content-type", "content-disposition", "content-security-policy", "x-content-type-options"].map((h) => [h, r.headers.get(h)]));
    }, href);
    assert.equal(headers["content-type"], "text/plain; charset=utf-8", name);
    assert.match(headers["content-disposition"], /^attachment;/, name);
    assert.match(headers["content-security-policy"], /^sandbox; default-src 'none'/, name);
    assert.equal(headers["x-content-type-options"], "nosniff", name);
    // Even forced into a frame of our origin, the sandbox keeps its script from running.
    await agent.evaluate((url) => new Promise((resolve) => {
      const f = document.createElement("iframe");
      f.src = url;
      f.onload = resolve;
      setTimeout(resolve, 1500);
      document.body.append(f);
    }), href);
    await page.close();
  }
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(probes, [], "no script ran");
  assert.equal(await agent.evaluate(() => window.owned), undefined);
  await customerContext.close();
  await agentContext.close();
});

test("an over-size file and an unsupported one get a localized message and nothing is sent", async () => {
  const context = await browser.newContext({ locale: "pt-BR" });
  const page = await context.newPage();
  const chat = await openWidget(page);
  const before = await chat.locator(".fd-msg").count();
  await chat.locator('.fd-attach input[type="file"]').setInputFiles([
    { name: "video.txt", mimeType: "text/plain", buffer: Buffer.alloc(1.5 * 1024 * 1024, "a") },
  ]);
  await chat.locator(".fd-file-error", { hasText: "Este arquivo é grande demais para enviar." }).waitFor();
  await chat.locator('.fd-attach input[type="file"]').setInputFiles([
    { name: "setup.png", mimeType: "image/png", buffer: Buffer.from("MZ\x90\x00\x03\x00\x00\x00binary") },
  ]);
  await chat.locator(".fd-file-error", { hasText: "Este tipo de arquivo não pode ser enviado" }).waitFor();
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await chat.locator(".fd-msg").count(), before, "nothing sent");
  await screenshot(page, "attachments-refused");

  // The console refuses an over-size file before sending it, naming the limit.
  const agentContext = await browser.newContext();
  const agent = await agentContext.newPage();
  await signIn(agent);
  await agent.locator("button.conv").first().click();
  await agent.locator('.attach-button input[type="file"]').setInputFiles([
    { name: "dump.txt", mimeType: "text/plain", buffer: Buffer.alloc(1.5 * 1024 * 1024, "a") },
  ]);
  await agent.locator(".upload-error", { hasText: "dump.txt: the file is larger than the limit of 1.0 MB" }).waitFor();
  assert.equal(await agent.locator(".staged").count(), 0, "nothing staged");
  await agentContext.close();
  await context.close();
});
