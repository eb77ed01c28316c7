// Shared by the dashboard tests: an app to deploy and a running `nodal dashboard`.
import assert from "node:assert/strict";
import { freePorts } from "../helpers.js";

export const SECRET_VALUE = "sk-live-dashboard-7Hq2xZ";

export const app = `
import { App, Period, Secret } from "nodal";
export const app = new App("shop");
const keys = Secret.fromName("shop-keys");
export const nightly = app.function({ schedule: new Period({ hours: 6 }), secrets: [keys] }, async () => {
  console.log("nightly job ran");
  return "done";
});
export const api = app.webEndpoint({ method: "GET", secrets: [keys] }, async (query: Record<string, string>) => {
  console.log("request for", query.item ?? "nothing", "key", process.env.SHOP_KEY);
  return { version: "one", item: query.item ?? null };
});
`;

/** Deploys the app (with its secret stored first) and answers its URL. */
export async function deployShop(box) {
  const secret = await box.run(["secret", "create", "shop-keys", `SHOP_KEY=${SECRET_VALUE}`]);
  assert.equal(secret.code, 0, secret.stderr);
  const res = await box.run(["deploy", "app.ts", "--json"], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout).urls.api;
}

/** Starts `nodal dashboard` on a free port: { origin, link, token, proc }. */
export async function startDashboard(box) {
  const [port] = await freePorts(1);
  const proc = box.spawn(["dashboard", "--port", String(port)]);
  const [, link, token] = await proc.waitFor(/Dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=([0-9a-f]+))\n/);
  return { origin: `http://127.0.0.1:${port}`, port, link, token, proc };
}
