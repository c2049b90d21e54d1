// Test harness: starts the real `frontdesk` binary on 127.0.0.1 and Debian's headless Chromium.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.FRONTDESK_BIN || join(here, "../../target/debug/frontdesk");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
export const ARTIFACTS = process.env.FRONTDESK_ARTIFACTS || join(here, "artifacts");

export function tempData() {
  return mkdtempSync(join(tmpdir(), "frontdesk-e2e-"));
}

export function removeData(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/** Creates an agent through the CLI, password on standard input; in the data folder `data`, or
 * with `database` (a PostgreSQL URL) in that database. */
export function addAgent(data, email, password, name, { admin = false, teams = [], database } = {}) {
  const where = database ? ["--database", database] : ["--data", data];
  const args = ["agent", "add", ...where, "--email", email, "--password-stdin", "--name", name];
  if (admin) args.push("--admin");
  if (teams.length) args.push("--teams", teams.join(","));
  const r = spawnSync(BIN, args, {
    input: password + "\n",
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`agent add failed: ${r.stderr}`);
}

/** Starts `frontdesk serve`; resolves once it prints its address. */
export function startServer(data, listen = "127.0.0.1:0", extra = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ["serve", "--listen", listen, "--data", data, ...extra], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FRONTDESK_LOG: "warn" },
    });
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}${err}`)), 20000);
    child.stderr.on("data", (d) => { err += d; });
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[\d.]+:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, base: m[1], port: Number(m[1].split(":").pop()), stderr: () => err });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${err}`));
    });
  });
}

/** Stops the server with SIGTERM and waits for a graceful exit. */
export function stopServer(server) {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null) return resolve(server.child.exitCode);
    server.child.removeAllListeners("exit");
    server.child.on("exit", (code) => resolve(code));
    server.child.kill("SIGTERM");
    setTimeout(() => server.child.kill("SIGKILL"), 10000).unref();
  });
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

/** Collects uncaught page errors and CSP violations, so a test can assert there were none. */
export function watchErrors(page) {
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource|WebSocket connection/.test(m.text())) {
      errors.push(`console: ${m.text()}`);
    }
  });
  return errors;
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

/** A loopback port free right now (for a helper process that needs its port up front). */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns something truthy (returned), failing after `timeout` ms. */
export async function waitFor(what, check, timeout = 30000) {
  const end = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** An SMTP server (aiosmtpd, in the tests' Python) writing into a Maildir; `mails()` reads it. */
export async function smtpSink(python, maildir) {
  const port = await freePort();
  const child = spawn(python, ["-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${port}`, "-c", "aiosmtpd.handlers.Mailbox", maildir], { stdio: "ignore" });
  const mails = () => ["new", "cur"].flatMap((d) => {
    try {
      return readdirSync(join(maildir, d)).map((f) => readFileSync(join(maildir, d, f), "utf8"));
    } catch {
      return [];
    }
  });
  return { child, port, mails };
}
