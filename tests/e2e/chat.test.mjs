// The whole path: a host page with the script tag → widget → a customer's message → the agent
// console → the agent's reply → the customer; everything still there after a server restart.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import {
  addAgent, launchBrowser, removeData, screenshot, startServer, stopServer, tempData, watchErrors,
} from "./harness.mjs";

const AGENT = { email: "ana@brightbill.test", password: "correct horse battery", name: "Ana Souza" };
const QUESTION = "Olá! Where can I download last month's invoice?";
const REPLY = "Hi! Go to Billing → Invoices and click Download PDF.";

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

async function openWidget(page) {
  await page.locator("button.fd-launcher").click();
  const chat = page.frameLocator('iframe[title="Frontdesk chat"]');
  await chat.locator(".fd-conn.online").waitFor({ timeout: 15000 });
  // A new visitor lands on the home screen; one with an open conversation goes straight to it.
  const start = chat.locator("button.fd-start");
  if (await start.isVisible()) await start.click();
  await chat.locator('textarea[name="message"]').waitFor();
  return chat;
}

async function signIn(page) {
  await page.locator('input[name="email"]').fill(AGENT.email);
  await page.locator('input[name="password"]').fill(AGENT.password);
  await page.locator('button[type="submit"]').click();
  await page.locator(".conn.online").waitFor({ timeout: 15000 });
}

test("a customer's message reaches the agent, the reply comes back, both survive a restart", async () => {
  const customerContext = await browser.newContext();
  const customer = await customerContext.newPage();
  const customerErrors = watchErrors(customer);
  await customer.goto(`${server.base}/demo`);
  // The launcher is drawn at once, before the app loads.
  await customer.locator("button.fd-launcher").waitFor({ timeout: 5000 });
  await screenshot(customer, "closed");

  let chat = await openWidget(customer);
  await chat.locator('textarea[name="message"]').fill(QUESTION);
  await chat.locator('textarea[name="message"]').press("Enter");
  await chat.locator('.fd-msg[data-author="visitor"][data-state="sent"]', { hasText: QUESTION }).waitFor();

  const agentContext = await browser.newContext();
  const agent = await agentContext.newPage();
  const agentErrors = watchErrors(agent);
  await agent.goto(`${server.base}/console`);
  await signIn(agent);
  const conversation = agent.locator("button.conv", { hasText: QUESTION.slice(0, 20) });
  await conversation.waitFor();
  await conversation.click();
  await agent.locator('.msg[data-author="visitor"]', { hasText: QUESTION }).waitFor();
  await agent.locator('textarea[name="reply"]').fill(REPLY);
  await agent.locator('textarea[name="reply"]').press("Enter");
  await agent.locator('.msg[data-author="agent"][data-state="sent"]', { hasText: REPLY }).waitFor();

  // Live: the customer sees the reply without reloading.
  await chat.locator('.fd-msg[data-author="agent"]', { hasText: REPLY }).waitFor({ timeout: 10000 });
  assert.match(await chat.locator('.fd-msg[data-author="agent"] .fd-who').innerText(), /Ana Souza/);
  assert.equal(await chat.locator('.fd-msg[data-author="agent"] .fd-avatar').innerText(), "AS", "the agent's avatar");
  await screenshot(customer, "chat");
  await screenshot(agent, "console");

  // A new conversation appears in the agent's inbox live, without a reload.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await otherPage.goto(`${server.base}/demo`);
  const otherChat = await openWidget(otherPage);
  await otherChat.locator('textarea[name="message"]').fill("Second customer here");
  await otherChat.locator('button[type="submit"]').click();
  await agent.locator("button.conv", { hasText: "Second customer here" }).waitFor({ timeout: 10000 });
  await other.close();

  // Restart the server on the same port with the same data folder.
  assert.equal(await stopServer(server), 0, "graceful shutdown");
  server = await startServer(data, `127.0.0.1:${server.port}`);

  await customer.reload();
  chat = await openWidget(customer);
  await chat.locator('.fd-msg[data-author="visitor"]', { hasText: QUESTION }).waitFor();
  await chat.locator('.fd-msg[data-author="agent"]', { hasText: REPLY }).waitFor();
  assert.equal(await chat.locator(".fd-msg").count(), 2, "no duplicates after replay");

  await agent.reload();
  await agent.locator(".conn.online").waitFor({ timeout: 15000 }); // the session survived too
  await agent.locator("button.conv", { hasText: REPLY.slice(0, 20) }).click();
  await agent.locator('.msg[data-author="visitor"]', { hasText: QUESTION }).waitFor();
  await agent.locator('.msg[data-author="agent"]', { hasText: REPLY }).waitFor();

  assert.deepEqual(customerErrors, []);
  assert.deepEqual(agentErrors, []);
  await customerContext.close();
  await agentContext.close();
});

test("a wrong password is refused with a visible message", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/console`);
  await page.locator('input[name="email"]').fill(AGENT.email);
  await page.locator('input[name="password"]').fill("not the password");
  await page.locator('button[type="submit"]').click();
  await page.locator('[role="alert"]', { hasText: "wrong" }).waitFor();
  await context.close();
});
