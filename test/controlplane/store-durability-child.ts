/**
 * Child process for the SQLite durability test: opens the store given as argv[2] and runs
 * argv[3] concurrent writers, each creating its key then updating it forever. After each write's
 * promise resolves it prints "key value" on stdout: a printed line is an acknowledged write,
 * which must survive the SIGKILL the parent sends at some point.
 */
import { openStore } from '../../controlplane/store/index.js';

const [path, writersArg] = process.argv.slice(2);
const store = await openStore(`sqlite:${path}`);
const writers = Number(writersArg ?? 16);
const out = (line: string) => process.stdout.write(line + '\n');

await Promise.all(
  Array.from({ length: writers }, async (_, w) => {
    let kv = await store.create(`/durable/w${w}`, '0');
    out(`${kv.key} 0`);
    for (let i = 1; ; i++) {
      kv = await store.update(kv.key, String(i), kv.modRevision);
      out(`${kv.key} ${i}`);
    }
  }),
);
