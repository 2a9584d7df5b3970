/** The StatusRepository (libs/persistence) the status controllers read from. */
export const STATUS_REPOSITORY = Symbol('STATUS_REPOSITORY');

/** The VerdictReadCache shared by the status controllers. */
export const VERDICT_CACHE = Symbol('VERDICT_CACHE');
