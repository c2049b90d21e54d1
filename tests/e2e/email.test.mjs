// Email continuity end to end: a customer asks with nobody online, leaves their address and
// the page; the agent answers in the console; a real SMTP server (aiosmtpd, from the tests'
// Python) receives the email with the signed reply address; the customer's answer, posted raw
// to the inbound endpoint, shows in the console live and in the widget when they come back.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  addAgent, launchBrowser, removeData, screenshot, smtpSink, startServer, stopServer, tempData,
  waitFor, watchErrors,
} from "./harness.mjs";

const AGENT = { email: "bo@brightbill.test", password: "another long password", name: "Bo Lima" };
const SECRET = "email-inbound-secret-0123456789";
const PYTHON = process.env.FRONTDESK_TEST_PYTHON;
let data, server, browser, smtp;
const mails = () => smtp.mails();




before(async () => {
  assert.ok(PYTHON, "FRONTDESK_TEST_PYTHON is not set (cargo xtask test sets it)");
  data = tempData();
  smtp = await smtpSink(PYTHON, join(data, "maildir"));
  addAgent(data, AGENT.email, AGENT.password, AGENT.name);
  const config = join(data, "frontdesk.toml");
  writeFileSync(config, [
    "[email]",
    `smtp_url = "smtp://127.0.0.1:${smtp.port}"`,
    `from = "Brightbill Support <support@brightbill.test>"`,
    `reply_domain = "reply.brightbill.test"`,
    `inbound_secret = "${SECRET}"`,
    "away_seconds = 2",
    "check_seconds = 1",
    "",
  ].join("\n"));
  server = await startServer(data, "127.0.0.1:0", ["--config", config]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server) await stopServer(server);
  smtp?.child.kill();
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

test("a reply the customer missed goes by email, and their email answer comes back", async () => {
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(`${server.base}/demo`);
  let chat = await openChat(page);
  // Nobody online: the widget asks for an address.
  await chat.locator(".fd-away").waitFor();
  await chat.locator('textarea[name="message"]').fill("Can I pay my invoice by boleto?");
  await chat.locator('textarea[name="message"]').press("Enter");
  await chat.locator('.fd-msg[data-author="visitor"][data-state="sent"]').waitFor();
  await chat.locator('input[name="email"]').fill("rita@example.com");
  await chat.locator('.fd-contact button[type="submit"]').click();
  await chat.locator(".fd-muted", { hasText: "email" }).waitFor();
  // The customer leaves.
  await page.goto("about:blank");

  // The agent answers later.
  const agentContext = await browser.newContext();
  const agent = await agentContext.newPage();
  await agent.goto(`${server.base}/console`);
  await agent.locator('input[name="email"]').fill(AGENT.email);
  await agent.locator('input[name="password"]').fill(AGENT.password);
  await agent.locator('button[type="submit"]').click();
  await agent.locator(".conn.online").waitFor({ timeout: 15000 });
  await agent.locator("button.conv", { hasText: "boleto" }).click();
  await agent.locator('textarea[name="reply"]').fill("Yes: choose boleto at checkout.");
  await agent.locator('textarea[name="reply"]').press("Enter");
  await agent.locator('.msg[data-author="agent"][data-state="sent"]').waitFor();

  // The reply reaches the customer's inbox once, from the site, with a signed reply address.
  const [mail] = await waitFor("the email", () => mails().length && mails());
  assert.match(mail, /^To: rita@example\.com/m);
  assert.match(mail, /^Subject: New reply from Brightbill/m);
  assert.match(mail, /Yes: choose boleto at checkout\./);
  const replyTo = mail.match(/^Reply-To: .*<(reply\+\d+\.[0-9a-f]{16}@reply\.brightbill\.test)>/m)?.[1];
  assert.ok(replyTo, mail);
  const messageId = mail.match(/^Message-ID: (<[^>]+>)/im)?.[1];
  assert.ok(messageId, mail);

  // The customer answers from their mail program; the mail server posts it raw.
  const answer = [
    "From: Rita <rita@example.com>",
    `To: ${replyTo}`,
    "Subject: Re: New reply from Brightbill",
    "Message-ID: <answer-1@mail.example.com>",
    `In-Reply-To: ${messageId}`,
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Perfect, I will pay by boleto today.",
    "",
    "On Tue, Dec 1, 2026, Brightbill Support wrote:",
    "> Yes: choose boleto at checkout.",
    "",
  ].join("\r\n");
  const post = (headers) => fetch(`${server.base}/api/email/inbound`, { method: "POST", headers, body: answer });
  assert.equal((await post({})).status, 401);
  const r = await post({ authorization: `Bearer ${SECRET}` });
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal((await r.json()).duplicate, false);

  // Live in the console, without the quoted history.
  await agent.locator('.msg[data-author="visitor"]', { hasText: "Perfect, I will pay by boleto today." }).waitFor();
  assert.equal(await agent.locator(".msg", { hasText: "choose boleto at checkout" }).count(), 1);
  await screenshot(agent, "email-answer-console");

  // The customer comes back: the widget shows the reply and their email answer.
  await page.goto(`${server.base}/demo`);
  await page.locator("button.fd-launcher").click();
  chat = frameOf(page);
  await chat.locator(".fd-msg", { hasText: "Yes: choose boleto at checkout." }).waitFor({ timeout: 15000 });
  await chat.locator('.fd-msg[data-author="visitor"]', { hasText: "Perfect, I will pay by boleto today." }).waitFor();
  await screenshot(page, "email-answer-widget");
  // Read now: no second email.
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(mails().length, 1);
  assert.deepEqual(errors, []);
  await agentContext.close();
  await context.close();
});
