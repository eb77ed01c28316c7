/** What a loaded app declares, as plain data that crosses process boundaries. */

export type ScheduleSpec = { kind: "cron"; expression: string; timezone: string } | { kind: "period"; seconds: number };

export interface RetriesSpec {
  maxRetries: number;
  backoffCoefficient: number;
  initialDelaySec: number;
  maxDelaySec: number;
}

export interface FunctionSpec {
  name: string;
  kind: "function" | "web";
  /** Web functions: an app (`webApp`) or a single JSON endpoint (`webEndpoint`). */
  style?: "app" | "endpoint";
  method?: string;
  /** A pinned port. */
  port?: number;
  schedule?: ScheduleSpec;
  timeoutSec: number;
  retries: RetriesSpec;
  concurrency: number;
  minContainers: number;
  maxContainers: number;
  /** Seconds a worker may be idle before it stops (deployed apps), down to `minContainers`. */
  scaledownWindowSec: number;
  /** Spare workers kept warm beyond the busy ones while there is work. */
  bufferContainers: number;
  /** Memory limit per worker in MiB, when set. */
  memoryMiB?: number;
  /** Mount path → volume name. */
  volumes: Record<string, string>;
  /** Names of stored secrets (inline ones are listed as "(inline)"). */
  secretNames: string[];
  /** Environment this function's workers get on top of the base environment. */
  env: Record<string, string>;
  /** Values that must never appear in logs. */
  secretValues: string[];
  location?: string;
}

export interface AppManifest {
  appName: string;
  functions: FunctionSpec[];
  hasLocalEntrypoint: boolean;
  /** The function a `FILE::name` selector named, if it named a function. */
  target?: string;
}
