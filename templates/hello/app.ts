import express from "express";
import { App } from "nodal";

export const app = new App("hello");

const web = express();
web.use(express.json());
web.get("/", (_req, res) => {
  res.json({ status: "online", message: "Hello from nodal" });
});

/** An express app served on http://127.0.0.1:8000 (edit this file: the change is live at once). */
export const api = app.webApp({}, () => web);

/** One JSON endpoint: GET /?name=Ada → { "hello": "Ada" }. */
export const greet = app.webEndpoint({ method: "GET" }, async (query: { name?: string }) => ({ hello: query.name ?? "world" }));

/** A function that runs in workers of its own: `nodal run templates/hello/app.ts::square --input 7`. */
export const square = app.function({ timeout: 10 }, async (x: number) => x * x);

app.localEntrypoint(async () => {
  console.log("7 squared, computed remotely:", await square.remote(7));
});
