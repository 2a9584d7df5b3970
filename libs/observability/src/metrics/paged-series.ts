const EMPTY = Buffer.alloc(0);
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The series of a few gauges for many keys (targets; targets and sources), kept as ready bytes per
 * key and packed into pages of `pageKeys` consecutive keys, gauge by gauge, so that a scrape at
 * 10,000 targets writes a few hundred Buffers instead of one per key and gauge: assembling 60,000
 * references held the event loop ~16 ms per scrape, and copying them into write blocks 25 ms.
 *
 * Setting a key's lines unpacks its page; until `pack()` packs it again, chunks() takes the page's
 * keys one by one. Packing copies a page into one Buffer and points every key's views into it, so
 * each byte is held once. Keys are in exposition order (sorted), a requirement of the text format:
 * every series of one gauge in one group (keys compared by UTF-16 code units, `sort()`'s order).
 */
export class PagedSeries {
  private readonly entries = new Map<string, Buffer[]>();
  private order: string[] = [];
  private pageOf = new Map<string, number>();
  private pages: Array<Buffer[] | undefined> = [];
  private assembled: Buffer[] | undefined;

  constructor(
    /** Each gauge's HELP and TYPE lines, in output order. */
    private readonly headers: readonly Buffer[],
    private readonly pageKeys = 64,
  ) {}

  /** The keys from now on; the lines of keys not among them are dropped. */
  setKeys(keys: Iterable<string>): void {
    const next = new Set(keys);
    for (const key of [...this.entries.keys()]) if (!next.has(key)) this.entries.delete(key);
    this.order = [...next].sort();
    this.repage();
  }

  /** Adds keys (in order); re-pages only when one is new. */
  addKeys(keys: Iterable<string>): void {
    const added = [...keys].filter((key) => !this.pageOf.has(key));
    if (added.length === 0) return;
    this.order = [...new Set([...this.order, ...added])].sort();
    this.repage();
  }

  /** Whether the key's lines are set. */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Keys whose lines are set. */
  get size(): number {
    return this.entries.size;
  }

  get keyCount(): number {
    return this.order.length;
  }

  /** The key's lines of each gauge (each text empty or whole lines ending in \n). */
  set(key: string, texts: readonly string[]): void {
    const page = this.pageOf.get(key);
    if (page === undefined) throw new Error(`PagedSeries: ${key} is not a key`);
    const bytes = Buffer.from(texts.join(''));
    const views: Buffer[] = [];
    let offset = 0;
    for (const text of texts) {
      const length = Buffer.byteLength(text);
      views.push(length === 0 ? EMPTY : bytes.subarray(offset, offset + length));
      offset += length;
    }
    this.entries.set(key, views);
    this.pages[page] = undefined;
    this.assembled = undefined;
  }

  /**
   * Packs every unpacked page whose keys are all set, one page per turn of the event loop (a
   * page is about 1 MB to copy at most). Stops early when `cancelled()` says so.
   */
  async pack(cancelled: () => boolean = () => false): Promise<void> {
    for (let page = 0; page < this.pages.length; page++) {
      if (this.pages[page] !== undefined || !this.packPage(page)) continue;
      if (cancelled()) return;
      await yieldToEventLoop();
    }
  }

  /**
   * Every gauge's HELP and TYPE once, then every set key's lines of it, in key order. The same
   * Buffer objects until a key changes.
   */
  chunks(): Buffer[] {
    if (this.assembled) return this.assembled;
    const out: Buffer[] = [];
    this.headers.forEach((header, g) => {
      out.push(header);
      this.pages.forEach((packed, page) => {
        if (packed) {
          if (packed[g].length > 0) out.push(packed[g]);
          return;
        }
        for (let i = page * this.pageKeys; i < Math.min(this.order.length, (page + 1) * this.pageKeys); i++) {
          const view = this.entries.get(this.order[i])?.[g];
          if (view && view.length > 0) out.push(view);
        }
      });
    });
    this.assembled = out;
    return out;
  }

  /** Bytes of series held. */
  get byteLength(): number {
    let total = 0;
    for (const views of this.entries.values()) for (const view of views) total += view.length;
    return total;
  }

  private repage(): void {
    this.pageOf = new Map(this.order.map((key, i) => [key, Math.floor(i / this.pageKeys)]));
    this.pages = new Array<Buffer[] | undefined>(Math.ceil(this.order.length / this.pageKeys)).fill(undefined);
    this.assembled = undefined;
  }

  /** False while a key of the page has no lines yet. */
  private packPage(page: number): boolean {
    const keys = this.order.slice(page * this.pageKeys, (page + 1) * this.pageKeys);
    const views = keys.map((key) => this.entries.get(key));
    if (views.some((v) => v === undefined)) return false;
    let total = 0;
    for (const v of views) for (const view of v!) total += view.length;
    const bytes = Buffer.allocUnsafe(total);
    const packed: Buffer[] = [];
    let offset = 0;
    this.headers.forEach((_, g) => {
      const start = offset;
      for (const v of views) {
        const view = v![g];
        view.copy(bytes, offset);
        // The key's own Buffer becomes garbage: its bytes now live in the page only.
        v![g] = view.length === 0 ? EMPTY : bytes.subarray(offset, offset + view.length);
        offset += view.length;
      }
      packed.push(bytes.subarray(start, offset));
    });
    this.pages[page] = packed;
    this.assembled = undefined;
    return true;
  }
}
