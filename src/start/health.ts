import { createServer, type Server } from "node:http";
import { UserError } from "../errors.js";

/**
 * `/livez` and `/readyz` for Kubernetes probes, on a port of their own so that app traffic and
 * probes never share a queue: live while the process answers, ready while `ready()` holds
 * (every web function it serves has a worker up).
 */
export async function serveHealth(host: string, port: number, ready: () => boolean): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const reply = (status: number, body: object) => {
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
      res.end(JSON.stringify(body));
    };
    if (path === "/livez") return reply(200, { live: true });
    if (path === "/readyz") return ready() ? reply(200, { ready: true }) : reply(503, { ready: false });
    reply(404, { error: "not found: the health server answers /livez and /readyz" });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new UserError("E_PORT_IN_USE", `health port ${port} on ${host} is in use`, "pass another --health-port")
          : error,
      ),
    );
    server.listen({ port, host }, () => resolve());
  });
  return server;
}
