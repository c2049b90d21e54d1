// The Reports page end to end, against the real reports API: three customers over the real
// widget (one answered, resolved and rated 1; one answered, resolved and rated 5; one left
// unanswered), an admin who answers in the console and then opens Reports. The figures shown are
// the scenario's, a click on a number, a bar or a cell lists exactly the matching conversations,
// the CSV has a header and one row per conversation, a row opens its conversation, and a plain
// agent has no Reports entry (and the API refuses it).
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  BIN, addAgent, launchBrowser, removeData, screenshot, startServer, stopServer, tempData, watchErrors,
} from "./harness.mjs";

const ADMIN = { email: "ada@brightbill.test", password: "ada's long password", name: "Ada" };
const AGENT = { email: "bo@brightbill.test", password: "bo's long password", name: "Bo" };
const LEAD = { email: "lee@brightbill.test", password: "lee's long password", name: "Lee" };
// The viewer's zone: days and hours are counted in it, and the page sends it as `tz`.
const ZONE = "America/Sao_Paulo";
let data, server, browser;

before(async () => {
  data = tempData();
  addAgent(data, ADMIN.email, ADMIN.password, ADMIN.name, { admin: true });
  addAgent(data, AGENT.email, AGENT.password, AGENT.name);
  addAgent(data, LEAD.email, LEAD.password, LEAD.name);
  const lead = spawnSync(BIN, ["agent", "lead", "--data", data, "--email", LEAD.email], { encoding: "utf8" });
  if (lead.status !== 0) throw new Error(`agent lead failed: ${lead.stderr}`);
  server = await startServer(data);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server) await stopServer(server);
  removeData(data);
});

async function signIn(who, options = {}) {
  const context = await browser.newContext({ timezoneId: ZONE, ...options });
  const page = await context.newPage();
  await page.goto(`${server.base}/console`);
  await page.locator('input[name="email"]').fill(who.email);
  await page.locator('input[name="password"]').fill(who.password);
  await page.locator('button[type="submit"]').click();
  await page.locator(".conn.online").waitFor({ timeout: 15000 });
  return { context, page };
}

/** A customer on the demo page who asks `text` in the widget. */
async function customer(name, text) {
  const context = await browser.newContext({ timezoneId: ZONE });
  const page = await context.newPage();
  await page.goto(`${server.base}/demo`);
  await page.evaluate((n) => window.Frontdesk("identify", { name: n }), name);
  await page.locator("button.fd-launcher").click();
  const chat = page.frameLocator('iframe[title="Frontdesk chat"]');
  await chat.locator(".fd-conn.online").waitFor({ timeout: 15000 });
  await chat.locator("button.fd-start").click();
  await chat.locator('textarea[name="message"]').fill(text);
  await chat.locator('textarea[name="message"]').press("Enter");
  await chat.locator('.fd-msg[data-state="sent"]').waitFor();
  return { context, page, chat };
}

/** The agent answers once in the console and resolves; the customer rates `score`. */
async function answerResolveRate(agent, who, score) {
  const conv = agent.locator("button.conv", { hasText: who.name });
  await conv.click();
  await agent.locator('textarea[name="reply"]').fill(`Done for you, ${who.name}.`);
  await agent.locator('textarea[name="reply"]').press("Enter");
  await agent.locator('.msg[data-author="agent"][data-state="sent"]', { hasText: who.name }).waitFor();
  await who.chat.locator(".fd-msg", { hasText: `Done for you, ${who.name}.` }).waitFor();
  await agent.locator("button.resolve", { hasText: "Resolve" }).click();
  await who.chat.locator(".fd-rate").waitFor();
  await who.chat.locator(`button.fd-star[aria-label="${score} / 5"]`).click();
  await who.chat.locator('.fd-rate button[type="submit"]').click();
  // The demo site asks the effort question next (1–7).
  await who.chat.locator("button.fd-ces", { hasText: "6" }).click();
  await who.chat.locator(".fd-glad").waitFor();
  await agent.locator(".ctx-rating", { hasText: `${score}/5` }).waitFor();
}

const figure = (page, name) => page.locator(`.figure[data-figure="${name}"] .figure-value`);

async function waitText(locator, text) {
  await locator.filter({ hasText: text }).first().waitFor({ timeout: 15000 }).catch(async () => {
    assert.fail(`expected "${text}", the page shows "${await locator.first().innerText()}"`);
  });
  assert.equal((await locator.first().innerText()).trim(), text);
}

/** Clicks `target`, waits for the drill-down of `key`, returns the ids it lists (sorted). */
async function drill(page, target, key) {
  // The list opens over the page's end side: its close button closes the previous one.
  if (await page.locator(".drill-panel").count()) {
    await page.locator(".drill-panel button.close").click();
    await page.locator(".drill-panel").waitFor({ state: "detached" });
  }
  await target.click();
  const panel = page.locator(`.drill-panel[data-drill="${key}"]`);
  await panel.locator(".drill-count").waitFor({ timeout: 15000 });
  const ids = await panel.locator("tr.report-row").evaluateAll((rows) => rows.map((r) => Number(r.dataset.id)));
  const count = Number(await panel.locator(".drill-count").getAttribute("data-count"));
  assert.equal(ids.length, count);
  return ids.sort((a, b) => a - b);
}

/** Fetches a CSV link from the page (same origin, the session cookie goes with it). */
async function fetchCsv(page, href) {
  return page.evaluate(async (url) => {
    const r = await fetch(url, { credentials: "same-origin" });
    return {
      status: r.status,
      type: r.headers.get("content-type"),
      disposition: r.headers.get("content-disposition"),
      text: await r.text(),
    };
  }, href);
}

test("reports show the scenario's figures, and every number opens its conversations", async () => {
  const admin = await signIn(ADMIN, { viewport: { width: 1360, height: 1800 } });
  const errors = watchErrors(admin.page);

  const rita = { name: "Rita", ...(await customer("Rita", "My invoice shows the wrong total")) };
  await admin.page.locator("button.conv", { hasText: "Rita" }).waitFor();
  const sam = { name: "Sam", ...(await customer("Sam", "Cannot add a team member")) };
  await admin.page.locator("button.conv", { hasText: "Sam" }).waitFor();
  // Left unanswered; markup in the message must come out as text.
  const kim = { name: "Kim", ...(await customer("Kim", "Where is my order? <b>now</b>")) };
  await admin.page.locator("button.conv", { hasText: "Kim" }).waitFor();
  const idOf = async (name) =>
    Number(await admin.page.locator("button.conv", { hasText: name }).first().getAttribute("data-id"));
  const ids = { rita: await idOf("Rita"), sam: await idOf("Sam"), kim: await idOf("Kim") };

  await answerResolveRate(admin.page, rita, 1);
  await answerResolveRate(admin.page, sam, 5);
  const all = [ids.rita, ids.sam, ids.kim].sort((a, b) => a - b);

  // Reports, from the console's header.
  await admin.page.locator("button.reports-toggle").click();
  const page = admin.page;
  await page.locator(".reports .figures").waitFor({ timeout: 15000 });
  assert.equal(await page.locator(".reports-toolbar .tz").innerText(), ZONE);

  // The figures are the scenario's.
  await waitText(figure(page, "conversations"), "3");
  await waitText(figure(page, "unanswered"), "1");
  await waitText(figure(page, "resolved"), "2");
  await waitText(figure(page, "csat"), "50%"); // one 5 of two ratings
  assert.equal(await page.locator('.figure[data-figure="csat"] .figure-detail').getAttribute("data-ratings"), "2");
  await waitText(figure(page, "one_touch"), "100%"); // both resolved with one reply
  assert.equal((await page.locator('.figure[data-figure="one_touch"] .figure-detail').innerText()).trim(), "2 of 2");
  await waitText(figure(page, "reopen_rate"), "0%");
  await waitText(figure(page, "ces"), "6"); // both answered 6 to the effort question
  assert.notEqual((await figure(page, "first_response").innerText()).trim(), "–");
  // Nothing happened in the previous period.
  assert.match(await page.locator('.figure[data-figure="conversations"] .figure-previous').innerText(), /previous period: 0/);

  // The live overview: Kim's conversation is open and waits for a reply; Ada is online.
  await waitText(page.locator('[data-live="open"]'), "1");
  await waitText(page.locator('[data-live="waiting"]'), "1");
  await waitText(page.locator('[data-live="agents_online"]'), "1");

  // A figure opens exactly its conversations.
  assert.deepEqual(await drill(page, page.locator('.figure[data-figure="conversations"] button.drill'), "created"), all);
  assert.deepEqual(await drill(page, page.locator('.figure[data-figure="unanswered"] button.drill'), "unanswered"), [ids.kim]);
  assert.deepEqual(await drill(page, page.locator('.figure[data-figure="one_touch"] button.drill'), "one_touch"), [ids.rita, ids.sam].sort((a, b) => a - b));
  assert.deepEqual(await drill(page, page.locator('button.drill[data-drill="rating:1"]'), "rating:1"), [ids.rita]);
  assert.deepEqual(await drill(page, page.locator('button.drill[data-drill="rating:5"]'), "rating:5"), [ids.sam]);
  // The durations and the other counts open the conversations they are computed from.
  const replied = [ids.rita, ids.sam].sort((a, b) => a - b);
  for (const key of ["first_response", "first_resolution", "full_resolution"]) {
    assert.deepEqual(await drill(page, page.locator(`.figure[data-figure="${key}"] button.drill`), key), replied, key);
  }
  assert.equal(await page.locator('.figure[data-figure="next_response"] button.drill').count(), 0);
  assert.deepEqual(await drill(page, page.locator('button.drill[data-drill="rated"]'), "rated"), replied);
  assert.deepEqual(await drill(page, page.locator('button.drill[data-drill="handed_off"]'), "handed_off"), all);
  // The customer's markup is text in the preview, never an element.
  assert.deepEqual(await drill(page, page.locator('[data-live="open"]'), "open"), [ids.kim]);
  const preview = page.locator(`.drill-panel tr.report-row[data-id="${ids.kim}"] .preview`);
  assert.match(await preview.innerText(), /<b>now<\/b>/);
  assert.equal(await page.locator(".drill-panel .preview b").count(), 0);

  // Today's bar of the per-day chart (a day in the viewer's zone): three created, two resolved.
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: ZONE }).format(new Date());
  const bar = page.locator(`g.day[data-drill="day:${today}"]`);
  assert.equal(await bar.getAttribute("data-created"), "3");
  assert.equal(await bar.getAttribute("data-resolved"), "2");
  assert.deepEqual(await drill(page, bar, `day:${today}`), all);
  // Every other day of the period is empty.
  const otherDays = await page.locator("g.day").evaluateAll((gs, d) =>
    gs.filter((g) => g.dataset.drill !== `day:${d}`).map((g) => Number(g.dataset.created)), today);
  assert.equal(otherDays.length, 6);
  assert.ok(otherDays.every((n) => n === 0), otherDays.join(","));

  // The heatmap's busy cells hold the three conversations; each lists its own.
  const cells = await page.locator("rect.cell").evaluateAll((rs) =>
    rs.filter((r) => Number(r.dataset.count) > 0).map((r) => [r.dataset.drill, Number(r.dataset.count)]));
  assert.equal(cells.reduce((n, [, c]) => n + c, 0), 3);
  let fromCells = [];
  for (const [key, count] of cells) {
    const listed = await drill(page, page.locator(`rect.cell[data-drill="${key}"]`), key);
    assert.equal(listed.length, count);
    fromCells = fromCells.concat(listed);
  }
  assert.deepEqual(fromCells.sort((a, b) => a - b), all);

  // The first-response histogram holds the two answered conversations.
  const buckets = await page.locator("g.bucket").evaluateAll((gs) =>
    gs.filter((g) => Number(g.dataset.count) > 0).map((g) => [g.dataset.drill, Number(g.dataset.count)]));
  assert.equal(buckets.reduce((n, [, c]) => n + c, 0), 2);
  let answered = [];
  for (const [key, count] of buckets) {
    const listed = await drill(page, page.locator(`g.bucket[data-drill="${key}"]`), key);
    assert.equal(listed.length, count);
    answered = answered.concat(listed);
  }
  assert.deepEqual(answered.sort((a, b) => a - b), [ids.rita, ids.sam].sort((a, b) => a - b));

  // The CSV of the open drill-down and of all conversations: a header, one row per conversation.
  const drillCsv = await fetchCsv(page, await page.locator(".drill-panel a.csv").getAttribute("href"));
  assert.equal(drillCsv.status, 200);
  assert.match(drillCsv.type, /^text\/csv/);
  assert.match(drillCsv.disposition ?? "", /attachment/);
  const lines = (text) => text.split(/\r?\n/).filter((l) => l.length > 0);
  const csvIds = (text) => lines(text).slice(1).map((l) => Number(l.split(",")[0])).sort((a, b) => a - b);
  assert.match(lines(drillCsv.text)[0], /^id,/);
  assert.deepEqual(csvIds(drillCsv.text), answered);
  const allCsv = await fetchCsv(page, await page.locator(".reports-toolbar a.csv-all").getAttribute("href"));
  assert.equal(allCsv.status, 200);
  assert.equal(lines(allCsv.text).length, 1 + 3);
  assert.deepEqual(csvIds(allCsv.text), all);
  assert.ok(!/token|session/i.test(await page.locator(".reports-toolbar a.csv-all").getAttribute("href")));

  // A filter narrows everything: no urgent conversation in the scenario.
  await page.locator('select[name="report-priority"]').selectOption("urgent");
  await waitText(figure(page, "conversations"), "0");
  await page.locator('select[name="report-priority"]').selectOption("");
  await waitText(figure(page, "conversations"), "3");
  // The period picker: this month holds today.
  await page.locator('select[name="report-period"]').selectOption("month");
  await waitText(figure(page, "conversations"), "3");
  await page.locator('select[name="report-period"]').selectOption("7d");
  await waitText(figure(page, "conversations"), "3");

  await page.locator('.figure[data-figure="conversations"] button.drill').click();
  await page.locator('.drill-panel[data-drill="created"] .drill-count').waitFor();
  await screenshot(page, "reports-drill");
  // The list takes the focus (its close button); Escape closes it.
  assert.equal(await page.evaluate(() => document.activeElement?.className), "close");
  await page.keyboard.press("Escape");
  await page.locator(".drill-panel").waitFor({ state: "detached", timeout: 5000 });
  await page.locator(".lists").waitFor();
  await screenshot(page, "reports-page");

  // A row opens its conversation in the console.
  await drill(page, page.locator('.figure[data-figure="unanswered"] button.drill'), "unanswered");
  await page.locator(`.drill-panel tr.report-row[data-id="${ids.kim}"] button.open-conversation`).click();
  await page.locator(".thread-head h2", { hasText: `Conversation #${ids.kim}` }).waitFor();
  await page.locator(".msg", { hasText: "Where is my order?" }).waitFor();
  assert.equal(await page.locator(".reports").count(), 0);

  assert.deepEqual(errors, []);
  for (const c of [rita, sam, kim]) await c.context.close();
  await admin.context.close();
});

test("a lead sees Reports; a plain agent has no Reports entry, and the reports API refuses it", async () => {
  const lee = await signIn(LEAD);
  await lee.page.locator("button.reports-toggle").click();
  await waitText(figure(lee.page, "conversations"), "3");
  await lee.context.close();

  const bo = await signIn(AGENT);
  await bo.page.locator("button.link", { hasText: "Sign out" }).first().waitFor();
  assert.equal(await bo.page.locator("button.reports-toggle").count(), 0);
  for (const path of ["/api/reports?since=0&until=1&tz=UTC", "/api/reports/live", "/api/reports/conversations?since=0&until=1&tz=UTC&drill=created&limit=5", "/api/reports/conversations.csv?since=0&until=1&tz=UTC&drill=created"]) {
    const status = await bo.page.evaluate(async (p) => (await fetch(p)).status, path);
    assert.equal(status, 403, path);
  }
  await bo.context.close();
});
