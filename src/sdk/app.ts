import type { IncomingMessage, ServerResponse } from "node:http";
import { InvalidError } from "./errors.js";
import { formatFrame, parseFrame } from "./frames.js";
import { FunctionCall, spawnInCluster } from "./function-call.js";
import { checkName } from "./names.js";
import { checkOptions, type FunctionOptions, type WebAppOptions, type WebEndpointOptions, ALLOWED_KEYS } from "./options.js";
import { getRuntime, type Runtime } from "./runtime.js";
import { remoteRuntime } from "./from-name.js";

/** A Node request listener: what `webApp` factories return (an express app is one). */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Options of `new App`. */
export interface AppParams {
  /** Extra environment variables for every function of the app. */
  env?: Record<string, string>;
}

/** Parameters of `.map()` and `.starmap()`. */
export interface MapParams {
  /** Inputs in flight at once; default 16. */
  concurrency?: number;
  /** Yield what a call threw as a value, instead of throwing it (and ending the iteration). Default false. */
  returnExceptions?: boolean;
  /** Yield results in input order (default), or as they complete (false). */
  orderOutputs?: boolean;
}

/** Parameters of `.forEach()`. */
export interface ForEachParams {
  /** Inputs in flight at once; default 16. */
  concurrency?: number;
  /** Resolve even when calls fail (their errors are dropped). Default false: the first error is thrown once every call ended. */
  ignoreExceptions?: boolean;
}

type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

type Kind = keyof typeof ALLOWED_KEYS;

/** What every function handle has: its app, options, and the name it gets when the app loads. */
export abstract class FunctionBase {
  readonly app: App;
  readonly options: Record<string, unknown>;
  /** Where it was declared (`file:line:col`), for error messages. */
  readonly location: string | undefined;
  abstract readonly kind: "function" | "web";
  #name: string | undefined;

  constructor(app: App, options: object, location: string | undefined) {
    this.app = app;
    this.options = (options ?? {}) as Record<string, unknown>;
    this.location = location;
    this.#name = typeof this.options.name === "string" ? this.options.name : undefined;
  }

  /** The function's name: `opts.name`, else its export name (set when the app loads). */
  get name(): string {
    if (this.#name === undefined) {
      throw new InvalidError(`a function declared at ${this.location ?? "?"} has no name: export it, or pass { name }`);
    }
    return this.#name;
  }

  get hasName(): boolean {
    return this.#name !== undefined;
  }

  /** @internal Called by the loader with the export name. */
  assignName(exportName: string): void {
    this.#name ??= exportName;
  }

  /** @internal Problems with the options, each naming the function. */
  problems(optionKind: Kind): string[] {
    const who = `function "${this.#name ?? "?"}"${this.location ? ` (${this.location})` : ""}`;
    return checkOptions(optionKind, this.options).map((p) => `${who}: ${p}`);
  }
}

/**
 * A function that runs in workers of its own.
 *
 * @example
 * export const square = app.function({}, async (x: number) => x * x);
 * await square.remote(7); // 49, computed in square's worker
 */
export class Function_<A extends unknown[] = unknown[], R = unknown> extends FunctionBase {
  readonly kind = "function" as const;
  readonly handler: (...args: A) => R | Promise<R>;
  #runtime: Runtime | undefined;

  constructor(app: App, options: FunctionOptions, handler: (...args: A) => R | Promise<R>, location?: string) {
    super(app, options, location);
    this.handler = handler;
  }

  /**
   * A function of a deployed or served app, callable from any Node script or another app.
   *
   * @example
   * const square = Function.fromName("my-app", "square");
   * await square.remote(7);
   */
  static fromName<A extends unknown[] = unknown[], R = unknown>(appName: string, name: string): Function_<A, R> {
    const fn = new Function_<A, R>(new App(appName), { name }, () => {
      throw new InvalidError(`function "${name}" of app "${appName}" runs only remotely; use .remote()`);
    });
    fn.#runtime = remoteRuntime(appName);
    return fn;
  }

  /** Runs in the function's own worker, honouring its options; resolves to the return value. */
  async remote(...args: A): Promise<Awaited<R>> {
    const runtime = this.#runtime ?? getRuntime(this.name);
    return (await runtime.call(this.name, args)) as Awaited<R>;
  }

  /** Runs in the caller's process. */
  async local(...args: A): Promise<Awaited<R>> {
    return await this.handler(...args);
  }

  /**
   * Starts a remote call and returns at once; `get()` waits for the result. In a deployed or
   * served app the call is stored: `FunctionCall.fromId(call.id)` finds it from any process for
   * 24 hours, and `call.cancel()` stops it.
   */
  async spawn(...args: A): Promise<FunctionCall<Awaited<R>>> {
    const cluster = await spawnInCluster<Awaited<R>>(this.app.name, this.name, args);
    if (cluster) return cluster;
    const runtime = this.#runtime ?? getRuntime(this.name);
    const id = await runtime.spawn?.(this.name, args);
    return id ? FunctionCall.stored<Awaited<R>>(id) : new FunctionCall(this.remote(...args));
  }

  /**
   * Calls the function once per input (remotely); yields results in input order, or as they
   * complete with `orderOutputs: false`. With `returnExceptions`, a failed call yields its error.
   */
  map(inputs: Iterable<A[0]> | AsyncIterable<A[0]>, params?: MapParams & { returnExceptions?: false }): AsyncGenerator<Awaited<R>>;
  map(inputs: Iterable<A[0]> | AsyncIterable<A[0]>, params: MapParams): AsyncGenerator<Awaited<R> | Error>;
  map(inputs: Iterable<A[0]> | AsyncIterable<A[0]>, params: MapParams = {}): AsyncGenerator<Awaited<R> | Error> {
    return this.#mapArgs(argLists(inputs, (input) => [input] as unknown as A), params);
  }

  /** Like `.map()`, each input being the array of arguments of one call. */
  starmap(inputs: Iterable<A> | AsyncIterable<A>, params?: MapParams & { returnExceptions?: false }): AsyncGenerator<Awaited<R>>;
  starmap(inputs: Iterable<A> | AsyncIterable<A>, params: MapParams): AsyncGenerator<Awaited<R> | Error>;
  starmap(inputs: Iterable<A> | AsyncIterable<A>, params: MapParams = {}): AsyncGenerator<Awaited<R> | Error> {
    return this.#mapArgs(
      argLists(inputs, (input) => {
        if (!Array.isArray(input)) throw new InvalidError(`starmap of "${this.name}": each input must be an array of arguments, got ${typeof input}`);
        return input;
      }),
      params,
    );
  }

  /**
   * Calls the function once per input and resolves when every call ended; results are
   * dropped. As in Modal, the first error to come (calls end in any order) is thrown at once,
   * unless `ignoreExceptions`: calls in flight then go on, inputs not started yet are not.
   */
  async forEach(inputs: Iterable<A[0]> | AsyncIterable<A[0]>, params: ForEachParams = {}): Promise<void> {
    const { concurrency, ignoreExceptions } = params;
    const lists = argLists(inputs, (input) => [input] as unknown as A);
    for await (const _ of this.#mapArgs(lists, { concurrency, orderOutputs: false, returnExceptions: ignoreExceptions === true })) {
      // Results are dropped.
    }
  }

  async *#mapArgs(lists: AsyncIterable<A>, params: MapParams): AsyncGenerator<Awaited<R> | Error> {
    const limit = params.concurrency ?? 16;
    if (!Number.isInteger(limit) || limit < 1) throw new InvalidError(`map concurrency must be a positive integer, got ${limit}`);
    const ordered = params.orderOutputs ?? true;
    type Entry = { done: Promise<Settled<Awaited<R>> & { entry: Entry }> };
    const pending: Entry[] = [];
    const launch = (args: A) => {
      const entry = {} as Entry;
      entry.done = this.remote(...args).then(
        (value) => ({ ok: true as const, value, entry }),
        (error: unknown) => ({ ok: false as const, error, entry }),
      );
      pending.push(entry);
    };
    // Ordered: the oldest call next; unordered: whichever ends first.
    const next = async (): Promise<Settled<Awaited<R>>> => {
      const settled = ordered ? await pending[0]!.done : await Promise.race(pending.map((e) => e.done));
      pending.splice(pending.indexOf(settled.entry), 1);
      return settled;
    };
    const emit = (s: Settled<Awaited<R>>): Awaited<R> | Error => {
      if (s.ok) return s.value;
      if (!params.returnExceptions) throw s.error;
      return s.error instanceof Error ? s.error : new Error(String(s.error));
    };
    for await (const args of lists) {
      launch(args);
      if (pending.length >= limit) yield emit(await next());
    }
    while (pending.length > 0) yield emit(await next());
  }
}

/** Each input as a call's argument list, from a sync or async iterable. */
async function* argLists<I, A>(inputs: Iterable<I> | AsyncIterable<I>, toArgs: (input: I) => A): AsyncGenerator<A> {
  for await (const input of inputs as AsyncIterable<I>) yield toArgs(input);
}

/** A web function: an express app (or any request listener) or a single JSON endpoint. */
export class WebFunction extends FunctionBase {
  readonly kind = "web" as const;
  readonly style: "app" | "endpoint";
  readonly factory: () => RequestListener | Promise<RequestListener>;

  constructor(
    app: App,
    options: WebAppOptions | WebEndpointOptions,
    style: "app" | "endpoint",
    factory: () => RequestListener | Promise<RequestListener>,
    location?: string,
  ) {
    super(app, options, location);
    this.style = style;
    this.factory = factory;
  }

  get method(): string {
    return String((this.options as WebEndpointOptions).method ?? "GET").toUpperCase();
  }
}

/**
 * An app: the functions, web endpoints and schedules that deploy together.
 *
 * @example
 * export const app = new App("todo-api");
 * export const api = app.webApp({}, () => web);
 */
export class App {
  readonly name: string;
  readonly params: AppParams;
  readonly functions: FunctionBase[] = [];
  localEntrypointHandler: ((argv: string[]) => unknown) | undefined;

  constructor(name: string, params: AppParams = {}) {
    this.name = checkName("app", name);
    this.params = params;
  }

  /** Declares a function; it runs in workers of its own. */
  function<A extends unknown[], R>(options: FunctionOptions, handler: (...args: A) => R | Promise<R>): Function_<A, R> {
    if (typeof handler !== "function") throw new InvalidError(`app.function(options, handler): handler must be a function`);
    const fn = new Function_<A, R>(this, options, handler, callerLocation());
    this.functions.push(fn);
    return fn;
  }

  /** Serves an express app (or any Node request listener) returned by `factory`. */
  webApp(options: WebAppOptions, factory: () => RequestListener | Promise<RequestListener>): WebFunction {
    if (typeof factory !== "function") throw new InvalidError(`app.webApp(options, factory): factory must be a function`);
    const fn = new WebFunction(this, options, "app", factory, callerLocation());
    this.functions.push(fn);
    return fn;
  }

  /**
   * One JSON endpoint: GET handlers get the parsed query, other methods the JSON body; the
   * result is sent as JSON.
   */
  webEndpoint<T = unknown>(options: WebEndpointOptions, handler: (input: any) => T | Promise<T>): WebFunction {
    if (typeof handler !== "function") throw new InvalidError(`app.webEndpoint(options, handler): handler must be a function`);
    const method = String(options?.method ?? "GET").toUpperCase();
    const fn = new WebFunction(this, options, "endpoint", () => endpointListener(method, handler), callerLocation());
    this.functions.push(fn);
    return fn;
  }

  /** What `nodal run FILE -- ARGS` runs, in a local process. */
  localEntrypoint(handler: (argv: string[]) => unknown): void {
    this.localEntrypointHandler = handler;
  }
}

const MAX_BODY_BYTES = 1 << 20;

function endpointListener(method: string, handler: (input: any) => unknown): RequestListener {
  return (req, res) => {
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body ?? null);
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    if ((req.method ?? "GET").toUpperCase() !== method && !(method === "GET" && req.method === "HEAD")) {
      res.setHeader("allow", method);
      return send(405, { error: `method ${req.method} not allowed; use ${method}` });
    }
    const run = (input: unknown) => {
      Promise.resolve()
        .then(() => handler(input))
        .then(
          (result) => send(200, result),
          (error: Error) => {
            console.error(error?.stack ?? String(error));
            send(500, { error: "internal error" });
          },
        );
    };
    if (method === "GET") {
      const url = new URL(req.url ?? "/", "http://x");
      return run(Object.fromEntries(url.searchParams));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        send(413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => {
      if (res.headersSent) return;
      const text = Buffer.concat(chunks).toString("utf8");
      if (text.trim() === "") return run(undefined);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (error) {
        return send(400, { error: `malformed JSON body: ${(error as Error).message}` });
      }
      run(body);
    });
  };
}

/** `file:line:col` of the user code that called an App method (source-mapped in workers). */
function callerLocation(): string | undefined {
  const frames = (new Error().stack ?? "").split("\n").slice(1);
  // frames[0] is callerLocation, frames[1] the App method, frames[2] the user's call.
  const frame = parseFrame(frames[2] ?? "");
  return frame && formatFrame(frame);
}
