/** The StatusRepository (libs/persistence) the status controllers read from. */
export const STATUS_REPOSITORY = Symbol('STATUS_REPOSITORY');
