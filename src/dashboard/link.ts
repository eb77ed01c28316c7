/** The dashboard's default port (`nodal dashboard --port` picks another). */
export const DEFAULT_DASHBOARD_PORT = 8787;

/** An app's page in the dashboard, as `serve` and `deploy` print it ("View Deployment"). */
export function dashboardLink(name: string): string {
  return `http://127.0.0.1:${DEFAULT_DASHBOARD_PORT}/apps/${encodeURIComponent(name)}`;
}
