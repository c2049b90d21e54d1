// What a page view costs the server: a widget with no conversation opens no WebSocket (the
// page preloads the app, shows the launcher, searches the FAQ locally); opening it connects;
// a customer with an open conversation is connected at once on every page, so an agent's reply
// arrives live (the launcher's unread badge) without opening the widget.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { addAgent, launchBrowser, removeData, startServer, stopServer, tempData } from "./harness.mjs";

const AGENT = { email: "cy@brightbill.test", password: "a third long password", name: "Cy" };
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

/** Counts the WebSockets the page (and its frames) opens. */
function countSockets(page) {
  const sockets = [];
  page.on("websocket", (ws) => sockets.push(ws.url()));
  return sockets;
}

/** Waits until the widget app has loaded in its frame (preloaded on idle). */
async function appLoaded(page) {
  await frameOf(page).locator(".fd").waitFor({ state: "attached", timeout: 15000 });
}

test("a page view without a conversation opens no WebSocket until the widget is opened", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const sockets = countSockets(page);
  await page.goto(`${server.base}/demo`);
  await appLoaded(page);
  await page.waitForTimeout(1500);
  assert.equal(sockets.length, 0, `sockets per page view: ${sockets.length}`);
  console.log(`# sockets per page view without a conversation: ${sockets.length}`);
  await page.locator("button.fd-launcher").click();
  await frameOf(page).locator(".fd-conn.online").waitFor({ timeout: 15000 });
  assert.equal(sockets.length, 1, "opening the widget connects once");
  await context.close();
});

test("with an open conversation, every page connects and an agent's reply arrives live", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/demo`);
  await page.locator("button.fd-launcher").click();
  const chat = frameOf(page);
  await chat.locator(".fd-conn.online").waitFor({ timeout: 15000 });
  const start = chat.locator("button.fd-start");
  if (await start.isVisible()) await start.click();
  await chat.locator('textarea[name="message"]').fill("Is my invoice paid?");
  await chat.locator('textarea[name="message"]').press("Enter");
  await chat.locator('.fd-msg[data-state="sent"]', { hasText: "Is my invoice paid?" }).waitFor();

  // Another page of the site: the widget stays closed, yet it is connected.
  const next = await context.newPage();
  const sockets = countSockets(next);
  await next.goto(`${server.base}/demo`);
  await appLoaded(next);
  for (let i = 0; i < 50 && sockets.length === 0; i++) await next.waitForTimeout(100);
  assert.equal(sockets.length, 1, "connected at load, for the open conversation");
  console.log(`# sockets per page view with an open conversation: ${sockets.length}`);

  // The agent answers from the console.
  const agentContext = await browser.newContext();
  const agent = await agentContext.newPage();
  await agent.goto(`${server.base}/console`);
  await agent.locator('input[name="email"]').fill(AGENT.email);
  await agent.locator('input[name="password"]').fill(AGENT.password);
  await agent.locator('button[type="submit"]').click();
  await agent.locator(".conn.online").waitFor({ timeout: 15000 });
  await agent.locator("button.conv", { hasText: "Is my invoice paid?" }).click();
  await agent.locator('textarea[name="reply"]').fill("Yes, it was paid this morning.");
  await agent.locator('textarea[name="reply"]').press("Enter");

  // The closed widget on the other page counts it as unread, live.
  await next.locator(".fd-badge.on").waitFor({ timeout: 15000 });
  assert.equal((await next.locator(".fd-badge").textContent()).trim(), "1");
  await next.locator("button.fd-launcher").click();
  await frameOf(next).locator('.fd-msg[data-author="agent"]', { hasText: "paid this morning" }).waitFor();
  await agentContext.close();
  await context.close();
});
