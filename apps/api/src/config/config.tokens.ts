/** Injection tokens for the validated configuration (see libs/config). */
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
export const WATCHLIST = Symbol('WATCHLIST');
