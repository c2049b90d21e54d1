// The console's webhooks panel: an admin sees the endpoint, its deliveries (delivered after a
// failed first try, with the attempts and the last answer) and replays one, which the receiver
// gets again with the same webhook-id; disabling the endpoint shows in the panel.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addAgent, launchBrowser, removeData, screenshot, startServer, stopServer, tempData, watchErrors } from "./harness.mjs";

const ADMIN = { email: "ada@brightbill.test", password: "ada's long password" };
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
let data, configDir, server, browser, receiver;
// Every request the receiver got: its webhook-id and event type.
const received = [];

before(async () => {
  const tries = new Map();
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => { body += d; });
    req.on("end", () => {
      const id = req.headers["webhook-id"];
      tries.set(id, (tries.get(id) || 0) + 1);
      received.push({ id, type: JSON.parse(body).type, signed: /^v1,/.test(req.headers["webhook-signature"] || "") });
      // The first try of each event fails, so the log shows a retry.
      res.writeHead(tries.get(id) === 1 ? 503 : 204).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  data = tempData();
  configDir = mkdtempSync(join(tmpdir(), "frontdesk-config-"));
  const config = join(configDir, "frontdesk.toml");
  writeFileSync(config, `
[webhooks]
retry_schedule_ms = [100, 100]
poll_ms = 50
allow_private_targets = true

[sites.shop]
name = "Shop"

[[sites.shop.webhooks]]
url = "http://127.0.0.1:${receiver.address().port}/hooks"
secret = "${SECRET}"
events = ["conversation.created", "message.created"]
`);
  addAgent(data, ADMIN.email, ADMIN.password, "Ada", { admin: true });
  server = await startServer(data, "127.0.0.1:0", ["--config", config]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server) await stopServer(server);
  receiver?.close();
  removeData(data);
  removeData(configDir);
});

async function until(what, check) {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}: ${JSON.stringify(received)}`);
}

test("an admin reads the delivery log, replays a delivery and disables the endpoint", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(`${server.base}/console`);
  await page.locator('input[name="email"]').fill(ADMIN.email);
  await page.locator('input[name="password"]').fill(ADMIN.password);
  await page.locator('button[type="submit"]').click();
  await page.locator(".conn.online").waitFor({ timeout: 15000 });

  // A customer of the site writes (over the widget's socket, from this origin).
  await page.evaluate(() => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${location.host}/ws/visitor`);
    ws.onopen = () => ws.send(JSON.stringify({ type: "hello", v: 1, site: "shop" }));
    ws.onmessage = (e) => {
      const f = JSON.parse(e.data);
      if (f.type === "welcome") ws.send(JSON.stringify({ type: "send", id: "w1", body: "where is my order?" }));
      if (f.type === "ack") { ws.close(); resolve(); }
    };
    ws.onerror = reject;
  }));
  await until("both events delivered", () => received.filter((r) => r.signed).length >= 4);

  await page.locator("button.webhooks-toggle").click();
  const endpoint = page.locator(".webhooks tr.endpoint", { hasText: "/hooks" });
  await endpoint.waitFor();
  const rows = page.locator(".webhooks tr.delivery.delivered");
  // The receiver answered; the server records it a moment later: read the log until it says so.
  for (let i = 0; i < 50 && (await rows.count()) < 2; i++) {
    await endpoint.locator("button.deliveries").click();
    await page.waitForTimeout(200);
  }
  assert.equal(await rows.count(), 2);
  // Newest first: message.created, then conversation.created, each after a 503.
  assert.match(await rows.nth(0).innerText(), /message\.created/);
  assert.match(await rows.nth(1).innerText(), /conversation\.created/);
  assert.match(await rows.nth(1).locator(".answer").innerText(), /204/);
  assert.equal((await rows.nth(1).locator("td").nth(3).innerText()).trim(), "2");
  await screenshot(page, "webhooks-log");

  // Replay: the receiver gets the same webhook-id again.
  const id = (await rows.nth(1).locator("td").first().innerText()).trim();
  const before = received.filter((r) => r.id === id).length;
  await rows.nth(1).locator("button.replay").click();
  await until("the replay", () => received.filter((r) => r.id === id).length > before);
  assert.equal(received.find((r) => r.id === id).type, "conversation.created");

  // Disabled from the panel: the row says so.
  await endpoint.locator("button.toggle-endpoint").click();
  await page.locator(".webhooks tr.endpoint.disabled", { hasText: "disabled by an admin" }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});
