// Debian's Chromium driven by playwright-core, headless, with a fresh profile per test.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** A browser page for the test, closed (with its profile removed) after it. */
export async function browserPage(t, viewport = { width: 1280, height: 1000 }) {
  const profile = mkdtempSync(join(tmpdir(), "nodal-chromium-"));
  // The machine may have no network: background networking would only flood refused connections.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  t.after(async () => {
    const pid = context.browser()?.process?.()?.pid;
    await context.close().catch(() => {});
    if (pid) try { process.kill(pid, "SIGKILL"); } catch {}
    rmSync(profile, { recursive: true, force: true });
  });
  return context.pages()[0] ?? (await context.newPage());
}
