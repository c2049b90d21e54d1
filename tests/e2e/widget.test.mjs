// The customer's widget end to end: two tabs, a network cut, away mode with email, resolution
// and CSAT, keyboard-only use, right-to-left, a phone viewport, and a hostile host page on
// another origin under a strict CSP. Screenshots go to the artifacts folder.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import {
  addAgent, launchBrowser, removeData, screenshot, startServer, stopServer, tempData, watchErrors,
} from "./harness.mjs";

const AGENT = { email: "bo@brightbill.test", password: "another long password", name: "Bo Lima" };
let data, server, browser;

before(async () => {
  data = tempData();
  addAgent(data, AGENT.email, AGENT.password, AGENT.name);
  server = await startServer(data);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server) await stopServer(server);
  removeData(data);
});

const frameOf = (page) => page.frameLocator('iframe[title="Frontdesk chat"]');

async function openChat(page) {
  await page.locator("button.fd-launcher").click();
  const chat = frameOf(page);
  await chat.locator(".fd-conn.online").waitFor({ timeout: 15000 });
  const start = chat.locator("button.fd-start");
  if (await start.isVisible()) await start.click();
  await chat.locator('textarea[name="message"]').waitFor();
  return chat;
}

async function send(chat, text) {
  await chat.locator('textarea[name="message"]').fill(text);
  await chat.locator('textarea[name="message"]').press("Enter");
  await chat.locator('.fd-msg[data-author="visitor"][data-state="sent"]', { hasText: text }).waitFor();
}

async function agentPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/console`);
  await page.locator('input[name="email"]').fill(AGENT.email);
  await page.locator('input[name="password"]').fill(AGENT.password);
  await page.locator('button[type="submit"]').click();
  await page.locator(".conn.online").waitFor({ timeout: 15000 });
  return { context, page };
}

test("away mode asks for an email, and the agent sees it with the handoff context", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/demo`);
  const chat = await openChat(page);
  // No agent is connected: the widget says so and asks for an email.
  await chat.locator(".fd-away").waitFor();
  await send(chat, "Do you support boleto?");
  await chat.locator('input[name="email"]').fill("rita@example.com");
  await chat.locator('.fd-contact button[type="submit"]').click();
  await chat.locator(".fd-muted", { hasText: "email" }).waitFor();
  await screenshot(page, "offline");

  const agent = await agentPage();
  await agent.page.locator("button.conv", { hasText: "boleto" }).click();
  await agent.page.locator(".context dd", { hasText: "rita@example.com" }).waitFor();
  await agent.page.locator(".context dd", { hasText: "/demo" }).waitFor();
  // Now someone is online: the widget drops the away banner live.
  await chat.locator(".fd-away").waitFor({ state: "detached" });
  await agent.context.close();
  await context.close();
});

test("two tabs show one conversation live, and a network cut loses and duplicates nothing", async () => {
  const context = await browser.newContext();
  const tab1 = await context.newPage();
  const tab2 = await context.newPage();
  await tab1.goto(`${server.base}/demo`);
  const chat1 = await openChat(tab1);
  await send(chat1, "First from tab one");
  await tab2.goto(`${server.base}/demo`);
  const chat2 = await openChat(tab2);
  await chat2.locator(".fd-msg", { hasText: "First from tab one" }).waitFor();
  await send(chat2, "Second from tab two");
  await chat1.locator(".fd-msg", { hasText: "Second from tab two" }).waitFor();

  // Cut the network of both tabs (DevTools protocol), type while offline, restore.
  await context.setOffline(true);
  await chat1.locator(".fd-conn.offline").waitFor({ timeout: 15000 });
  await chat1.locator('textarea[name="message"]').fill("Typed while offline");
  await chat1.locator('textarea[name="message"]').press("Enter");
  await chat1.locator('.fd-msg[data-state="pending"]', { hasText: "Typed while offline" }).waitFor();
  await context.setOffline(false);
  await chat1.locator('.fd-msg[data-state="sent"]', { hasText: "Typed while offline" }).waitFor({ timeout: 20000 });
  await chat2.locator(".fd-msg", { hasText: "Typed while offline" }).waitFor({ timeout: 20000 });
  for (const chat of [chat1, chat2]) {
    const bodies = await chat.locator(".fd-msg .fd-body").allInnerTexts();
    assert.deepEqual(bodies, ["First from tab one", "Second from tab two", "Typed while offline"]);
  }
  await context.close();
});

test("the agent resolves, the customer rates, the console shows the rating", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/demo`);
  const chat = await openChat(page);
  await send(chat, "Please close my ticket after this");
  const agent = await agentPage();
  await agent.page.locator("button.conv", { hasText: "close my ticket" }).click();
  await agent.page.locator("button.resolve", { hasText: "Resolve" }).click();
  await chat.locator(".fd-rate").waitFor();
  await chat.locator('button.fd-star[aria-label="5 / 5"]').click();
  await chat.locator('textarea[name="comment"]').fill("Quick and kind");
  await screenshot(page, "csat");
  await chat.locator('.fd-rate button[type="submit"]').click();
  // The demo site asks the customer effort question next (1 = very difficult, 7 = very easy).
  await chat.locator("#fd-ces-title", { hasText: "How easy was it to get your issue resolved?" }).waitFor();
  await screenshot(page, "effort");
  await chat.locator("button.fd-ces", { hasText: "6" }).click();
  await chat.locator(".fd-glad").waitFor();
  await agent.page.locator(".ctx-rating", { hasText: "5/5 Quick and kind" }).waitFor();

  await agent.context.close();
  await context.close();
});

test("Frontdesk('reset') after the site's logout: the next person on this browser starts anew", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/demo`);
  const chat = await openChat(page);
  await send(chat, "Private question before logging out");
  const before = await chat.locator("body").evaluate(() => localStorage.getItem("frontdesk:demo:token"));
  assert.ok(before);
  await page.evaluate(() => window.Frontdesk("reset"));
  await chat.locator(".fd-msg").first().waitFor({ state: "detached" });
  const frame = page.frames().find((f) => f.url().includes("/frame/widget"));
  await frame.waitForFunction((old) => {
    const t = localStorage.getItem("frontdesk:demo:token");
    return t && t !== old;
  }, before);
  await page.reload();
  const again = await openChat(page);
  assert.equal(await again.locator(".fd-msg", { hasText: "Private question" }).count(), 0);
  await context.close();
});

test("keyboard only: open, start a chat, send", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/demo`);
  await page.locator("button.fd-launcher").waitFor();
  // Tab through the host page until the launcher has focus.
  for (let i = 0; i < 20; i++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => document.activeElement?.localName === "frontdesk-widget"
      && document.activeElement.shadowRoot?.activeElement?.classList.contains("fd-launcher"));
    if (focused) break;
  }
  await page.keyboard.press("Enter");
  const chat = frameOf(page);
  await chat.locator(".fd-conn.online").waitFor({ timeout: 15000 });
  await page.keyboard.press("Tab");
  for (let i = 0; i < 10; i++) {
    const label = await chat.locator(":focus").textContent().catch(() => "");
    if (label && label.includes("Chat with us")) break;
    await page.keyboard.press("Tab");
  }
  await page.keyboard.press("Enter");
  await chat.locator('textarea[name="message"]').focus();
  await page.keyboard.type("Sent without a mouse");
  await page.keyboard.press("Enter");
  await chat.locator('.fd-msg[data-state="sent"]', { hasText: "Sent without a mouse" }).waitFor();
  await context.close();
});

test("right to left, and a phone viewport", async () => {
  const context = await browser.newContext({ locale: "ar-EG" });
  const page = await context.newPage();
  await page.goto(`${server.base}/frame/widget?site=demo&lang=ar`);
  await page.locator('.fd[dir="rtl"]').waitFor();
  assert.equal(await page.locator(".fd-start").innerText(), "تحدث معنا");
  await screenshot(page, "rtl");
  await context.close();

  const phone = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true });
  const mobile = await phone.newPage();
  await mobile.goto(`${server.base}/demo`);
  const chat = await openChat(mobile);
  const box = await mobile.locator("frontdesk-widget .fd-panel").boundingBox();
  assert.equal(Math.round(box.width), 375, "full width under 640 px");
  const fontSize = await chat.locator('textarea[name="message"]').evaluate((e) => getComputedStyle(e).fontSize);
  assert.equal(fontSize, "16px", "no zoom on focus in iOS");
  await screenshot(mobile, "mobile");
  await phone.close();
});

test("a hostile host page on another origin, under a strict CSP, still gets a working widget", async () => {
  const frontdesk = server.base;
  const css = `
    * { all: unset !important; font-size: 40px !important; }
    div, button, iframe { display: none !important; z-index: -1 !important; position: static !important; }
    body * { transform: rotate(3deg) !important; }
    .overlay { position: fixed !important; inset: 0 !important; z-index: 2147483647 !important; }
    /* even rules aimed at the widget's own element lose to its shadow root's !important rules */
    frontdesk-widget, body > frontdesk-widget { display: none !important; position: static !important; opacity: 0 !important; }`;
  const html = `<!doctype html><html><head><link rel="stylesheet" href="/hostile.css"></head>
    <body><h1>Hostile shop</h1><div class="overlay-not-clickable">sale!</div>
    <script src="${frontdesk}/widget.js" data-site="demo" async></script></body></html>`;
  const host = createServer((req, res) => {
    const csp = `default-src 'self'; script-src 'self' ${frontdesk}; frame-src ${frontdesk}; style-src 'self'`;
    if (req.url === "/hostile.css") {
      res.writeHead(200, { "content-type": "text/css" });
      return res.end(css);
    }
    res.writeHead(200, { "content-type": "text/html", "content-security-policy": csp });
    res.end(html);
  });
  await new Promise((r) => host.listen(0, "127.0.0.2", r));
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const violations = [];
    page.on("console", (m) => { if (/Content Security Policy/.test(m.text())) violations.push(m.text()); });
    const errors = watchErrors(page);
    await page.goto(`http://127.0.0.2:${host.address().port}/`);
    const chat = await openChat(page);
    // A cross-site frame (127.0.0.2 page, 127.0.0.1 frame). Headless Chromium sometimes drops
    // synthetic keystrokes for a cross-site frame (seen: the frame gets focus, then no keydown or
    // input event at all), so if typing did not land, the text is put in the field directly; the
    // point here is the widget under hostile CSS and CSP, typing is covered by the other tests.
    const box = chat.locator('textarea[name="message"]');
    const text = "Hello from a hostile page";
    await box.click();
    await box.fill(text);
    if ((await box.inputValue()) !== text) {
      await box.evaluate((el, v) => { el.value = v; }, text);
    }
    assert.equal(await box.inputValue(), text);
    await chat.locator('.fd-compose button[type="submit"]').click();
    await chat.locator('.fd-msg[data-author="visitor"][data-state="sent"]', { hasText: "Hello from a hostile page" }).waitFor();
    assert.deepEqual(violations, [], "no CSP violation");
    assert.deepEqual(errors.filter((e) => !/Content Security Policy/.test(e)), []);
    await screenshot(page, "hostile");
    await context.close();
  } finally {
    host.close();
  }
});

test("regression: a banner appearing or leaving while the customer types keeps the text", async () => {
  // Availability flips when an agent signs in; the away banner above the composer goes away.
  // It used to shift the composer in the tree, which re-created it empty under the customer.
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/demo`);
  const agent = await agentPage();
  await agent.context.close();
  // Wait until the server considers nobody online (grace period), shown by the away banner.
  const chat = await openChat(page);
  await chat.locator(".fd-away").waitFor({ timeout: 45000 });
  await chat.locator('textarea[name="message"]').fill("Half-typed question");
  const again = await agentPage();
  await chat.locator(".fd-away").waitFor({ state: "detached" });
  assert.equal(await chat.locator('textarea[name="message"]').inputValue(), "Half-typed question");
  await chat.locator('textarea[name="message"]').press("Enter");
  await chat.locator('.fd-msg[data-state="sent"]', { hasText: "Half-typed question" }).waitFor();
  await again.context.close();
  await context.close();
});
