/**
 * A strict reader of one HTTP/1.1 response (RFC 9112), bytes in, head and body content out, with
 * no I/O of its own: the download path (http1/hashed-download) feeds it what the socket read.
 *
 * Every byte comes from a host we do not trust (a storage redirect can point anywhere the API
 * allows), so the reader accepts the plain, unambiguous form of the protocol and refuses the rest
 * instead of guessing:
 * - a head larger than `maxHeadBytes` or with more than `maxHeaderFields` fields (memory);
 * - bare LF or CR line ends, obs-fold continuation lines, whitespace before a field's colon,
 *   control characters in values (header injection, and parsers that disagree on where a field ends);
 * - a body framed two ways (Transfer-Encoding and Content-Length), a transfer coding other than
 *   chunked, Content-Length values that differ or are not plain digits (a smuggled or mis-framed
 *   body would hash to the wrong bytes);
 * - chunk sizes with more than 12 hex digits (overflow), chunk lines or trailers past their limits;
 * - 101 Switching Protocols, which a download never asked for.
 * Interim 1xx answers are skipped, as the protocol requires. Errors carry a fixed reason, never
 * the bytes that caused them (a header may hold a cookie or a signed URL).
 */

/** Why a response was refused; the text is fixed, so it is safe to log. */
export class Http1ProtocolError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'Http1ProtocolError';
  }
}

export interface Http1Head {
  readonly status: number;
  /** Field names and values in the order sent, as node:http's rawHeaders (latin1). */
  readonly rawHeaders: readonly string[];
}

/** How the end of the body is known. */
export type Http1BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  /** Neither length nor chunks: the body is what arrives until the server closes. */
  | { readonly kind: 'until-close' };

export interface Http1ResponseLimits {
  /** Status line and fields together, CRLFs included; also the bound on a chunked body's trailers. */
  readonly maxHeadBytes: number;
  readonly maxHeaderFields: number;
}

export const DEFAULT_HTTP1_LIMITS: Http1ResponseLimits = { maxHeadBytes: 64 * 1024, maxHeaderFields: 128 };

/** The longest chunk-size line (size, extensions) accepted; real ones are a few bytes. */
const MAX_CHUNK_LINE_BYTES = 4096;
/** 12 hex digits are 256 TiB: past any limit a download has, and far from 2^53. */
const MAX_CHUNK_SIZE_DIGITS = 12;

const CR = 0x0d;
const LF = 0x0a;
const HEAD_END = Buffer.from('\r\n\r\n');

const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9][0-9]{2})(?: [\t\x20-\x7e\x80-\xff]*)?$/;
/** field-name ":" field-value, with a token name; OWS is trimmed by hand (a lazy regex would backtrack). */
const FIELD_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):(.*)$/s;
/** No CTL but HTAB in a field value. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const DIGITS = /^[0-9]{1,15}$/;

type ChunkState = 'size' | 'size-ws' | 'extension' | 'size-lf' | 'data' | 'data-cr' | 'data-lf' | 'trailer' | 'trailer-lf' | 'done';

export class Http1ResponseParser {
  private headBytes: Buffer[] = [];
  /** The last (up to) three head bytes kept: a CRLFCRLF may straddle two reads. */
  private headTail: Buffer = Buffer.alloc(0);
  /** Head bytes counted over interim answers too: 1xx answers may not add up past the limit. */
  private headTotal = 0;
  private finalHead: Http1Head | undefined;
  private bodyFraming: Http1BodyFraming | undefined;
  /** length: bytes of content still to come; chunked: bytes of the current chunk still to come. */
  private remaining = 0;
  private chunkState: ChunkState = 'size';
  private chunkSize = 0;
  private chunkDigits = 0;
  private chunkLineBytes = 0;
  private trailerLineBytes = 0;
  private trailerBytes = 0;
  private complete = false;

  constructor(
    private readonly method: 'GET' | 'HEAD',
    private readonly limits: Http1ResponseLimits = DEFAULT_HTTP1_LIMITS,
  ) {}

  /** The final (non-1xx) head, once read. */
  get head(): Http1Head | undefined {
    return this.finalHead;
  }

  get framing(): Http1BodyFraming | undefined {
    return this.bodyFraming;
  }

  /** True once the body has ended by its framing (bytes after it are not part of this answer). */
  get bodyComplete(): boolean {
    return this.complete;
  }

  /**
   * Reads head bytes. Returns how many of `bytes` it used: all of them while the head is still
   * incomplete, fewer once the final head has ended (the rest is body, for `readBody`). Copies what
   * it keeps, so `bytes` may be a buffer the caller reuses.
   */
  readHead(bytes: Uint8Array): number {
    if (this.finalHead !== undefined) throw new Error('the head has been read already');
    let used = 0;
    while (used < bytes.length && this.finalHead === undefined) {
      const rest = bytes.subarray(used);
      const end = this.findHeadEnd(rest);
      const take = end === -1 ? rest.length : end;
      if (this.headTotal + take > this.limits.maxHeadBytes) throw new Http1ProtocolError('response head too large');
      const kept = Buffer.from(rest.subarray(0, take));
      // Refused at once rather than when the head would have ended: a head of bare LFs never ends.
      this.checkLineEnds(kept);
      this.headBytes.push(kept);
      this.headTotal += take;
      used += take;
      if (end === -1) {
        this.headTail = Buffer.concat([this.headTail, kept]).subarray(-3);
        break;
      }
      const text = Buffer.concat(this.headBytes).toString('latin1');
      this.headBytes = [];
      this.headTail = Buffer.alloc(0);
      this.parseHead(text);
    }
    return used;
  }

  /**
   * Reads body bytes, handing each run of content to `content` (a view into `bytes`: copy it to
   * keep it). Returns true once the body is complete; bytes past its end are ignored.
   */
  readBody(bytes: Uint8Array, content: (view: Uint8Array) => void): boolean {
    const framing = this.bodyFraming;
    if (framing === undefined) throw new Error('the head has not been read yet');
    if (this.complete || bytes.length === 0) return this.complete;
    if (framing.kind === 'until-close') {
      content(bytes);
      return false;
    }
    if (framing.kind === 'length') {
      const n = Math.min(bytes.length, this.remaining);
      if (n > 0) content(n === bytes.length ? bytes : bytes.subarray(0, n));
      this.remaining -= n;
      this.complete = this.remaining === 0;
      return this.complete;
    }
    if (framing.kind === 'chunked') this.readChunked(bytes, content);
    return this.complete;
  }

  /**
   * The server closed the connection. True when that ends the body (it is close-delimited, or it
   * was complete already); false when the answer was cut short.
   */
  closed(): boolean {
    if (this.complete) return true;
    if (this.bodyFraming?.kind === 'until-close') {
      this.complete = true;
      return true;
    }
    return false;
  }

  /** Every LF of the head follows a CR (the CR may be the last byte of an earlier read). */
  private checkLineEnds(bytes: Buffer): void {
    for (let at = bytes.indexOf(LF); at !== -1; at = bytes.indexOf(LF, at + 1)) {
      const before = at > 0 ? bytes[at - 1] : this.headTail.at(-1);
      if (before !== CR) throw new Http1ProtocolError('bare CR or LF in the response head');
    }
  }

  /** Index in `bytes` just past the blank line that ends the head, or -1. */
  private findHeadEnd(bytes: Uint8Array): number {
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    if (this.headTail.length > 0) {
      // Only a CRLFCRLF that starts in the kept tail: one wholly in `bytes` is found below.
      const joint = Buffer.concat([this.headTail, view.subarray(0, 3)]);
      const at = joint.indexOf(HEAD_END);
      if (at !== -1 && at < this.headTail.length) return at + HEAD_END.length - this.headTail.length;
    }
    const at = view.indexOf(HEAD_END);
    return at === -1 ? -1 : at + HEAD_END.length;
  }

  private parseHead(text: string): void {
    const lines = text.slice(0, -4).split('\r\n');
    // A CR or LF left in a line was not part of a CRLF: a bare line end.
    if (lines.some((line) => line.includes('\r') || line.includes('\n'))) throw new Http1ProtocolError('bare CR or LF in the response head');
    const statusLine = STATUS_LINE.exec(lines[0]);
    if (statusLine === null) throw new Http1ProtocolError('malformed status line');
    const minor = Number(statusLine[1]);
    const status = Number(statusLine[2]);
    if (lines.length - 1 > this.limits.maxHeaderFields) throw new Http1ProtocolError('too many header fields');
    const rawHeaders: string[] = [];
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      if (line.startsWith(' ') || line.startsWith('\t')) throw new Http1ProtocolError('obsolete line folding in a header field');
      const field = FIELD_LINE.exec(line);
      if (field === null || !FIELD_VALUE.test(field[2])) throw new Http1ProtocolError('malformed header field');
      rawHeaders.push(field[1], trimOws(field[2]));
    }
    if (status === 101) throw new Http1ProtocolError('unrequested protocol switch (101)');
    // Interim answers (100 Continue, 103 Early Hints) precede the real one: read on.
    if (status < 200) return;
    this.finalHead = { status, rawHeaders };
    this.bodyFraming = this.framingOf(status, minor, rawHeaders);
    if (this.bodyFraming.kind === 'none' || (this.bodyFraming.kind === 'length' && this.bodyFraming.length === 0)) this.complete = true;
    if (this.bodyFraming.kind === 'length') this.remaining = this.bodyFraming.length;
  }

  /** RFC 9112 section 6.3, with every ambiguous case refused rather than resolved. */
  private framingOf(status: number, minor: number, rawHeaders: readonly string[]): Http1BodyFraming {
    const codings: string[] = [];
    const lengths: string[] = [];
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i].toLowerCase();
      const values = rawHeaders[i + 1].split(',').map((v) => v.trim());
      if (name === 'transfer-encoding') codings.push(...values.map((v) => v.toLowerCase()));
      else if (name === 'content-length') lengths.push(...values);
    }
    if (this.method === 'HEAD' || status === 204 || status === 304) return { kind: 'none' };
    if (codings.length > 0) {
      if (lengths.length > 0) throw new Http1ProtocolError('both Transfer-Encoding and Content-Length');
      if (minor === 0) throw new Http1ProtocolError('Transfer-Encoding in an HTTP/1.0 answer');
      if (codings.length !== 1 || codings[0] !== 'chunked') throw new Http1ProtocolError('transfer coding other than chunked');
      return { kind: 'chunked' };
    }
    if (lengths.length > 0) {
      if (!lengths.every((v) => DIGITS.test(v))) throw new Http1ProtocolError('malformed Content-Length');
      if (!lengths.every((v) => Number(v) === Number(lengths[0]))) throw new Http1ProtocolError('conflicting Content-Length values');
      return { kind: 'length', length: Number(lengths[0]) };
    }
    return { kind: 'until-close' };
  }

  /** The chunked coding, one byte of framing at a time and content in runs. */
  private readChunked(bytes: Uint8Array, content: (view: Uint8Array) => void): void {
    let i = 0;
    while (i < bytes.length && this.chunkState !== 'done') {
      const byte = bytes[i];
      switch (this.chunkState) {
        case 'size': {
          const digit = hexValue(byte);
          if (digit !== -1) {
            if (++this.chunkDigits > MAX_CHUNK_SIZE_DIGITS) throw new Http1ProtocolError('chunk size too large');
            this.chunkSize = this.chunkSize * 16 + digit;
          } else if (this.chunkDigits === 0) {
            throw new Http1ProtocolError('malformed chunk size');
          } else if (byte === CR) {
            this.chunkState = 'size-lf';
          } else if (byte === 0x3b) {
            // `;` starts an extension. Extensions are read past, never used.
            this.chunkState = 'extension';
          } else if (byte === 0x20 || byte === 0x09) {
            this.chunkState = 'size-ws';
          } else {
            throw new Http1ProtocolError('malformed chunk size');
          }
          this.countChunkLine();
          i++;
          break;
        }
        case 'size-ws':
          // BWS may only lead to an extension or the line's end, never to more digits.
          if (byte === 0x3b) this.chunkState = 'extension';
          else if (byte === CR) this.chunkState = 'size-lf';
          else if (byte !== 0x20 && byte !== 0x09) throw new Http1ProtocolError('malformed chunk size');
          this.countChunkLine();
          i++;
          break;
        case 'extension':
          if (byte === CR) this.chunkState = 'size-lf';
          else if (byte === LF || byte === 0x7f || (byte < 0x20 && byte !== 0x09)) throw new Http1ProtocolError('malformed chunk extension');
          this.countChunkLine();
          i++;
          break;
        case 'size-lf':
          if (byte !== LF) throw new Http1ProtocolError('bare CR in a chunk line');
          i++;
          this.chunkLineBytes = 0;
          this.chunkDigits = 0;
          if (this.chunkSize === 0) {
            this.chunkState = 'trailer';
          } else {
            this.remaining = this.chunkSize;
            this.chunkSize = 0;
            this.chunkState = 'data';
          }
          break;
        case 'data': {
          const n = Math.min(bytes.length - i, this.remaining);
          content(bytes.subarray(i, i + n));
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.chunkState = 'data-cr';
          break;
        }
        case 'data-cr':
          if (byte !== CR) throw new Http1ProtocolError('chunk longer than its size');
          this.chunkState = 'data-lf';
          i++;
          break;
        case 'data-lf':
          if (byte !== LF) throw new Http1ProtocolError('bare CR after chunk data');
          this.chunkState = 'size';
          i++;
          break;
        case 'trailer':
          // Trailer fields are read past (nothing here uses them), within the head's limit.
          this.countTrailer();
          if (byte === CR) this.chunkState = 'trailer-lf';
          else if (byte === LF || byte === 0) throw new Http1ProtocolError('malformed chunked trailer');
          else this.trailerLineBytes++;
          i++;
          break;
        case 'trailer-lf':
          this.countTrailer();
          if (byte !== LF) throw new Http1ProtocolError('malformed chunked trailer');
          i++;
          if (this.trailerLineBytes === 0) {
            this.chunkState = 'done';
            this.complete = true;
          } else {
            this.trailerLineBytes = 0;
            this.chunkState = 'trailer';
          }
          break;
      }
    }
  }

  private countTrailer(): void {
    if (++this.trailerBytes > this.limits.maxHeadBytes) throw new Http1ProtocolError('chunked trailer too large');
  }

  private countChunkLine(): void {
    if (++this.chunkLineBytes > MAX_CHUNK_LINE_BYTES) throw new Http1ProtocolError('chunk line too long');
  }
}

/** OWS is SP and HTAB only (String.trim would also take 0xA0, a valid obs-text byte). */
function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value[start] === ' ' || value[start] === '\t')) start++;
  while (end > start && (value[end - 1] === ' ' || value[end - 1] === '\t')) end--;
  return value.slice(start, end);
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  return -1;
}
