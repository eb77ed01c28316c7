import type { CommandSpec } from "./define.js";
import serve from "./serve.js";
import run from "./run.js";
import start from "./start.js";
import deploy from "./deploy.js";
import appList from "./app/list.js";
import appShow from "./app/show.js";
import appLogs from "./app/logs.js";
import appStop from "./app/stop.js";
import appHistory from "./app/history.js";
import appRollback from "./app/rollback.js";
import appRollover from "./app/rollover.js";
import appRun from "./app/run.js";
import appCalls from "./app/calls.js";
import startup from "./startup.js";
import unstartup from "./unstartup.js";
import resurrect from "./resurrect.js";
import volumeCreate from "./volume/create.js";
import volumeList from "./volume/list.js";
import volumeLs from "./volume/ls.js";
import volumePut from "./volume/put.js";
import volumeGet from "./volume/get.js";
import volumeRm from "./volume/rm.js";
import volumeDelete from "./volume/delete.js";
import secretCreate from "./secret/create.js";
import secretList from "./secret/list.js";
import secretDelete from "./secret/delete.js";
import init from "./init.js";
import exportKubernetes from "./export.js";
import dashboard from "./dashboard.js";

/** Every command, in help order. Groups (`app …`) are created from the paths. */
export const commands: CommandSpec[] = [serve, deploy, run, start,
  appList, appShow, appLogs, appStop, appHistory, appRollback, appRollover, appRun, appCalls,
  startup, unstartup, resurrect,
  volumeCreate, volumeList, volumeLs, volumePut, volumeGet, volumeRm, volumeDelete,
  secretCreate, secretList, secretDelete, exportKubernetes, dashboard, init];

/** Descriptions of command groups. */
export const groups: Record<string, string> = {
  app: "manage apps: list, show, logs, stop, history, rollback, rollover, run, calls",
  volume: "manage volumes: create, list, ls, put, get, rm, delete",
  secret: "manage secrets: create, list, delete (values are never printed)",
  export: "export an app to run elsewhere: kubernetes (a build context and manifests)",
};
