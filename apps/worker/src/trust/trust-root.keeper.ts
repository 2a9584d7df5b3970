import type { TrustRootDocument } from '@provwatch/sources';
import type { SigstoreTrustRoot } from '@provwatch/verification';

export interface TrustRootKeeperDeps {
  load: () => Promise<TrustRootDocument>;
  parse: (json: Buffer) => SigstoreTrustRoot;
  /** How often to look for a newer trust root. */
  refreshIntervalMs: number;
  now?: () => number;
  log?: (message: string) => void;
  /** Told after every attempt (metrics). */
  onRefresh?: (state: TrustRootState, ok: boolean) => void;
}

export interface TrustRootState {
  origin: TrustRootDocument['origin'];
  /** When the trust root in use was obtained (ms). */
  obtainedAt: number;
}

/**
 * Keeps the Sigstore trust root fresh for a long-running process. Verifiers break when the TUF
 * metadata behind their trust root expires, not when certificates do: so the root is refreshed on
 * a schedule, the last good one is kept when a refresh fails (or only reaches the older copy
 * embedded in @sigstore/tuf), and its age is exposed so that an alert fires long before expiry.
 */
export class TrustRootKeeper {
  private root: SigstoreTrustRoot | undefined;
  private stateValue: TrustRootState | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<boolean> | undefined;

  constructor(private readonly deps: TrustRootKeeperDeps) {}

  /** The first load must succeed: without a trust root nothing can be verified. */
  async start(): Promise<void> {
    const document = await this.deps.load();
    if (document.warning) this.deps.log?.(document.warning);
    this.install(document);
    this.deps.onRefresh?.(this.stateValue!, true);
    this.timer = setInterval(() => void this.refresh(), this.deps.refreshIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  current(): SigstoreTrustRoot {
    if (!this.root) throw new Error('the trust root is not loaded yet');
    return this.root;
  }

  get state(): TrustRootState | undefined {
    return this.stateValue;
  }

  /** True when a fresh root is now in use; failures keep the last good one. */
  refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      let ok = false;
      try {
        const document = await this.deps.load();
        // The embedded seed is not an update: it is as old as the installed package. Falling back to
        // it again must not make the root look fresh.
        if (document.origin === 'embedded-seed' && this.stateValue) {
          this.deps.log?.(`trust root refresh failed, keeping the one obtained ${new Date(this.stateValue.obtainedAt).toISOString()}: ${document.warning ?? 'TUF unreachable'}`);
        } else {
          this.install(document);
          ok = true;
        }
      } catch (err) {
        this.deps.log?.(`trust root refresh failed, keeping the last good one: ${(err as Error).message}`);
      } finally {
        this.refreshing = undefined;
      }
      if (this.stateValue) this.deps.onRefresh?.(this.stateValue, ok);
      return ok;
    })();
    return this.refreshing;
  }

  private install(document: TrustRootDocument): void {
    // Parsed before it replaces anything: a corrupt download never evicts a good root.
    this.root = this.deps.parse(document.json);
    this.stateValue = { origin: document.origin, obtainedAt: this.deps.now?.() ?? Date.now() };
  }
}
