/**
 * How a worker imports an app's build (an ES module, by file URL). The runtime bundle is
 * compiled from its code cache, which leaves its own `import()` without a loader, so the
 * worker's first file, a plain CommonJS module, lends it one (`runWorker`).
 */
export type ModuleImporter = (url: string) => Promise<Record<string, unknown>>;

let importer: ModuleImporter = (url) => import(url) as Promise<Record<string, unknown>>;

export function setModuleImporter(f: ModuleImporter): void {
  importer = f;
}

export function importModule(url: string): Promise<Record<string, unknown>> {
  return importer(url);
}
