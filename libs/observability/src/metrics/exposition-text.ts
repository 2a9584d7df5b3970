/** The pieces of the Prometheus text format that provwatch writes itself (large gauges, no prom-client objects per series). */

/** Label values as the exposition format wants them: backslash, quote and newline escaped. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

/** A gauge's HELP and TYPE lines, as prom-client writes them. */
export function formatGaugeHeader(name: string, help: string): string {
  return `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} gauge\n`;
}

/** A sample value, as prom-client writes it. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** One series of a gauge: its labels (in output order) and value. */
export type SeriesValue = { labels: Record<string, string | number>; value: number };

/** A gauge in the text format, as prom-client writes it (HELP and TYPE even without series). */
export function formatGauge(name: string, help: string, values: SeriesValue[]): string {
  return `${formatGaugeHeader(name, help)}${formatSeries(name, values)}\n`;
}

/** A gauge's series lines, without HELP and TYPE. */
export function formatSeries(name: string, values: SeriesValue[]): string {
  let text = '';
  for (const { labels, value } of values) {
    let pairs = '';
    for (const key in labels) pairs += `${pairs === '' ? '' : ','}${key}="${escapeLabelValue(String(labels[key]))}"`;
    text += `${name}${pairs === '' ? '' : `{${pairs}}`} ${formatValue(value)}\n`;
  }
  return text;
}
