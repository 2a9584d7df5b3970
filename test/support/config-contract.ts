/** Watchlist keys and environment variables as the code declares them (not a hand-kept list). */

/** Every key list the watchlist loader passes to its `map(node, field, [...allowed])`. */
export function watchlistKeys(loaderSource: string): string[] {
  const keys = new Set<string>();
  for (const m of loaderSource.matchAll(/this\.map\([^,]+,[^,]+,\s*\[([^\]]*)\]/g))
    for (const k of m[1].matchAll(/'([a-z_]+)'/g)) keys.add(k[1]);
  return [...keys].sort();
}

/** Every environment variable service.config.ts reads: `env.NAME` and its helpers' `url('NAME'...)`. */
export function environmentVariables(configSource: string): string[] {
  const names = new Set<string>();
  for (const m of configSource.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) names.add(m[1]);
  for (const m of configSource.matchAll(/\b(?:url|int|bool|list)\('([A-Z][A-Z0-9_]+)'/g)) names.add(m[1]);
  return [...names].sort();
}

/** The GET paths a Nest controller source declares (`@Controller('x')` + `@Get('y')`). */
export function controllerGetPaths(controllerSource: string): string[] {
  const base = /@Controller\(\s*'([^']*)'\s*\)/.exec(controllerSource)?.[1] ?? '';
  return [...controllerSource.matchAll(/@Get\(\s*'([^']*)'\s*\)/g)].map((m) => `/${[base, m[1]].filter(Boolean).join('/')}`);
}
