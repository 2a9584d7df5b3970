import type { PostableAlert } from './verdict-alerts';

export interface AlertmanagerClientOptions {
  /** Alertmanager base URLs (every one gets every alert, as Prometheus does with an HA pair). */
  urls: readonly string[];
  /** Per request. Default 10 s. */
  timeoutMs?: number;
  /** Told, per URL and alert state, how a push ended (metrics). */
  onResult?: (state: 'firing' | 'resolved', result: 'success' | 'error', alerts: number) => void;
}

export interface PushOutcome {
  /** Host and port only: a URL may carry credentials, which must not reach logs. */
  alertmanager: string;
  ok: boolean;
  detail: string;
}

interface Endpoint {
  url: URL;
  authorization?: string;
  name: string;
}

/**
 * Pushes alerts to Alertmanager's API v2 (`POST /api/v2/alerts`). Credentials written into a URL
 * (`https://user:pass@am:9093`) are sent as Basic auth and never logged; redirects are refused, so
 * they cannot carry those credentials elsewhere.
 */
export class AlertmanagerClient {
  private readonly endpoints: Endpoint[];
  private readonly timeoutMs: number;

  constructor(private readonly options: AlertmanagerClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.endpoints = options.urls.map((raw) => {
      const url = new URL(raw);
      const authorization =
        url.username || url.password
          ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
          : undefined;
      url.username = '';
      url.password = '';
      url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/v2/alerts`;
      return { url, authorization, name: url.host };
    });
  }

  get configured(): boolean {
    return this.endpoints.length > 0;
  }

  async push(alerts: readonly PostableAlert[]): Promise<PushOutcome[]> {
    if (alerts.length === 0 || this.endpoints.length === 0) return [];
    const body = JSON.stringify(alerts);
    const now = Date.now();
    const resolved = alerts.filter((a) => a.endsAt !== undefined && Date.parse(a.endsAt) <= now).length;
    const firing = alerts.length - resolved;
    return Promise.all(
      this.endpoints.map(async (endpoint): Promise<PushOutcome> => {
        const outcome = await this.send(endpoint, body);
        if (firing > 0) this.options.onResult?.('firing', outcome.ok ? 'success' : 'error', firing);
        if (resolved > 0) this.options.onResult?.('resolved', outcome.ok ? 'success' : 'error', resolved);
        return outcome;
      }),
    );
  }

  private async send(endpoint: Endpoint, body: string): Promise<PushOutcome> {
    try {
      const response = await fetch(endpoint.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(endpoint.authorization ? { authorization: endpoint.authorization } : {}) },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // The answer is a short status text at most; nothing in it is needed.
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return { alertmanager: endpoint.name, ok: true, detail: String(response.status) };
      return { alertmanager: endpoint.name, ok: false, detail: `HTTP ${response.status}` };
    } catch (err) {
      const name = (err as Error)?.name === 'TimeoutError' ? 'timeout' : 'network error';
      return { alertmanager: endpoint.name, ok: false, detail: name };
    }
  }
}
