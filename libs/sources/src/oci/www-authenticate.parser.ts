export interface AuthChallenge {
  /** Lower-cased scheme: `bearer`, `basic`, ... */
  readonly scheme: string;
  /** Parameter names lower-cased, values unquoted. */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
const TOKEN68 = /[A-Za-z0-9\-._~+/]+=*/y;
// Unquoted values should be tokens; some servers send bare URLs, so take anything up to a separator.
const BARE_VALUE = /[^,\s"]+/y;

/**
 * Parses a `WWW-Authenticate` value (RFC 9110 §11.6.1), possibly several challenges in one
 * header. The header is attacker-controlled: malformed input yields the challenges parsed so far
 * rather than an exception, and the caller then treats the answer as unauthorized.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  if (header.length > 8192) return challenges;
  let i = 0;
  const s = header;
  const skipWs = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const token = (re: RegExp): string | undefined => {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return undefined;
    i = re.lastIndex;
    return m[0];
  };
  const quoted = (): string | undefined => {
    if (s[i] !== '"') return undefined;
    let out = '';
    for (i++; i < s.length; i++) {
      const c = s[i];
      if (c === '\\' && i + 1 < s.length) out += s[++i];
      else if (c === '"') {
        i++;
        return out;
      } else out += c;
    }
    return undefined; // unterminated
  };

  while (i < s.length) {
    skipWs();
    while (s[i] === ',') {
      i++;
      skipWs();
    }
    if (i >= s.length) break;
    const scheme = token(TOKEN);
    if (scheme === undefined) break;
    const params: Record<string, string> = {};
    challenges.push({ scheme: scheme.toLowerCase(), params });
    skipWs();
    // Either a token68 (Basic's credentials form, unused by registries) or auth-params.
    const save = i;
    const name = token(TOKEN);
    skipWs();
    if (name !== undefined && s[i] === '=') {
      i = save;
      for (;;) {
        skipWs();
        const start = i;
        const key = token(TOKEN);
        skipWs();
        if (key === undefined || s[i] !== '=') {
          i = start; // next challenge begins here
          break;
        }
        i++;
        skipWs();
        const value = s[i] === '"' ? quoted() : token(BARE_VALUE);
        if (value === undefined) return challenges;
        params[key.toLowerCase()] = value;
        skipWs();
        if (s[i] !== ',') break;
        i++;
      }
    } else {
      i = save;
      token(TOKEN68);
    }
  }
  return challenges;
}
