/** A small Dockerfile reader and a check of the mistakes hadolint would catch (hadolint is not installable here). */

export interface Instruction {
  line: number;
  keyword: string;
  args: string;
}

export interface Stage {
  name?: string;
  from: string;
  instructions: Instruction[];
}

/** Instructions with continuation lines joined; comments and blank lines dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i];
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++;
      const next = lines[i];
      line = line.slice(0, -1) + (/^\s*#/.test(next) ? '' : ` ${next.trim()}`);
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (m) out.push({ line: start + 1, keyword: m[1].toUpperCase(), args: m[2].trim() });
  }
  return out;
}

export function stages(instructions: Instruction[]): Stage[] {
  const result: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      result.push({ from: m?.[1] ?? ins.args, name: m?.[2], instructions: [] });
    } else if (result.length > 0) result[result.length - 1].instructions.push(ins);
  }
  return result;
}

export interface CopyInstruction {
  from?: string;
  sources: string[];
  destination: string;
}

export function copyInstruction(ins: Instruction): CopyInstruction {
  const words = ins.args.split(/\s+/);
  let from: string | undefined;
  const rest: string[] = [];
  for (const w of words) {
    const m = /^--from=(.+)$/.exec(w);
    if (m) from = m[1];
    else if (!w.startsWith('--')) rest.push(w);
  }
  return { from, sources: rest.slice(0, -1), destination: rest[rest.length - 1] };
}

const isExecForm = (args: string) => {
  if (!args.startsWith('[')) return false;
  try {
    const parsed = JSON.parse(args) as unknown;
    return Array.isArray(parsed) && parsed.every((x) => typeof x === 'string');
  } catch {
    return false;
  }
};

/** Every problem as `line N: message`; empty when the Dockerfile is clean. */
export function lintDockerfile(text: string): string[] {
  const problems: string[] = [];
  const instructions = parseDockerfile(text);
  const all = stages(instructions);
  if (all.length === 0) return ['no FROM'];
  const stageNames = new Set(all.map((s) => s.name).filter(Boolean));
  for (const ins of instructions) {
    const at = `line ${ins.line}`;
    if (ins.keyword === 'FROM') {
      const image = stages([ins])[0].from;
      if (!stageNames.has(image) && image !== 'scratch') {
        const tag = /@sha256:/.test(image) ? 'digest' : /:([^/:]+)$/.exec(image)?.[1];
        if (!tag) problems.push(`${at}: FROM ${image} has no tag (means latest)`);
        else if (tag === 'latest') problems.push(`${at}: FROM ${image} uses the latest tag`);
      }
    }
    if (ins.keyword === 'ADD' && !/^(--\S+\s+)*(https?:\/\/|git@)/.test(ins.args)) problems.push(`${at}: ADD for local files; use COPY`);
    if ((ins.keyword === 'CMD' || ins.keyword === 'ENTRYPOINT') && !isExecForm(ins.args)) problems.push(`${at}: ${ins.keyword} in shell form; signals do not reach the process`);
    if (ins.keyword === 'HEALTHCHECK' && !/\bNONE\b/.test(ins.args)) {
      const cmd = /\bCMD\s+(.*)$/.exec(ins.args)?.[1] ?? '';
      if (!isExecForm(cmd)) problems.push(`${at}: HEALTHCHECK CMD not in exec form`);
    }
    if (ins.keyword === 'RUN') {
      if (/\bnpm\s+(install|i)\b/.test(ins.args)) problems.push(`${at}: npm install; use npm ci (the lock file, exactly)`);
      if (/\bapt-get\s+install\b/.test(ins.args)) {
        if (!/rm -rf \/var\/lib\/apt\/lists/.test(ins.args)) problems.push(`${at}: apt lists not removed in the same RUN`);
        if (!/--no-install-recommends/.test(ins.args)) problems.push(`${at}: apt-get install without --no-install-recommends`);
        if (!/apt-get update/.test(ins.args)) problems.push(`${at}: apt-get install without apt-get update in the same RUN`);
      }
      if (/\bsudo\b/.test(ins.args)) problems.push(`${at}: sudo in RUN`);
      if (/curl[^|]*\|\s*(ba)?sh/.test(ins.args)) problems.push(`${at}: piping a download into a shell`);
    }
    if (ins.keyword === 'ENV' || ins.keyword === 'ARG') {
      // Values of ENV and ARG end up in the image config and its history: never secrets.
      if (/\b\w*(PASSWORD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIALS?)\w*\s*=/i.test(ins.args) || /^\w*(PASSWORD|SECRET|TOKEN|API_KEY)\w*$/i.test(ins.args))
        problems.push(`${at}: ${ins.keyword} names a secret (${ins.args.split(/[\s=]/)[0]}); it would be kept in the image`);
    }
    if (ins.keyword === 'MAINTAINER') problems.push(`${at}: MAINTAINER is deprecated; use a LABEL`);
  }
  const final = all[all.length - 1];
  const users = final.instructions.filter((i) => i.keyword === 'USER');
  const lastUser = users[users.length - 1];
  const cmdLine = Math.max(...final.instructions.filter((i) => i.keyword === 'CMD' || i.keyword === 'ENTRYPOINT').map((i) => i.line), -1);
  if (cmdLine < 0) problems.push('final stage has no CMD or ENTRYPOINT');
  if (!lastUser) problems.push('final stage has no USER: the process would run as root');
  else {
    if (/^(root|0)(:|$)/.test(lastUser.args)) problems.push(`line ${lastUser.line}: USER ${lastUser.args} is root`);
    if (lastUser.line > cmdLine) problems.push(`line ${lastUser.line}: USER after CMD/ENTRYPOINT`);
  }
  if (!final.instructions.some((i) => i.keyword === 'HEALTHCHECK')) problems.push('final stage has no HEALTHCHECK');
  return problems;
}
