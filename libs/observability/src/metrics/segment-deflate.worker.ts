/**
 * The segment deflate thread (see segment-deflater.ts): compresses each piece it is sent into a
 * raw deflate segment ended by a sync flush, with the CRC-32 of the plain bytes, and sends the
 * compressed bytes back (transferred). Nothing is kept from one piece to the next.
 */
import { constants, crc32, deflateRawSync } from 'node:zlib';
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThisThreadsPriority } from '../thread-priority';
import { DEFLATE_LEVEL, type DeflateReply, type DeflateRequest, SEGMENT_DEFLATE_WORKER_MARK } from './segment-deflater';

/** Background work, as the status series thread is: the serving thread comes first. */
const DEFLATE_THREAD_NICE = 10;

const port = (workerData as Record<string, unknown> | null)?.[SEGMENT_DEFLATE_WORKER_MARK] === true ? parentPort : null;
if (port) {
  lowerThisThreadsPriority(DEFLATE_THREAD_NICE);
  port.on('message', ({ id, memory, offset, length }: DeflateRequest) => {
    let reply: DeflateReply;
    try {
      const plain = Buffer.from(memory, offset, length);
      const deflated = deflateRawSync(plain, { level: DEFLATE_LEVEL, finishFlush: constants.Z_SYNC_FLUSH });
      // An ArrayBuffer of exactly these bytes, so that it can be transferred rather than copied.
      const bytes = new ArrayBuffer(deflated.length);
      new Uint8Array(bytes).set(deflated);
      reply = { id, deflated: bytes, crc: crc32(plain) };
    } catch (err) {
      reply = { id, error: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply, 'deflated' in reply ? [reply.deflated] : []);
  });
}
