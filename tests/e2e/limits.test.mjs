// Limits as a customer meets them: a flood of new visitors from one address is cut and the
// widget says so in the customer's language; a message over the limit waits, survives a reload,
// and is sent by itself after the wait.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { launchBrowser, removeData, screenshot, startServer, stopServer, tempData } from "./harness.mjs";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

async function withServer(limits, body) {
  const data = tempData();
  const config = join(data, "frontdesk.toml");
  writeFileSync(config, `[limits]\n${limits}\n`);
  const server = await startServer(data, "127.0.0.1:0", ["--config", config]);
  try {
    await body(server);
  } finally {
    await stopServer(server);
    removeData(data);
  }
}

/** `n` new visitors' hellos, one after another, from a page on the server's origin (the
 * browser sets `Origin`); counts welcomes and refusals that say how long to wait. */
async function flood(base, n) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/healthz`);
  const counts = await page.evaluate(async (n) => {
    const hello = () => new Promise((resolve, reject) => {
      const ws = new WebSocket(`${location.origin.replace("http", "ws")}/ws/visitor`);
      ws.onopen = () => ws.send(JSON.stringify({ type: "hello", v: 1, site: "demo", last_seq: 0 }));
      ws.onmessage = (e) => {
        const frame = JSON.parse(e.data);
        if (frame.type === "availability") return;
        ws.close();
        resolve(frame);
      };
      ws.onerror = () => reject(new Error("websocket failed"));
    });
    let welcomed = 0;
    let refused = 0;
    for (let i = 0; i < n; i++) {
      const frame = await hello();
      if (frame.type === "welcome") welcomed++;
      else if (frame.type === "error" && frame.code === "rate_limited" && frame.retry_after_ms > 0) refused++;
    }
    return { welcomed, refused };
  }, n);
  await context.close();
  return counts;
}

const frameOf = (page) => page.frameLocator('iframe[title="Frontdesk chat"]');

test("a flood of new visitors from one address is cut, and the widget says so in Portuguese", async () => {
  await withServer('new_visitors_per_address = "50/hour"', async (server) => {
    const { welcomed, refused } = await flood(server.base, 1000);
    assert.equal(welcomed, 50);
    assert.equal(refused, 950);
    const context = await browser.newContext({ locale: "pt-BR" });
    const page = await context.newPage();
    await page.goto(`${server.base}/demo`);
    await page.locator("button.fd-launcher").click();
    // The customer asks to talk to a person: the refusal is explained there.
    await frameOf(page).locator("button.fd-start").click();
    const notice = frameOf(page).locator(".fd-notice");
    await notice.waitFor({ timeout: 15000 });
    assert.match(await notice.textContent(), /Muitas solicitações da sua rede/);
    await screenshot(page, "limited-pt");
    await context.close();
  });
});

test("a rate-limited message waits, survives a reload, and is sent after the wait", async () => {
  await withServer('messages_per_visitor = "2/8s"', async (server) => {
    const context = await browser.newContext({ locale: "en-US" });
    const page = await context.newPage();
    await page.goto(`${server.base}/demo`);
    await page.locator("button.fd-launcher").click();
    let chat = frameOf(page);
    await chat.locator(".fd-conn.online").waitFor({ timeout: 15000 });
    const start = chat.locator("button.fd-start");
    if (await start.isVisible()) await start.click();
    const type = async (text) => {
      await chat.locator('textarea[name="message"]').fill(text);
      await chat.locator('textarea[name="message"]').press("Enter");
    };
    await type("first");
    await type("second");
    await chat.locator('.fd-msg[data-state="sent"]', { hasText: "second" }).waitFor();
    await type("third, over the limit");
    await chat.locator(".fd-notice", { hasText: "too fast" }).waitFor({ timeout: 10000 });
    assert.equal(
      await chat.locator('.fd-msg[data-author="visitor"]', { hasText: "third" }).getAttribute("data-state"),
      "pending",
    );
    // Reload before the wait is over: the message is still there, and goes out by itself.
    await page.reload();
    await page.locator("button.fd-launcher").click();
    chat = frameOf(page);
    const third = chat.locator('.fd-msg[data-author="visitor"]', { hasText: "third" });
    await third.waitFor({ timeout: 15000 });
    await chat.locator('.fd-msg[data-author="visitor"][data-state="sent"]', { hasText: "third" })
      .waitFor({ timeout: 20000 });
    // And it is stored: a fresh page load shows it from the server's history, once.
    await page.reload();
    await page.locator("button.fd-launcher").click();
    chat = frameOf(page);
    await chat.locator('.fd-msg[data-state="sent"]', { hasText: "third" }).waitFor({ timeout: 15000 });
    assert.equal(await chat.locator(".fd-msg", { hasText: "third" }).count(), 1);
    await context.close();
  });
});
