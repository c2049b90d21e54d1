// Several nodes for the browser tests: the tests' PostgreSQL and Redis (`cargo xtask test` or
// `cargo xtask services` export their URLs), a fresh database per test, and Debian's nginx run
// from the README's two-node configuration (the block between the `nginx-two-nodes` markers), so
// the configuration the README ships is the one tested.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const README = join(here, "../../README.md");
/** The response header the tests' nginx adds: which node(s) it tried, the serving one last. */
export const UPSTREAM_HEADER = "x-frontdesk-upstream";

/** The services' URLs and nginx, or `{ skip }` with the reason when a variable is missing (an
 * error instead under FRONTDESK_REQUIRE_SERVICES=1, as `cargo xtask test` sets). */
export function services() {
  const names = ["FRONTDESK_TEST_DATABASE_URL", "FRONTDESK_TEST_REDIS_URL", "FRONTDESK_TEST_NGINX"];
  const missing = names.filter((n) => !process.env[n]);
  if (missing.length) {
    const why = `${missing.join(", ")} not set (cargo xtask test sets them)`;
    if (process.env.FRONTDESK_REQUIRE_SERVICES === "1") throw new Error(why);
    return { skip: why };
  }
  return {
    database: process.env.FRONTDESK_TEST_DATABASE_URL,
    redis: process.env.FRONTDESK_TEST_REDIS_URL,
    nginx: process.env.FRONTDESK_TEST_NGINX,
  };
}

/** Debian's psql: on PATH, or in the newest /usr/lib/postgresql/N/bin. */
function psql() {
  const onPath = (process.env.PATH || "").split(":").map((d) => join(d, "psql")).find(existsSync);
  if (onPath) return onPath;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)) : [];
  const found = versions.sort((a, b) => b - a).map((v) => join(root, v, "bin/psql")).find(existsSync);
  if (!found) throw new Error("psql not found (Debian package postgresql-client)");
  return found;
}

/** Creates an empty database on the server of `url` (its role may create databases) and
 * returns its URL. */
export function freshDatabase(url, name) {
  const db = `fd_${name}_${process.pid}_${Date.now() % 1e9}`;
  const r = spawnSync(psql(), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", `CREATE DATABASE ${db}`, url], {
    encoding: "utf8",
    env: { ...process.env, PGCONNECT_TIMEOUT: "10" },
  });
  if (r.status !== 0) throw new Error(`CREATE DATABASE failed: ${r.stderr}`);
  return `${url.slice(0, url.lastIndexOf("/"))}/${db}`;
}

/** A port free on 127.0.0.1 when asked. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The README's nginx block, as shipped. */
export function readmeNginx() {
  const text = readFileSync(README, "utf8");
  const m = text.match(/<!-- nginx-two-nodes:begin -->\n```nginx\n([\s\S]*?)```\n<!-- nginx-two-nodes:end -->/);
  if (!m) throw new Error("README.md has no nginx block between the nginx-two-nodes markers");
  return m[1];
}

function replaceOnce(text, from, to) {
  const n = text.split(from).length - 1;
  if (n !== 1) throw new Error(`the README's nginx block should have ${JSON.stringify(from)} once, has it ${n} times`);
  return text.replace(from, () => to);
}

/** The README's block for this machine: the two nodes' addresses instead of the examples, plain
 * HTTP on `port` instead of TLS (the certificate lines dropped), inside a main configuration
 * whose files all live in `dir` (no root needed), with an access log of which node served each
 * request and the same in a response header (`x-frontdesk-upstream`, readable while a WebSocket
 * is still open: the access log is written when it closes). */
export function nginxConfig({ dir, port, nodes }) {
  let block = readmeNginx();
  block = replaceOnce(block, "10.0.0.11:8080", nodes[0]);
  block = replaceOnce(block, "10.0.0.12:8080", nodes[1]);
  block = replaceOnce(block, "listen 443 ssl;", `listen 127.0.0.1:${port};`);
  const lines = block.split("\n");
  const tls = lines.filter((l) => /^\s*ssl_certificate(_key)?\s/.test(l));
  if (tls.length !== 2) throw new Error(`expected 2 certificate lines in the README's nginx block, found ${tls.length}`);
  block = lines.filter((l) => !tls.includes(l)).join("\n");
  return `# Test-only main configuration around the README's block.
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 1024; }
http {
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    log_format upstreams '$request_uri|$upstream_addr|$status';
    access_log ${dir}/access.log upstreams;
    add_header X-Frontdesk-Upstream $upstream_addr always;

    # ---- README.md, nginx-two-nodes ----
${block}
}
`;
}

function accepts(port) {
  return new Promise((resolve) => {
    const c = createConnection({ host: "127.0.0.1", port });
    c.on("connect", () => { c.destroy(); resolve(true); });
    c.on("error", () => resolve(false));
  });
}

/** Starts nginx (in the foreground, its own process group) with `nginxConfig(...)`; resolves
 * once it accepts on `port`. */
export async function startNginx(bin, { dir, port, nodes }) {
  chmodSync(dir, 0o755); // run as root, nginx's workers (nobody) use the temp folders inside
  const conf = join(dir, "nginx.conf");
  writeFileSync(conf, nginxConfig({ dir, port, nodes }));
  const child = spawn(bin, ["-p", dir, "-c", conf, "-e", join(dir, "error.log"), "-g", "daemon off;"], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  let err = "";
  child.stderr.on("data", (d) => { err += d; });
  const deadline = Date.now() + 10000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${err}${log(dir, "error.log")}`);
    if (Date.now() > deadline) throw new Error(`nginx did not accept on ${port}: ${log(dir, "error.log")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    base: `http://127.0.0.1:${port}`,
    /** `{ uri, upstream, status }` for each finished request, oldest first. */
    accessLog: () => log(dir, "access.log").split("\n").filter(Boolean).map((l) => {
      const [uri, upstream, status] = l.split("|");
      return { uri, upstream, status: Number(status) };
    }),
  };
}

function log(dir, name) {
  try { return readFileSync(join(dir, name), "utf8"); } catch { return ""; }
}

/** Stops nginx (and its workers: the whole group) and waits. */
export function stopNginx(nginx) {
  return new Promise((resolve) => {
    if (!nginx || nginx.child.exitCode !== null || nginx.child.signalCode) return resolve();
    nginx.child.on("exit", () => resolve());
    try { process.kill(-nginx.child.pid, "SIGTERM"); } catch { return resolve(); }
    setTimeout(() => { try { process.kill(-nginx.child.pid, "SIGKILL"); } catch { /* gone */ } }, 5000).unref();
  });
}

/** The node that served a response, from `x-frontdesk-upstream` ("a:1, b:2": tried a, then b). */
export function servedBy(upstreamHeader) {
  return upstreamHeader?.split(",").pop().trim();
}

/** Follows a page's WebSockets (its same-origin frames included) over CDP: for each, its URL and
 * the node nginx sent it to (the handshake's `x-frontdesk-upstream`), and whether it closed. */
export async function watchSockets(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const sockets = new Map();
  cdp.on("Network.webSocketCreated", ({ requestId, url }) => sockets.set(requestId, { url, node: null, closed: false }));
  cdp.on("Network.webSocketHandshakeResponseReceived", ({ requestId, response }) => {
    const s = sockets.get(requestId);
    const header = Object.entries(response.headers).find(([k]) => k.toLowerCase() === UPSTREAM_HEADER);
    if (s) s.node = servedBy(header?.[1]);
  });
  cdp.on("Network.webSocketClosed", ({ requestId }) => {
    const s = sockets.get(requestId);
    if (s) s.closed = true;
  });
  return {
    /** The node of the newest open socket whose path is `path`, once its handshake is done. */
    async nodeOf(path, timeout = 15000) {
      const deadline = Date.now() + timeout;
      for (;;) {
        const open = [...sockets.values()].filter((s) => !s.closed && s.node && new URL(s.url).pathname === path);
        if (open.length) return open.at(-1).node;
        if (Date.now() > deadline) throw new Error(`no open socket on ${path}: ${JSON.stringify([...sockets.values()])}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
