/**
 * `openStore(spec)`: the one way the API server picks a backend.
 *   sqlite:/path/to/file.db              the embedded store (the file is created if missing)
 *   etcd:http://127.0.0.1:2379[,url...]  a real etcd cluster
 */
import { InvalidStoreSpecError } from './errors.js';
import type { EtcdStoreOptions } from './etcd.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite.js';
import type { Store } from './types.js';

export interface OpenStoreOptions {
  sqlite?: SqliteStoreOptions;
  etcd?: EtcdStoreOptions;
}

export async function openStore(spec: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const colon = spec.indexOf(':');
  const scheme = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? '' : spec.slice(colon + 1);
  switch (scheme) {
    case 'sqlite':
      if (!rest) throw new InvalidStoreSpecError(spec, 'missing the database file path');
      return new SqliteStore(rest, opts.sqlite);
    case 'etcd': {
      const urls = rest.split(',').map((u) => u.trim()).filter(Boolean);
      if (urls.length === 0) throw new InvalidStoreSpecError(spec, 'missing etcd endpoint URLs');
      for (const u of urls) {
        let parsed: URL;
        try {
          parsed = new URL(u);
        } catch {
          throw new InvalidStoreSpecError(spec, `${JSON.stringify(u)} is not a URL`);
        }
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InvalidStoreSpecError(spec, `${JSON.stringify(u)} must be http:// or https://`);
      }
      // Loaded only when asked for: etcd3 brings gRPC and protobufjs, some 15 MB a SQLite server never needs.
      const { EtcdStore } = await import('./etcd.js');
      const store = new EtcdStore(urls, opts.etcd);
      try {
        await store.currentRevision(); // fail fast on an unreachable etcd
      } catch (err) {
        await store.close();
        throw err;
      }
      return store;
    }
    default:
      throw new InvalidStoreSpecError(spec, `unknown backend ${JSON.stringify(scheme)}`);
  }
}
