/**
 * Local bootstrap tokens: the launcher gives each workload a random token and
 * writes `<token> <namespace>/<serviceaccount>` lines to a file Citadel reads.
 * The file is re-read when its mtime or size changes, so new workloads can be
 * added without restarting Citadel. Tokens are compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { stat, readFile } from 'node:fs/promises';
import { citadelErrors } from '../errors';
import type { Authenticator, ProvedIdentity } from './authenticator';

interface Entry {
  digest: Buffer;
  namespace: string;
  serviceAccount: string;
}

const NAME = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const digest = (t: string) => createHash('sha256').update(t).digest();

/** Parses the tokens file text; throws CITADEL_ERR_TOKENS_FILE naming the line. */
export function parseTokensFile(text: string, file = 'tokens'): Entry[] {
  const out: Entry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(\S{16,})\s+([^/\s]+)\/(\S+)$/.exec(line);
    if (!m || !NAME.test(m[2]) || !NAME.test(m[3])) {
      throw citadelErrors.error('CITADEL_ERR_TOKENS_FILE', {
        file,
        why: `line ${i + 1}: expected "<token of 16+ chars> <namespace>/<serviceaccount>"`,
      });
    }
    out.push({ digest: digest(m[1]), namespace: m[2], serviceAccount: m[3] });
  });
  return out;
}

export class BootstrapTokens implements Authenticator {
  readonly name = 'bootstrap-token';
  private entries: Entry[] = [];
  private stamp = '';

  constructor(private readonly file: string) {}

  /** Loads now (start-up fails on a bad file); later reloads keep the last good set on error. */
  async load(): Promise<void> {
    await this.reload(true);
  }

  async authenticate(token: string): Promise<ProvedIdentity | null> {
    await this.reload(false);
    const d = digest(token);
    let found: Entry | null = null;
    for (const e of this.entries) if (timingSafeEqual(e.digest, d)) found = e;
    return found ? { namespace: found.namespace, serviceAccount: found.serviceAccount, via: this.name } : null;
  }

  private async reload(strict: boolean): Promise<void> {
    try {
      const s = await stat(this.file);
      const stamp = `${s.mtimeMs}:${s.size}`;
      if (stamp === this.stamp) return;
      this.entries = parseTokensFile(await readFile(this.file, 'utf8'), this.file);
      this.stamp = stamp;
    } catch (e) {
      if (strict) {
        if ((e as { code?: string }).code?.startsWith('CITADEL_')) throw e;
        throw citadelErrors.error('CITADEL_ERR_TOKENS_FILE', { file: this.file, why: (e as Error).message });
      }
    }
  }
}
