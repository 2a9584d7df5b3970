/** One problem in the configuration, located as precisely as the source allows. */
export interface ConfigProblem {
  /** File name, or `environment`. */
  source: string;
  line?: number;
  column?: number;
  /** Dotted path of the field (`targets[0].identity.subject_regexp`) or the variable name. */
  field: string;
  message: string;
}

/**
 * Configuration that cannot be used. Lists every problem at once, each as `file:line: field:
 * message`, so an operator fixes the file in one go; the process refuses to start.
 */
export class ConfigError extends Error {
  readonly code = 'config-invalid';

  constructor(readonly problems: ConfigProblem[]) {
    super(`invalid configuration:\n${problems.map(formatProblem).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line !== undefined ? `${p.source}:${p.line}${p.column !== undefined ? `:${p.column}` : ''}` : p.source;
  return `  ${where}: ${p.field}: ${p.message}`;
}
