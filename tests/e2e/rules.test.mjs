// The seed's rule, end to end: a customer rates a conversation 1 out of 5 in the real widget,
// and the low-rating rule of the settings gives the contact's account manager a private note
// in the console, an email (aiosmtpd, a real SMTP server) and the CRM a `csat.low` webhook
// (received and verified with the independent standardwebhooks package).
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import {
  addAgent, launchBrowser, removeData, screenshot, smtpSink, startServer, stopServer, tempData,
  waitFor, watchErrors,
} from "./harness.mjs";

const ANA = { email: "ana@brightbill.test", password: "a long password here", name: "Ana" };
const BO = { email: "bo@brightbill.test", password: "another long password", name: "Bo Lima" };
// 32 random bytes, base64, as Standard Webhooks secrets are written.
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0xXHtu4WGVA=";
const PYTHON = process.env.FRONTDESK_TEST_PYTHON;
let data, server, browser, smtp, receiver, hooksLog;
const mails = () => smtp.mails();




const hooks = () => (existsSync(hooksLog) ? readFileSync(hooksLog, "utf8") : "")
  .split("\n").filter(Boolean).map((l) => JSON.parse(l));

before(async () => {
  assert.ok(PYTHON, "FRONTDESK_TEST_PYTHON is not set (cargo xtask test sets it)");
  data = tempData();
  hooksLog = join(data, "hooks.jsonl");
  smtp = await smtpSink(PYTHON, join(data, "maildir"));
  const receiverScript = new URL("../webhooks/receiver.py", import.meta.url).pathname;
  receiver = spawn(PYTHON, [receiverScript, SECRET, hooksLog, "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const receiverPort = await new Promise((resolve) => {
    receiver.stdout.on("data", (d) => {
      const m = String(d).match(/listening (\d+)/);
      if (m) resolve(Number(m[1]));
    });
  });
  addAgent(data, ANA.email, ANA.password, ANA.name, { admin: true });
  addAgent(data, BO.email, BO.password, BO.name);
  const config = join(data, "frontdesk.toml");
  writeFileSync(config, `
[demo]
enabled = true

[sites.demo]
name = "Brightbill"

[[sites.demo.webhooks]]
url = "http://127.0.0.1:${receiverPort}/hooks"
secret = "${SECRET}"
events = ["csat.low"]

[webhooks]
allow_private_targets = true
poll_ms = 50

[email]
smtp_url = "smtp://127.0.0.1:${smtp.port}"
from = "Brightbill Support <support@brightbill.test>"
reply_domain = "reply.brightbill.test"
inbound_secret = "rules-test-inbound-secret"

[[rules]]
name = "Low rating: the account manager follows up"
on = "csat.submitted"
if = { rating_at_most = 2 }
then = [
  { note = "Rated {{rating}}/5 by {{contact}}: call them back." },
  { email = { to = "account_manager", subject = "Low rating from {{contact}}", body = "{{contact}} rated conversation {{conversation}} {{rating}}/5: {{comment}}" } },
  { webhook = "csat.low" },
]
`);
  server = await startServer(data, "127.0.0.1:0", ["--config", config]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server) await stopServer(server);
  smtp?.child.kill();
  receiver?.kill();
  removeData(data);
});

test("a rating of 1 gives the account manager a note, an email and the CRM a csat.low webhook", async () => {
  // Rita, identified by the site, asks a question.
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(`${server.base}/demo`);
  await page.evaluate(() => window.Frontdesk("identify", { name: "Rita", email: "rita@shop.test" }));
  await page.locator("button.fd-launcher").click();
  const chat = page.frameLocator('iframe[title="Frontdesk chat"]');
  await chat.locator(".fd-conn.online").waitFor({ timeout: 15000 });
  const start = chat.locator("button.fd-start");
  if (await start.isVisible()) await start.click();
  await chat.locator('textarea[name="message"]').fill("My invoice total is wrong");
  await chat.locator('textarea[name="message"]').press("Enter");
  await chat.locator('.fd-msg[data-state="sent"]').waitFor();

  // Ana and Bo sign in; Ana makes Bo the account manager, answers and resolves.
  const signIn = async (who) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.base}/console`);
    await page.locator('input[name="email"]').fill(who.email);
    await page.locator('input[name="password"]').fill(who.password);
    await page.locator('button[type="submit"]').click();
    await page.locator(".conn.online").waitFor({ timeout: 15000 });
    return { context, page };
  };
  const { context: agentContext, page: ana } = await signIn(ANA);
  const { context: boContext, page: bo } = await signIn(BO);
  await ana.locator("button.conv", { hasText: "Rita" }).click();
  await ana.locator('select[name="account-manager"]').selectOption({ label: BO.name });
  await ana.waitForFunction((name) => {
    const s = document.querySelector('select[name="account-manager"]');
    return s && s.options[s.selectedIndex].textContent === name;
  }, BO.name);
  await ana.locator('textarea[name="reply"]').fill("Fixed, sorry about that.");
  await ana.locator('textarea[name="reply"]').press("Enter");
  await ana.locator('.msg[data-author="agent"][data-state="sent"]').waitFor();
  await chat.locator(".fd-msg", { hasText: "Fixed, sorry about that." }).waitFor();
  await ana.locator("button.resolve", { hasText: "Resolve" }).click();

  // Rita rates 1.
  await chat.locator(".fd-rate").waitFor();
  await chat.locator('button.fd-star[aria-label="1 / 5"]').click();
  await chat.locator('.fd-rate textarea').fill("Took far too long");
  await chat.locator('.fd-rate button[type="submit"]').click();

  // The note, in Bo's name, live in the consoles (Bo's too).
  const note = ana.locator(".msg.note", { hasText: "Rated 1/5 by Rita: call them back." });
  await note.waitFor({ timeout: 15000 });
  assert.match(await note.innerText(), /Low rating: the account manager follows up/);
  assert.match(await note.innerText(), /Bo Lima/);
  // Resolved: in Bo's Resolved view.
  await bo.locator('[data-view="resolved"]').click();
  await bo.locator("button.conv", { hasText: "Rita" }).click();
  await bo.locator(".msg.note", { hasText: "Rated 1/5 by Rita: call them back." }).waitFor();
  await screenshot(bo, "rule-low-rating-note");

  // The email to Bo.
  const [mail] = await waitFor("the email to the account manager", () => mails().length && mails());
  assert.match(mail, /^To: bo@brightbill\.test/m);
  assert.match(mail, /^Subject: Low rating from Rita/m);
  assert.match(mail, /Rita rated conversation #\d+ 1\/5: Took far too long/);

  // The CRM's webhook, signed and verified, with the rating.
  const [hook] = await waitFor("the csat.low webhook", () => hooks().length && hooks());
  assert.equal(hook.verified, true);
  assert.equal(hook.status, 204);
  assert.equal(hook.payload.type, "csat.low");
  assert.equal(hook.payload.data.csat.rating, 1);
  assert.equal(hook.payload.data.csat.comment, "Took far too long");
  assert.ok(hook.id.startsWith("msg_"), hook.id);

  // Once: no second note, email or webhook.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await ana.locator(".msg.note").count(), 1);
  assert.equal(mails().length, 1);
  assert.equal(hooks().length, 1);
  assert.deepEqual(errors, []);
  await agentContext.close();
  await boContext.close();
  await context.close();
});
