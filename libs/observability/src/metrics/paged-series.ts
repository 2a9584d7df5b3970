import { yieldToEventLoop } from '../event-loop';

const EMPTY = Buffer.alloc(0);
/** Lines of keys set since their page was packed are written into slabs of this size. */
const SLAB_BYTES = 1024 * 1024;

/**
 * One page: `pageKeys` consecutive keys. `base` is the page as last packed (gauge-major: every
 * key's lines of gauge 0, then of gauge 1, ...; `bounds[g * keys + i]` is where key i's lines of
 * gauge g start, the next entry where they end). `fresh` holds the lines of keys set since, which
 * take precedence over `base`.
 */
interface Page {
  /** How many keys the page holds (the last page may hold fewer than pageKeys). */
  keys: number;
  base: { bytes: Buffer; bounds: Uint32Array; views: Buffer[] } | undefined;
  fresh: Map<number, Buffer[]>;
}

/**
 * The series of a few gauges for many keys (targets; targets and sources), kept as ready bytes per
 * key and packed into pages of `pageKeys` consecutive keys, gauge by gauge, so that a scrape at
 * 10,000 targets writes a few hundred Buffers instead of one per key and gauge: assembling 60,000
 * references held the event loop ~16 ms per scrape, and copying them into write blocks 25 ms.
 *
 * A packed page is one Buffer and one offset table, not a view object per key and gauge: at 10,000
 * targets those were ~120,000 objects that every full GC marked (its atomic pause reached 27 ms
 * while scraping). Lines set between packings are written into shared 1 MiB slabs, not one
 * ArrayBuffer per key, so that a first build does not leave 10,000 buffers for the GC to sweep.
 *
 * Setting a key's lines unpacks its page; until `pack()` packs it again, chunks() takes the page's
 * keys one by one. Keys are in exposition order (sorted), a requirement of the text format: every
 * series of one gauge in one group (keys compared by UTF-16 code units, `sort()`'s order).
 */
export class PagedSeries {
  private order: string[] = [];
  private pageOf = new Map<string, number>();
  private pages: Page[] = [];
  private setCount = 0;
  private assembled: Buffer[] | undefined;
  private slab: Buffer = EMPTY;
  private slabUsed = 0;

  constructor(
    /** Each gauge's HELP and TYPE lines, in output order. */
    private readonly headers: readonly Buffer[],
    private readonly pageKeys = 64,
    /**
     * Where slabs and packed pages come from. Both are written once and never changed after, so
     * with `sharedMemoryBytes` another thread may hold views of them while this one goes on.
     */
    private readonly allocate: (bytes: number) => Buffer = (bytes) => Buffer.allocUnsafeSlow(bytes),
  ) {}

  /** The keys from now on; the lines of keys not among them are dropped. */
  setKeys(keys: Iterable<string>): void {
    const order = sortedUnique(keys);
    // A watchlist reload that kept the same keys: nothing to move, nothing to pack again.
    if (order.length === this.order.length && order.every((key, i) => key === this.order[i])) return;
    this.repage(order);
  }

  /** Adds keys (in order); re-pages only when one is new. */
  addKeys(keys: Iterable<string>): void {
    const added = [...keys].filter((key) => !this.pageOf.has(key));
    if (added.length === 0) return;
    this.repage(sortedUnique([...this.order, ...added]));
  }

  /** Whether the key's lines are set. */
  has(key: string): boolean {
    const at = this.locate(key);
    return at !== undefined && this.isSet(at.page, at.index);
  }

  /** Keys whose lines are set. */
  get size(): number {
    return this.setCount;
  }

  get keyCount(): number {
    return this.order.length;
  }

  /** The key's lines of each gauge (each text empty or whole lines ending in \n). */
  set(key: string, texts: readonly string[]): void {
    const at = this.locate(key);
    if (at === undefined) throw new Error(`PagedSeries: ${key} is not a key`);
    if (!this.isSet(at.page, at.index)) this.setCount++;
    at.page.fresh.set(at.index, this.write(texts));
    this.assembled = undefined;
  }

  /**
   * Packs every page with keys set since it was packed and all keys set, one page per turn of
   * the event loop (a page is about 1 MB to copy at most). Stops early when `cancelled()` says so.
   */
  async pack(cancelled: () => boolean = () => false): Promise<void> {
    await this.packBefore(undefined, cancelled);
  }

  /**
   * Packs as `pack()` does the pages before the one holding `key` (all of them when undefined):
   * a build going through the keys in order packs what it finished while it goes on, so that a
   * scrape meanwhile takes a few Buffers per finished page instead of one per key and gauge.
   */
  async packBefore(key: string | undefined, cancelled: () => boolean = () => false): Promise<void> {
    const position = key === undefined ? undefined : this.pageOf.get(key);
    const end = position === undefined ? this.pages.length : Math.floor(position / this.pageKeys);
    for (let p = 0; p < end; p++) {
      const page = this.pages[p];
      if (page.fresh.size === 0 || !this.packPage(page)) continue;
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
      for (const page of this.pages) {
        if (page.fresh.size === 0) {
          if (page.base && page.base.views[g].length > 0) out.push(page.base.views[g]);
          continue;
        }
        for (let i = 0; i < page.keys; i++) {
          const view = this.lines(page, i, g);
          if (view.length > 0) out.push(view);
        }
      }
    });
    this.assembled = out;
    return out;
  }

  /** Bytes of series held. */
  get byteLength(): number {
    let total = 0;
    for (const page of this.pages) {
      if (page.base) total += page.base.bytes.length;
      for (const [index, views] of page.fresh) {
        for (const view of views) total += view.length;
        // The packed lines this key's fresh ones replace.
        if (page.base) {
          for (let g = 0; g < this.headers.length; g++) {
            const [start, end] = this.baseSpan(page, index, g);
            total -= end - start;
          }
        }
      }
    }
    return total;
  }

  private locate(key: string): { page: Page; index: number } | undefined {
    const position = this.pageOf.get(key);
    if (position === undefined) return undefined;
    return { page: this.pages[Math.floor(position / this.pageKeys)], index: position % this.pageKeys };
  }

  private isSet(page: Page, index: number): boolean {
    return page.fresh.has(index) || page.base !== undefined;
  }

  /** Key `index`'s lines of gauge `g` (EMPTY when not set). */
  private lines(page: Page, index: number, g: number): Buffer {
    const fresh = page.fresh.get(index);
    if (fresh) return fresh[g];
    if (!page.base) return EMPTY;
    const [start, end] = this.baseSpan(page, index, g);
    return start === end ? EMPTY : page.base.bytes.subarray(start, end);
  }

  /** Where key `index`'s packed lines of gauge `g` lie in the page's base bytes. */
  private baseSpan(page: Page, index: number, g: number): [number, number] {
    const at = g * page.keys + index;
    return [page.base!.bounds[at], page.base!.bounds[at + 1]];
  }

  /** The texts as one view per text, written into the current slab (or their own Buffer when large). */
  private write(texts: readonly string[]): Buffer[] {
    let total = 0;
    const lengths = texts.map((text) => {
      const length = Buffer.byteLength(text);
      total += length;
      return length;
    });
    let target: Buffer;
    let offset: number;
    if (total > SLAB_BYTES / 4) {
      target = this.allocate(total);
      offset = 0;
    } else {
      if (this.slab.length - this.slabUsed < total) {
        this.slab = this.allocate(SLAB_BYTES);
        this.slabUsed = 0;
      }
      target = this.slab;
      offset = this.slabUsed;
      this.slabUsed += total;
    }
    return texts.map((text, g) => {
      if (lengths[g] === 0) return EMPTY;
      target.write(text, offset, lengths[g], 'utf8');
      offset += lengths[g];
      return target.subarray(offset - lengths[g], offset);
    });
  }

  /**
   * Lays the keys out again in pages of the new order. A page that holds the same keys at the same
   * positions as before is kept as it is (keys added or dropped after it do not move it: no copy,
   * no repacking); every other kept key's lines are carried as views of the old pages, and packing
   * copies them into the new pages' own Buffers.
   */
  private repage(order: string[]): void {
    const oldOrder = this.order;
    const oldPages = this.pages;
    const pageCount = Math.ceil(order.length / this.pageKeys);
    const keysOnPage = (p: number) => Math.min(this.pageKeys, order.length - p * this.pageKeys);
    const pages: Page[] = new Array<Page>(pageCount);
    const unchanged = (p: number): boolean => {
      const old = oldPages[p];
      if (old === undefined || old.keys !== keysOnPage(p)) return false;
      for (let i = p * this.pageKeys; i < p * this.pageKeys + old.keys; i++) if (oldOrder[i] !== order[i]) return false;
      return true;
    };
    for (let p = 0; p < pageCount; p++) if (unchanged(p)) pages[p] = oldPages[p];
    const kept = new Map<string, Buffer[]>();
    oldPages.forEach((page, p) => {
      if (pages[p] === page) return;
      for (let index = 0; index < page.keys; index++) {
        if (!this.isSet(page, index)) continue;
        kept.set(oldOrder[p * this.pageKeys + index], this.headers.map((_, g) => this.lines(page, index, g)));
      }
    });
    this.order = order;
    // A loop, not new Map(order.map(...)): no 10,000 two-element arrays to allocate and collect.
    this.pageOf = new Map();
    for (let i = 0; i < order.length; i++) this.pageOf.set(order[i], i);
    this.setCount = 0;
    for (let p = 0; p < pageCount; p++) {
      let page = pages[p];
      if (page === undefined) {
        page = { keys: keysOnPage(p), base: undefined, fresh: new Map<number, Buffer[]>() };
        for (let index = 0; index < page.keys; index++) {
          const views = kept.get(order[p * this.pageKeys + index]);
          if (views) page.fresh.set(index, views);
        }
        pages[p] = page;
      }
      for (let index = 0; index < page.keys; index++) if (this.isSet(page, index)) this.setCount++;
    }
    this.pages = pages;
    this.assembled = undefined;
  }

  /** False while a key of the page has no lines yet. */
  private packPage(page: Page): boolean {
    const keys = page.keys;
    for (let i = 0; i < keys; i++) if (!this.isSet(page, i)) return false;
    const gauges = this.headers.length;
    const bounds = new Uint32Array(gauges * keys + 1);
    const sources: Buffer[] = [];
    let total = 0;
    for (let g = 0; g < gauges; g++) {
      for (let i = 0; i < keys; i++) {
        const view = this.lines(page, i, g);
        bounds[g * keys + i] = total;
        sources.push(view);
        total += view.length;
      }
    }
    bounds[gauges * keys] = total;
    const bytes = this.allocate(total);
    let offset = 0;
    for (const view of sources) offset += view.copy(bytes, offset);
    const views = Array.from({ length: gauges }, (_, g) => bytes.subarray(bounds[g * keys], bounds[(g + 1) * keys]));
    page.base = { bytes, bounds, views };
    page.fresh = new Map();
    this.assembled = undefined;
    return true;
  }
}

/**
 * The keys without duplicates, in UTF-16 code-unit order. Checked before sorting: the feeds read
 * them in order already, and sorting 20,000 strings held the event loop several ms.
 */
export function sortedUnique(keys: Iterable<string>): string[] {
  const list = [...keys];
  // Strictly ascending already (what the feeds read): no duplicates either, so no Set to build
  // (hashing 10,000 keys into one was a few ms of the first build's turn).
  let ascending = true;
  for (let i = 1; i < list.length && ascending; i++) ascending = list[i - 1] < list[i];
  if (ascending) return list;
  return [...new Set(list)].sort();
}

/**
 * Bytes in a SharedArrayBuffer of their own: a view of them posted to another thread shares the
 * memory instead of copying it (see shared-chunks.ts).
 */
export function sharedMemoryBytes(bytes: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(bytes));
}
