/**
 * What app files import as "nodal": the app model of Modal, for TypeScript.
 *
 * @example
 * import { App, Cron } from "nodal";
 * export const app = new App("hello");
 * export const tick = app.function({ schedule: new Cron("* * * * *") }, async () => console.log("tick"));
 */
export { App, Function_, Function_ as Function, WebFunction, FunctionBase } from "./app.js";
export type { AppParams, MapParams, ForEachParams, RequestListener } from "./app.js";
export { FunctionCall } from "./function-call.js";
export type { FunctionCallGetParams } from "./function-call.js";
export { Cron, Period } from "./schedule.js";
export type { CronParams, PeriodParams, Schedule } from "./schedule.js";
export { Retries } from "./retries.js";
export type { RetriesParams } from "./retries.js";
export { Volume } from "./volume.js";
export type { VolumeFromNameParams, VolumeEntry } from "./volume.js";
export { Secret } from "./secret.js";
export type { SecretFromNameParams } from "./secret.js";
export type {
  CommonOptions,
  FunctionOptions,
  WebAppOptions,
  WebEndpointOptions,
  EndpointMethod,
} from "./options.js";
export {
  NotFoundError,
  InvalidError,
  FunctionTimeoutError,
  MemoryLimitError,
  TimeoutError,
  RemoteError,
  CancelledError,
} from "./errors.js";
export * from "./security/index.js";
