// Two nodes behind nginx, in the browser: two `frontdesk serve` processes on one PostgreSQL
// database and one Redis, behind nginx started from the README's two-node configuration. The
// agent's console is on one node (B), the customer's widget on the other (A): which node each
// WebSocket landed on is read from the handshake (the header the tests' nginx adds) and checked
// against nginx's access log at the end. Across the two nodes: presence (the widget on A knows
// the only agent, connected to B, is online, and learns when it leaves), routing (the
// conversation started on A is assigned to the agent on B), messages both ways, typing both ways
// and read receipts both ways.
//
// Needs FRONTDESK_TEST_DATABASE_URL, FRONTDESK_TEST_REDIS_URL and FRONTDESK_TEST_NGINX
// (`cargo xtask test`, or `cargo xtask services` for a run by hand); skipped without them,
// failing instead under FRONTDESK_REQUIRE_SERVICES=1.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import {
  addAgent, launchBrowser, removeData, screenshot, startServer, stopServer, tempData, watchErrors,
} from "./harness.mjs";
import { freePort, freshDatabase, services, startNginx, stopNginx, servedBy, watchSockets } from "./cluster.mjs";

const AGENT = { email: "ana@brightbill.test", password: "correct horse battery", name: "Ana Souza" };
const QUESTION = "Hello from node A: is my invoice paid?";
const REPLY = "Hi from node B: yes, paid yesterday.";
const ATTEMPTS = 12; // page loads to get the widget's socket onto the node without the console

const svc = services();
let database, nginxDir, nginx, browser;
const datas = [];
const nodes = [];

before(async () => {
  if (svc.skip) return;
  database = freshDatabase(svc.database, "e2e_nodes");
  addAgent(null, AGENT.email, AGENT.password, AGENT.name, { database });
  nginxDir = tempData();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // As the README says for nodes behind a proxy: the public origin and the proxy's address.
  const extra = ["--database", database, "--redis", svc.redis, "--public-url", base, "--trusted-proxies", "127.0.0.1/32"];
  for (let i = 0; i < 2; i++) {
    datas.push(tempData());
    nodes.push(await startServer(datas[i], "127.0.0.1:0", extra));
  }
  for (const node of nodes) await ready(node);
  nginx = await startNginx(svc.nginx, { dir: nginxDir, port, nodes: nodes.map((n) => `127.0.0.1:${n.port}`) });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stopNginx(nginx);
  for (const node of nodes) await stopServer(node);
  for (const dir of [...datas, nginxDir]) if (dir) removeData(dir);
});

/** Waits for the node's /readyz (database, and its own canary back through Redis). */
async function ready(node) {
  const deadline = Date.now() + 20000;
  for (;;) {
    const status = await fetch(`${node.base}/readyz`).then((r) => r.status, () => 0);
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${node.base}/readyz answers ${status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every JSON frame the page's sockets receive (its frames' included). */
function recordFrames(page) {
  const frames = [];
  page.on("websocket", (ws) => ws.on("framereceived", (f) => {
    try { frames.push(JSON.parse(String(f.payload))); } catch { /* not JSON */ }
  }));
  return frames;
}

async function until(what, predicate, timeout = 10000) {
  const deadline = Date.now() + timeout;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("two nodes behind the README's nginx: presence, routing, messages, typing and read receipts cross nodes",
  { skip: svc.skip ?? false }, async () => {
    const nodeName = (addr) => (addr === `127.0.0.1:${nodes[0].port}` ? "node 1" : addr === `127.0.0.1:${nodes[1].port}` ? "node 2" : addr);

    // The agent signs in on the console, through nginx: its socket is on node B.
    const agentContext = await browser.newContext();
    const agent = await agentContext.newPage();
    const agentErrors = watchErrors(agent);
    const agentFrames = recordFrames(agent);
    const agentSockets = await watchSockets(agent);
    await agent.goto(`${nginx.base}/console`);
    await agent.locator('input[name="email"]').fill(AGENT.email);
    await agent.locator('input[name="password"]').fill(AGENT.password);
    await agent.locator('button[type="submit"]').click();
    await agent.locator(".conn.online").waitFor({ timeout: 15000 });
    const nodeB = await agentSockets.nodeOf("/ws/agent");

    // The customer opens the widget on the demo page, through nginx. Round robin alternates, so
    // a reload or two brings its socket onto the other node, A (before it has a conversation; the
    // agent never connected to A: whatever A knows of the agent came from B).
    const customerContext = await browser.newContext();
    const customer = await customerContext.newPage();
    const customerErrors = watchErrors(customer);
    const customerFrames = recordFrames(customer);
    const customerSockets = await watchSockets(customer);
    const chat = customer.frameLocator('iframe[title="Frontdesk chat"]');
    let nodeA, attempt = 1;
    for (; ; attempt++) {
      await customer.goto(`${nginx.base}/demo`);
      await customer.locator("button.fd-launcher").click();
      await chat.locator(".fd-conn.online").waitFor({ timeout: 15000 });
      nodeA = await customerSockets.nodeOf("/ws/visitor");
      if (nodeA !== nodeB) break;
      assert.ok(attempt < ATTEMPTS, `the widget's socket stayed on ${nodeName(nodeB)} after ${ATTEMPTS} page loads`);
      // A page load makes the same requests each time: one more moves the round robin along.
      await fetch(`${nginx.base}/healthz`);
    }
    console.log(`console on ${nodeName(nodeB)}, widget on ${nodeName(nodeA)} (page load ${attempt})`);
    const widgetFrame = customer.frames().find((f) => f.url().includes("/frame/widget"));
    assert.ok(widgetFrame, "the widget's frame");

    // Presence across nodes: the widget on A is told someone answers (in its welcome, or once A
    // hears B's next announcement, within a second) and shows no "we're away" banner.
    const availability = () => {
      const f = customerFrames.findLast((f) => f.type === "welcome" || f.type === "availability");
      return f?.type === "welcome" ? f.availability : f;
    };
    await until("the widget on A told the agent on B is online", () => availability()?.agents_online === true, 5000);
    await chat.locator("button.fd-start").click();
    await chat.locator('textarea[name="message"]').waitFor();
    assert.equal(await chat.locator(".fd-away").count(), 0, "no away banner while the agent on B is online");

    // A message from A, routed on A to the agent on B, who sees it live.
    await chat.locator('textarea[name="message"]').fill(QUESTION);
    await chat.locator('textarea[name="message"]').press("Enter");
    await chat.locator('.fd-msg[data-author="visitor"][data-state="sent"]', { hasText: QUESTION }).waitFor();
    const conversation = customerFrames.find((f) => f.type === "ack")?.conversation;
    assert.ok(conversation, "the message was acknowledged with its conversation");
    const item = agent.locator("button.conv", { hasText: QUESTION.slice(0, 20) });
    await item.waitFor({ timeout: 10000 });
    await until("the conversation assigned to Ana", async () => (await item.locator(".conv-assignee").innerText()).trim() === AGENT.name);

    // The agent opens it: the message is there, and the customer on A sees it read.
    await item.click();
    await agent.locator('.msg[data-author="visitor"]', { hasText: QUESTION }).waitFor();
    await chat.locator('.fd-msg[data-author="visitor"] .fd-meta', { hasText: "Read" }).waitFor({ timeout: 10000 });

    // Typing from A to B, then from B to A, as people type: the apps say "typing" at the first
    // keystroke and "stopped" when the composer is emptied.
    assert.equal(await agent.locator("p.typing").count(), 0);
    await chat.locator('textarea[name="message"]').pressSequentially("and also", { delay: 20 });
    await agent.locator("p.typing", { hasText: "Customer is typing" }).waitFor({ timeout: 10000 });
    await chat.locator('textarea[name="message"]').fill("");
    await agent.locator("p.typing").waitFor({ state: "detached", timeout: 10000 });
    assert.equal(await chat.locator(".fd-typing").count(), 0);
    await agent.locator('textarea[name="reply"]').pressSequentially("Let me", { delay: 20 });
    await chat.locator(".fd-typing", { hasText: `${AGENT.name} is typing` }).waitFor({ timeout: 10000 });

    // The reply from B reaches A live (and clears the typing line).
    await agent.locator('textarea[name="reply"]').fill(REPLY);
    await agent.locator('textarea[name="reply"]').press("Enter");
    await agent.locator('.msg[data-author="agent"][data-state="sent"]', { hasText: REPLY }).waitFor();
    await chat.locator('.fd-msg[data-author="agent"]', { hasText: REPLY }).waitFor({ timeout: 10000 });
    await chat.locator(".fd-typing").waitFor({ state: "detached" });
    assert.match(await chat.locator('.fd-msg[data-author="agent"] .fd-who').innerText(), /Ana Souza/);

    // The customer's widget read the reply: its read receipt crosses from A to the console on B.
    const replySeq = agentFrames.find((f) => f.type === "ack" && f.conversation === conversation)?.seq;
    assert.ok(replySeq, "the reply was acknowledged");
    await until("the customer's read receipt on the console", () =>
      agentFrames.some((f) => f.type === "read" && f.by === "visitor" && f.conversation === conversation && f.seq >= replySeq));
    await screenshot(customer, "nodes-widget");
    await screenshot(agent, "nodes-console");

    // Still on the nodes found at the start.
    assert.equal(await customerSockets.nodeOf("/ws/visitor"), nodeA);
    assert.equal(await agentSockets.nodeOf("/ws/agent"), nodeB);

    // The agent leaves B: the widget on A learns nobody answers now.
    await agentContext.close();
    await chat.locator(".fd-away").waitFor({ timeout: 10000 });
    await customerContext.close();

    // nginx's access log (written as each socket closed) agrees on where they were served.
    // (One line per widget socket: one per page load.)
    await until("the sockets in nginx's access log", () => {
      const log = nginx.accessLog();
      return log.some((l) => l.uri === "/ws/agent") && log.filter((l) => l.uri.startsWith("/ws/visitor")).length >= attempt;
    });
    const log = nginx.accessLog();
    const agentSocketLog = log.filter((l) => l.uri === "/ws/agent");
    const visitorSocketLog = log.filter((l) => l.uri.startsWith("/ws/visitor"));
    assert.equal(servedBy(agentSocketLog.at(-1).upstream), nodeB, JSON.stringify(agentSocketLog));
    assert.equal(servedBy(visitorSocketLog.at(-1).upstream), nodeA, JSON.stringify(visitorSocketLog));
    assert.ok([...agentSocketLog, ...visitorSocketLog].every((l) => l.status === 101), JSON.stringify(log));
    assert.ok(new Set(log.map((l) => servedBy(l.upstream))).size === 2, "nginx used both nodes");

    assert.deepEqual(customerErrors, []);
    assert.deepEqual(agentErrors, []);
  });
