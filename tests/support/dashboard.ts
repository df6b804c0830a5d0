/**
 * Test helper: the Grafana dashboard (`deploy/grafana/ollama_exporter_dashboard.json`) as data,
 * its queries found by panel, and Grafana's variables replaced by values Prometheus accepts, so
 * that tests can hand the shipped queries to `promtool` or to a real Prometheus.
 *
 * @module
 */

/** One query of a panel. */
export interface DashboardTarget {
  readonly datasource?: unknown;
  readonly expr?: string;
  readonly refId?: string;
  readonly legendFormat?: string;
}

/** One panel (a row keeps its collapsed panels in `panels`). */
export interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: unknown;
  readonly gridPos: { h: number; w: number; x: number; y: number };
  readonly targets?: DashboardTarget[];
  readonly panels?: DashboardPanel[];
}

/** One template variable. */
export interface DashboardVariable {
  readonly name: string;
  readonly type: string;
  readonly query?: unknown;
  readonly definition?: string;
  readonly datasource?: unknown;
  readonly multi?: boolean;
  readonly includeAll?: boolean;
  readonly allValue?: string;
  readonly current?: { text?: unknown; value?: unknown };
  readonly options?: { text: string; value: string; selected?: boolean }[];
  readonly refresh?: number;
}

/** The dashboard's JSON, as far as the tests read it. */
export interface Dashboard {
  readonly __inputs: { name: string; type: string; pluginId: string }[];
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: DashboardPanel[];
  readonly templating: { list: DashboardVariable[] };
}

/** The dashboard file. */
export const DASHBOARD_FILE: URL = new URL(
  "../../deploy/grafana/ollama_exporter_dashboard.json",
  import.meta.url,
);

/** Reads and parses the dashboard. */
export async function readDashboard(): Promise<Dashboard> {
  return JSON.parse(await Deno.readTextFile(DASHBOARD_FILE)) as Dashboard;
}

/** Every panel, rows and the panels of collapsed rows included. */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** The query `refId` of the one panel titled `title` of type `type`; throws unless exactly one. */
export function panelQuery(
  dashboard: Dashboard,
  title: string,
  type: string,
  refId = "A",
): string {
  const found = allPanels(dashboard).filter((panel) =>
    panel.title === title && panel.type === type
  );
  if (found.length !== 1) {
    throw new Error(`Cannot find one ${type} panel "${title}": ${found.length} found`);
  }
  const expr = found[0]?.targets?.find((target) => target.refId === refId)?.expr;
  if (expr === undefined) throw new Error(`Panel "${title}" has no query ${refId}`);
  return expr;
}

/** The values {@linkcode substitute} gives Grafana's variables unless told otherwise. */
export const DEFAULT_VARIABLE_VALUES: Readonly<Record<string, string>> = {
  __rate_interval: "1m",
  __interval: "1m",
  __range: "1h",
  model: ".*",
  instance_label: "instance",
  instance: ".*",
};

/**
 * `expr` with Grafana's variables (`$name`, `${name}`) replaced: `values` over
 * {@linkcode DEFAULT_VARIABLE_VALUES}. Throws on a variable it does not know.
 */
export function substitute(expr: string, values: Readonly<Record<string, string>> = {}): string {
  const all: Record<string, string> = { ...DEFAULT_VARIABLE_VALUES, ...values };
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (_match, braced, plain) => {
    const name = (braced ?? plain) as string;
    const value = all[name];
    if (value === undefined) throw new Error(`Unknown variable $${name} in ${expr}`);
    return value;
  });
}
