import { Worker } from "./worker.js";

/**
 * Workers booted ahead of time, waiting for `load`: a reload then costs an import of the new
 * bundle, not a Node start-up. They preload the packages of the last build, so `import
 * express` is already in their module cache.
 */
export class SparePool {
  #size: number;
  #spares: Worker[] = [];
  #preload: string[] = [];
  #make: () => Worker;

  constructor(size: number, make: () => Worker, adopted: Worker[] = []) {
    this.#size = size;
    this.#make = make;
    this.#spares = adopted;
  }

  /**
   * A booted spare if one is there, else a new worker. The pool is refilled by `fill()`, which
   * the engine calls once an activation is done: booting a replacement while the new version
   * loads would take the CPU the reload needs.
   */
  take(): Worker {
    let worker: Worker | undefined;
    while ((worker = this.#spares.shift()) && !worker.alive);
    return worker ?? this.#spawn();
  }

  /** Packages to import in spares from now on. */
  setPreload(modules: string[]): void {
    const fresh = modules.filter((m) => !this.#preload.includes(m));
    this.#preload = modules;
    if (fresh.length) {
      for (const w of this.#spares) void w.booted.then(() => w.send({ t: "preload", modules: fresh }), () => {});
    }
  }

  /** Boots one more spare now, beyond the pool's size (taken by the next activation). */
  add(): void {
    this.#spares.push(this.#spawn());
  }

  /** Keeps `size` spares from now on (one per web function, so a reload never waits for a boot). */
  resize(size: number): void {
    this.#size = size;
    this.fill();
  }

  fill(): void {
    this.#spares = this.#spares.filter((w) => w.alive);
    while (this.#spares.length < this.#size) this.#spares.push(this.#spawn());
  }

  #spawn(): Worker {
    const worker = this.#make();
    const modules = this.#preload;
    if (modules.length) void worker.booted.then(() => worker.send({ t: "preload", modules }), () => {});
    return worker;
  }

  async close(): Promise<void> {
    const spares = this.#spares;
    this.#spares = [];
    this.#size = 0;
    await Promise.all(spares.map((w) => w.stop(500)));
  }
}

