/** The StatusRepository (libs/persistence) the status controllers read from. */
export const STATUS_REPOSITORY = Symbol('STATUS_REPOSITORY');

/** The VerdictReadCache shared by the status controllers. */
export const VERDICT_CACHE = Symbol('VERDICT_CACHE');

/** The PollHealthCache behind the poll health of `GET /api/v1/targets/{target}`. */
export const POLL_HEALTH = Symbol('POLL_HEALTH');
