/**
 * Key-range helpers shared by both backends: the exclusive end of a prefix range, and the
 * continue token of a paginated list.
 */
import { InvalidContinueError } from './errors.js';

/**
 * The smallest byte string greater than every key starting with `prefix` (etcd's "prefix + 1"),
 * or null for the empty prefix (no upper bound). Computed on UTF-8 bytes, matching etcd's and
 * SQLite's BINARY collation.
 */
export function prefixEndBytes(prefix: string): Buffer | null {
  const b = Buffer.from(prefix, 'utf8');
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i]! += 1;
      return end;
    }
  }
  return null;
}

/**
 * The same bound as a string, for SQLite text comparison. Incrementing the last code point keeps
 * the UTF-8 byte order (UTF-8 preserves code point order), skipping the surrogate range.
 */
export function prefixEndString(prefix: string): string | null {
  const cps = Array.from(prefix);
  while (cps.length > 0) {
    const last = cps.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return cps.join('') + String.fromCodePoint(next);
    }
  }
  return null;
}

/** What a continue token carries: the snapshot revision and the first key of the next page. */
export interface ContinueState {
  revision: number;
  startKey: string;
}

export function encodeContinue(state: ContinueState): string {
  return Buffer.from(JSON.stringify({ v: 1, rev: state.revision, start: state.startKey }), 'utf8').toString('base64url');
}

export function decodeContinue(token: string, prefix: string): ContinueState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidContinueError(token, 'not a token this store issued');
  }
  const p = parsed as { v?: unknown; rev?: unknown; start?: unknown };
  if (p === null || typeof p !== 'object' || p.v !== 1 || !Number.isSafeInteger(p.rev) || typeof p.start !== 'string') {
    throw new InvalidContinueError(token, 'not a token this store issued');
  }
  if (!p.start.startsWith(prefix)) throw new InvalidContinueError(token, `it belongs to a list of another prefix than ${JSON.stringify(prefix)}`);
  return { revision: p.rev as number, startKey: p.start };
}

/** The key right after `key` in byte order: where the next page starts. */
export function keyAfter(key: string): string {
  return key + '\u0000';
}
