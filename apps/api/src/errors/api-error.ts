/**
 * An error the API answers with: a stable `code` clients may branch on and a message for people.
 * Every error response has the shape `{ "error": { "code", "message" } }`.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const API_ERROR_CODES = [
  'bad-request',
  'unauthorized',
  'forbidden',
  'not-found',
  'method-not-allowed',
  'payload-too-large',
  'unsupported-media-type',
  'webhook-signature-invalid',
  'webhook-not-configured',
  'write-disabled',
  'unavailable',
  'internal-error',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

export const badRequest = (message: string) => new ApiError(400, 'bad-request', message);
export const notFound = (message: string) => new ApiError(404, 'not-found', message);
