// The agent side end to end: two agents in two browser contexts and three customers. Round-robin
// assignment, a private note that never reaches the customer (page or socket), a canned response
// with a variable, a transfer, an SLA countdown and breach under a shortened policy, an agent
// going offline with its conversations reassigned, and the keyboard-only core loop.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addAgent, launchBrowser, removeData, screenshot, startServer, stopServer, tempData } from "./harness.mjs";

const AGENTS = {
  ana: { email: "ana@brightbill.test", password: "ana's long password", name: "Ana" },
  bo: { email: "bo@brightbill.test", password: "bo's long password", name: "Bo", teams: ["billing"] },
};
const NOTE = "VIP customer: refund without asking";
let data, configDir, server, browser;

before(async () => {
  data = tempData();
  configDir = mkdtempSync(join(tmpdir(), "frontdesk-config-"));
  const config = join(configDir, "frontdesk.toml");
  writeFileSync(config, `
[sla]
# Urgent conversations must get a first reply within 3 seconds (shortened for the test).
first_response_minutes = { urgent = 0.05, high = 60, normal = 60, low = 240 }
check_seconds = 0.5

[routing]
reassign_after_seconds = 1

[[canned]]
shortcut = "refund"
title = "Refund done"
body = "Hi {{name}}, I have refunded your payment. {{agent}}"
`);
  for (const a of Object.values(AGENTS)) addAgent(data, a.email, a.password, a.name, { teams: a.teams });
  server = await startServer(data, "127.0.0.1:0", ["--config", config]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server) await stopServer(server);
  removeData(data);
  removeData(configDir);
});

async function signIn(who) {
  const context = await browser.newContext();
  const page = await context.newPage();
  if (process.env.DEBUG_WS) page.on("websocket", (ws) => {
    ws.on("framesent", (f) => console.log(who, "SENT", String(f.payload).slice(0, 160)));
    ws.on("framereceived", (f) => { if (!String(f.payload).includes('"agents"')) console.log(who, "RECV", String(f.payload).slice(0, 160)); });
  });
  await page.goto(`${server.base}/console`);
  await page.locator('input[name="email"]').fill(AGENTS[who].email);
  await page.locator('input[name="password"]').fill(AGENTS[who].password);
  await page.locator('button[type="submit"]').click();
  await page.locator(".conn.online").waitFor({ timeout: 15000 });
  return { context, page };
}

async function customer(name, text, details = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const frames = [];
  page.on("websocket", (ws) => ws.on("framereceived", (f) => frames.push(String(f.payload))));
  await page.goto(`${server.base}/demo`);
  await page.evaluate(([n, d]) => window.Frontdesk("identify", { name: n, ...d }), [name, details]);
  await page.locator("button.fd-launcher").click();
  const chat = page.frameLocator('iframe[title="Frontdesk chat"]');
  await chat.locator(".fd-conn.online").waitFor({ timeout: 15000 });
  await chat.locator("button.fd-start").click();
  await chat.locator('textarea[name="message"]').fill(text);
  await chat.locator('textarea[name="message"]').press("Enter");
  await chat.locator('.fd-msg[data-state="sent"]').waitFor();
  return { context, page, chat, frames };
}

const conv = (page, text) => page.locator("button.conv", { hasText: text });

test("two agents, three customers: routing, notes, canned, transfer, SLA, offline, keyboard", async () => {
  const ana = await signIn("ana");
  const bo = await signIn("bo");

  const rita = await customer("Rita", "My invoice shows the wrong total", { email: "rita@shop.test", plan: "pro" });
  await conv(ana.page, "Rita").waitFor();
  const sam = await customer("Sam", "Cannot add a team member");
  await conv(ana.page, "Sam").waitFor();
  const kim = await customer("Kim", "How do I export my data");
  await conv(ana.page, "Kim").waitFor();

  // Round-robin: consecutive conversations go to different agents, the third back to the first.
  const owner = async (text) => (await conv(ana.page, text).locator(".conv-assignee").innerText()).trim();
  const owners = [await owner("Rita"), await owner("Sam"), await owner("Kim")];
  assert.notEqual(owners[0], owners[1], owners.join(","));
  assert.equal(owners[0], owners[2], owners.join(","));
  assert.ok(owners.every((o) => o === "Ana" || o === "Bo"), owners.join(","));

  // The contact beside the conversation: custom attributes from the site, an account manager.
  await conv(ana.page, "Rita").click();
  await ana.page.locator(".profile .attr-name", { hasText: "plan" }).waitFor();
  assert.equal((await ana.page.locator(".profile .attr-value").first().innerText()).trim(), "pro");
  await ana.page.locator(".profile .unverified").waitFor(); // no signed user id
  await ana.page.locator('select[name="account-manager"]').selectOption({ label: "Ana" });
  await ana.page.waitForFunction(() => {
    const s = document.querySelector('select[name="account-manager"]');
    return s && s.options[s.selectedIndex].textContent === "Ana";
  });

  // A private note: Bo sees it, Rita never does (not on the page, not in any socket frame).
  await ana.page.locator("button.mode-note").click();
  await ana.page.locator('textarea[name="reply"]').fill(NOTE);
  await ana.page.locator('textarea[name="reply"]').press("Enter");
  await ana.page.locator(".msg.note", { hasText: NOTE }).waitFor();
  await conv(bo.page, "Rita").click();
  await bo.page.locator(".msg.note", { hasText: NOTE }).waitFor();

  // A canned response with the customer's name filled in.
  await ana.page.locator("button.mode-reply").click();
  await ana.page.locator('textarea[name="reply"]').fill("/refund");
  await ana.page.locator('textarea[name="reply"]').press("Enter"); // expands
  assert.equal(await ana.page.locator('textarea[name="reply"]').inputValue(), "Hi Rita, I have refunded your payment. Ana");
  await ana.page.locator('textarea[name="reply"]').press("Enter"); // sends
  await rita.chat.locator(".fd-msg", { hasText: "Hi Rita, I have refunded your payment." }).waitFor();
  assert.equal(await rita.chat.locator(`text=${NOTE}`).count(), 0);
  assert.ok(!rita.frames.some((f) => f.includes("VIP customer")), "the note never reached the widget");
  await screenshot(ana.page, "console-note-canned");

  // Full-text search over messages and private notes.
  // Indexing is committed once a second: search again until the note is searchable.
  const result = ana.page.locator(".results button.conv", { hasText: "Rita" });
  for (let i = 0; i < 10 && !(await result.count()); i++) {
    await ana.page.locator('input[name="search"]').fill("");
    await ana.page.locator('input[name="search"]').fill("VIP refund");
    await result.waitFor({ timeout: 1000 }).catch(() => {});
  }
  await result.waitFor();
  await ana.page.locator('input[name="search"]').fill("");
  await conv(ana.page, "Rita").click();

  // A knowledge-base link found with the server's search, inserted into the reply.
  await ana.page.locator('textarea[name="reply"]').fill("/kb export data");
  await ana.page.locator('textarea[name="reply"]').press("Enter");
  await ana.page.waitForFunction(() => document.querySelector('textarea[name="reply"]').value.startsWith("["));
  assert.match(await ana.page.locator('textarea[name="reply"]').inputValue(), /^\[[^\]]+\]\(https:\/\/help\.brightbill\.example\/en\/export-your-data\)$/);
  await ana.page.locator('textarea[name="reply"]').fill("");

  // Transfer Rita's conversation to Bo.
  await ana.page.locator('select[name="assignee"]').selectOption({ label: "Bo" });
  await bo.page.locator('button.view-tab[data-view="mine"]').click();
  await conv(bo.page, "Rita").waitFor();
  assert.equal((await conv(ana.page, "Rita").locator(".conv-assignee").innerText()).trim(), "Bo");

  // Labels: added with Enter, shown on the inbox item for every agent, and a filter.
  await ana.page.locator('input[name="label"]').fill("Refund ");
  await ana.page.locator('input[name="label"]').press("Enter");
  await conv(bo.page, "Rita").locator(".chip.label", { hasText: "refund" }).waitFor();
  await ana.page.locator('select[name="label-filter"]').selectOption("refund");
  await ana.page.waitForFunction(() => document.querySelectorAll("nav.inbox > ul button.conv").length === 1);
  await ana.page.locator('select[name="label-filter"]').selectOption("");

  // A transfer to a team: Kim's conversation goes to the billing team's only member, Bo.
  await conv(ana.page, "Kim").click();
  await ana.page.locator('select[name="team"]').selectOption("billing");
  await conv(ana.page, "Kim").locator(".chip.team", { hasText: "billing" }).waitFor();
  await ana.page.waitForFunction(() => [...document.querySelectorAll("button.conv")]
    .some((b) => b.textContent.includes("Kim") && b.querySelector(".conv-assignee").textContent.trim() === "Bo"));
  await screenshot(ana.page, "console-labels-team");
  await ana.page.locator('select[name="team"]').selectOption(""); // back to anyone (stays with Bo)
  await conv(ana.page, "Kim").locator(".chip.team").waitFor({ state: "detached" });

  // SLA: Sam's conversation becomes urgent (3 s to first reply), counts down, then breaches.
  await conv(ana.page, "Sam").click();
  await ana.page.locator('select[name="priority"]').selectOption("urgent");
  await conv(ana.page, "Sam").locator(".sla").waitFor();
  // Overdue on screen, and recorded as a breach by the server (the badge says when).
  await conv(ana.page, "Sam").locator('.sla.breached[title*="recorded"]').waitFor({ timeout: 10000 });
  await screenshot(ana.page, "console-sla-breach");

  // Bo goes offline: his open conversations come to Ana, the only agent online.
  await bo.context.close();
  await ana.page.waitForFunction(() =>
    [...document.querySelectorAll("button.conv .conv-assignee")].every((e) => e.textContent.trim() === "Ana"),
    null, { timeout: 15000 });

  // Keyboard only: next conversation, reply, resolve.
  await ana.page.locator("body").click({ position: { x: 5, y: 5 } });
  await ana.page.keyboard.press("Escape");
  await ana.page.keyboard.press("3"); // All open
  await ana.page.keyboard.press("j");
  await ana.page.keyboard.press("j");
  await ana.page.locator("button.conv.selected").waitFor();
  const selected = await ana.page.locator("button.conv.selected .conv-preview").innerText();
  await ana.page.keyboard.press("r");
  await ana.page.locator('textarea[name="reply"]:focus').waitFor();
  await ana.page.keyboard.type("Answered with the keyboard only");
  await ana.page.keyboard.press("Enter");
  await ana.page.locator('.msg[data-author="agent"][data-state="sent"]', { hasText: "keyboard only" }).waitFor();
  await ana.page.keyboard.press("Escape");
  await ana.page.keyboard.press("e");
  const resolvedCustomer = [rita, sam, kim].find(() => true);
  await ana.page.locator('button.view-tab[data-view="resolved"]').click();
  await ana.page.locator("button.conv", { hasText: "keyboard only" }).waitFor();
  assert.ok(selected.length > 0 && resolvedCustomer);

  for (const c of [rita, sam, kim]) await c.context.close();
  await ana.context.close();
});

test("an admin adds and disables an agent from the console; the disabled console signs out", async () => {
  addAgent(data, "ada@brightbill.test", "ada's long password", "Ada", { admin: true });
  AGENTS.ada = { email: "ada@brightbill.test", password: "ada's long password", name: "Ada" };
  const ada = await signIn("ada");
  await ada.page.locator("button.admin-toggle").click();
  await ada.page.locator(".admin tr", { hasText: "ana@brightbill.test" }).waitFor();
  await ada.page.locator('input[name="new-email"]').fill("dee@brightbill.test");
  await ada.page.locator('input[name="new-name"]').fill("Dee");
  await ada.page.locator('input[name="new-password"]').fill("dee's long password");
  await ada.page.locator(".add-agent button[type=submit]").click();
  await ada.page.locator(".admin tr", { hasText: "dee@brightbill.test" }).waitFor();
  // Routing skills from the same page: saved when the field is left, shown normalized.
  const deeRow = ada.page.locator(".admin tr", { hasText: "dee@brightbill.test" });
  await deeRow.locator('input[name="teams"]').fill(" VIP , Billing");
  await deeRow.locator('input[name="teams"]').press("Tab");
  await deeRow.locator('input[name="languages"]').fill("pt-BR, en");
  await deeRow.locator('input[name="languages"]').press("Tab");
  await ada.page.waitForFunction(() => {
    const row = [...document.querySelectorAll(".admin tr")].find((r) => r.textContent.includes("dee@brightbill.test"));
    return row && row.querySelector('input[name="teams"]').value === "vip, billing"
      && row.querySelector('input[name="languages"]').value === "pt, en";
  });

  AGENTS.dee = { email: "dee@brightbill.test", password: "dee's long password", name: "Dee" };
  const dee = await signIn("dee");
  await ada.page.locator(".admin tr", { hasText: "dee@brightbill.test" }).locator("button.toggle-account").click();
  await dee.page.locator('input[name="email"]').waitFor({ timeout: 10000 }); // signed out live
  await dee.page.locator('[role="alert"]', { hasText: "signed out" }).waitFor();
  await dee.page.locator('input[name="email"]').fill(AGENTS.dee.email);
  await dee.page.locator('input[name="password"]').fill(AGENTS.dee.password);
  await dee.page.locator('button[type="submit"]').click();
  await dee.page.locator('[role="alert"]', { hasText: "wrong" }).waitFor();
  await screenshot(ada.page, "console-admin");
  await dee.context.close();
  await ada.context.close();
});

