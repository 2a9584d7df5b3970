/** A mistake in how the command was called: exit 2 with usage, never a verdict. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
