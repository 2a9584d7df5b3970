/**
 * Exposition chunks handed from the thread that builds them to the thread that serves them,
 * without copying the series: postMessage shares a SharedArrayBuffer (both threads see the same
 * memory) where it would copy an ordinary one. 100 MB copied into the serving thread per change
 * would be the very stall the series thread exists to avoid. The builder never writes bytes it
 * has handed out (PagedSeries writes slabs and pages once), so the views stay valid and
 * unchanged for as long as the serving thread holds them.
 *
 * Each memory crosses once. Every SharedArrayBuffer object a thread receives is counted by V8 as
 * external memory of that thread's heap: posting all ~150 pages (100 MB) again with every update
 * made the serving thread's heap believe it had grown by 100 MB ten times a second, and it ran
 * full collections for it. So the sender numbers its memories, sends each with its first use, and
 * says when it dropped one (it was collected there), and the receiver keeps them by number.
 */
export interface SharedChunks {
  /** Memories used for the first time, with their numbers. */
  added: Array<[number, SharedArrayBuffer]>;
  /** Numbers of memories the sender no longer uses (the receiver drops its reference). */
  released: number[];
  /** Per chunk, in order: its memory's number, its offset and its length. */
  spans: Uint32Array;
}

/** The building thread's end: one per receiving thread. */
export class SharedChunkSender {
  private nextId = 0;
  private readonly ids = new WeakMap<SharedArrayBuffer, number>();
  /** Shared copies of chunks that were not in shared memory (headers: the same Buffer every time). */
  private readonly copies = new WeakMap<Buffer, Buffer>();
  private released: number[] = [];
  // Called after the memory was collected here: nothing here can use that number again.
  private readonly collected = new FinalizationRegistry<number>((id) => this.released.push(id));

  /**
   * The chunks as spans of shared memory. Chunks not already in shared memory are copied into
   * shared memory of their own: strings each time (a few bytes of totals), Buffers once.
   */
  share(chunks: ReadonlyArray<Buffer | string>): SharedChunks {
    const added: Array<[number, SharedArrayBuffer]> = [];
    const spans = new Uint32Array(chunks.length * 3);
    const strings: Array<{ chunk: number; bytes: Buffer }> = [];
    let stringBytes = 0;
    const place = (bytes: Buffer, i: number) => {
      const memory = bytes.buffer as SharedArrayBuffer;
      let id = this.ids.get(memory);
      if (id === undefined) {
        id = this.nextId++;
        this.ids.set(memory, id);
        this.collected.register(memory, id);
        added.push([id, memory]);
      }
      spans[i * 3] = id;
      spans[i * 3 + 1] = bytes.byteOffset;
      spans[i * 3 + 2] = bytes.byteLength;
    };
    chunks.forEach((chunk, i) => {
      if (typeof chunk === 'string') {
        const bytes = Buffer.from(chunk);
        strings.push({ chunk: i, bytes });
        stringBytes += bytes.length;
      } else if (chunk.buffer instanceof SharedArrayBuffer) {
        place(chunk, i);
      } else {
        let copy = this.copies.get(chunk);
        if (!copy) {
          copy = Buffer.from(new SharedArrayBuffer(chunk.length));
          chunk.copy(copy);
          this.copies.set(chunk, copy);
        }
        place(copy, i);
      }
    });
    if (strings.length > 0) {
      const memory = Buffer.from(new SharedArrayBuffer(stringBytes));
      let offset = 0;
      for (const { chunk, bytes } of strings) {
        offset += bytes.copy(memory, offset);
        place(memory.subarray(offset - bytes.length, offset), chunk);
      }
    }
    const released = this.released;
    this.released = [];
    return { added, released, spans };
  }
}

/** The serving thread's end: the memories received so far, by number. */
export class SharedChunkReceiver {
  private readonly memories = new Map<number, SharedArrayBuffer>();

  /**
   * Takes one message, in the order sent, and returns what makes its views: call it for every
   * message (it keeps the numbering), make the views only when they are needed. A span outside
   * its memory, or of a memory never received, is refused: it would be a bug in the sender, and a
   * view past the end would throw later, mid-scrape.
   */
  receive(shared: SharedChunks): () => Buffer[] {
    for (const [id, memory] of shared.added) this.memories.set(id, memory);
    const { spans } = shared;
    if (spans.length % 3 !== 0) throw new Error(`shared chunks: ${spans.length} span fields is not a multiple of 3`);
    // Resolved now: a later message may release a number these spans use.
    const memories = new Array<SharedArrayBuffer>(spans.length / 3);
    for (let i = 0; i < memories.length; i++) {
      const memory = this.memories.get(spans[i * 3]);
      if (memory === undefined || spans[i * 3 + 1] + spans[i * 3 + 2] > memory.byteLength) throw new Error(`shared chunks: chunk ${i} lies outside its buffer`);
      memories[i] = memory;
    }
    for (const id of shared.released) this.memories.delete(id);
    return () => memories.map((memory, i) => Buffer.from(memory, spans[i * 3 + 1], spans[i * 3 + 2]));
  }

  /** Memories held (tests: released ones are dropped). */
  get size(): number {
    return this.memories.size;
  }
}
