import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * GitHub signs each delivery with HMAC-SHA256 of the raw body under the webhook secret, sent as
 * `X-Hub-Signature-256: sha256=<hex>`. Compared in constant time; any other shape is invalid.
 */
export function validGitHubSignature(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  const match = /^sha256=([0-9a-f]{64})$/.exec(header ?? '');
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(Buffer.from(match[1], 'hex'), expected);
}
