// A customer's data from the console: an agent downloads the contact's export, an admin deletes
// the contact; the conversation leaves both consoles, the customer's widget starts afresh, and
// the server has nothing of it left (API, search).
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { addAgent, launchBrowser, removeData, screenshot, startServer, stopServer, tempData, watchErrors } from "./harness.mjs";

const ADMIN = { email: "dpo@brightbill.test", password: "dpo's long password", name: "Dora" };
const AGENT = { email: "eli@brightbill.test", password: "eli's long password", name: "Eli" };
let data, server, browser;

before(async () => {
  data = tempData();
  addAgent(data, ADMIN.email, ADMIN.password, ADMIN.name, { admin: true });
  addAgent(data, AGENT.email, AGENT.password, AGENT.name);
  server = await startServer(data);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server) await stopServer(server);
  removeData(data);
});

async function signIn(who) {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  watchErrors(page);
  await page.goto(`${server.base}/console`);
  await page.locator('input[name="email"]').fill(who.email);
  await page.locator('input[name="password"]').fill(who.password);
  await page.locator('button[type="submit"]').click();
  await page.locator(".conn.online").waitFor({ timeout: 15000 });
  return { context, page };
}

test("an agent downloads a contact's data, an admin deletes it everywhere", async () => {
  const dora = await signIn(ADMIN);
  const eli = await signIn(AGENT);

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/demo`);
  await page.evaluate(() => window.Frontdesk("identify", { name: "Greta Gdpr", email: "greta@shop.test" }));
  await page.locator("button.fd-launcher").click();
  const chat = page.frameLocator('iframe[title="Frontdesk chat"]');
  await chat.locator(".fd-conn.online").waitFor({ timeout: 15000 });
  await chat.locator("button.fd-start").click();
  await chat.locator('textarea[name="message"]').fill("gretasecret: please delete my account");
  await chat.locator('textarea[name="message"]').press("Enter");
  await chat.locator('.fd-msg[data-state="sent"]').waitFor();

  const conv = (p) => p.locator("button.conv", { hasText: "Greta" });
  await conv(eli.page).waitFor();
  await conv(dora.page).waitFor();

  // The agent (not an admin) can download, not delete.
  await conv(eli.page).click();
  await eli.page.locator(".profile a.export").waitFor();
  assert.equal(await eli.page.locator(".profile button.erase").count(), 0, "only admins delete");
  const [download] = await Promise.all([
    eli.page.waitForEvent("download"),
    eli.page.locator(".profile a.export").click(),
  ]);
  const exported = JSON.parse(readFileSync(await download.path(), "utf8"));
  assert.equal(exported.format, "frontdesk.contact-export.v1");
  assert.equal(exported.contact.name, "Greta Gdpr");
  assert.equal(exported.conversations[0].messages[0].body, "gretasecret: please delete my account");

  // The admin deletes, after confirming.
  await conv(dora.page).click();
  const dialogs = [];
  dora.page.on("dialog", (d) => { dialogs.push(d.message()); d.accept(); });
  await dora.page.locator(".profile button.erase").click();
  await dora.page.locator(".notice", { hasText: "all its data were deleted" }).waitFor();
  assert.match(dialogs[0], /cannot be undone/);
  await conv(dora.page).waitFor({ state: "detached" });
  await conv(eli.page).waitFor({ state: "detached" });
  await screenshot(dora.page, "privacy-erased");

  // Nothing left behind the API or the agents' search.
  const cookies = await dora.context.cookies();
  const cookie = cookies.map((c) => `${c.name}=${c.value}`).join("; ");
  const hits = await (await fetch(`${server.base}/api/conversations/search?q=gretasecret`, { headers: { cookie } })).json();
  assert.deepEqual(hits, []);
  const exportAgain = await fetch(`${server.base}/api/contacts/${exported.contact.id}/export`, { headers: { cookie } });
  assert.equal(exportAgain.status, 404);

  // The customer's widget reconnects as a new visitor and can start again.
  await chat.locator(".fd-conn.online").waitFor({ timeout: 15000 });
  await context.close();
  await dora.context.close();
  await eli.context.close();
});
