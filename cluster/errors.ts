// The errors of `keel cluster`: each names what to fix (the data dir, the namespace, the pid).

export class ClusterError extends Error {
  override name = "ClusterError";
}

/** A cluster already runs from this data dir (its process is alive). */
export class ClusterRunningError extends ClusterError {
  override name = "ClusterRunningError";
  constructor(readonly dataDir: string, readonly pid: number) {
    super(`a cluster already runs from ${dataDir} (pid ${pid}); run \`keel cluster down --data-dir ${dataDir}\` first`);
  }
}

/** No cluster state in this data dir. */
export class NoClusterError extends ClusterError {
  override name = "NoClusterError";
  constructor(readonly dataDir: string) {
    super(`no cluster state in ${dataDir} (no cluster.json): was \`keel cluster up --data-dir ${dataDir}\` run?`);
  }
}

/** A network namespace keel wants to create exists already (another cluster's, or a leftover). */
export class NetnsExistsError extends ClusterError {
  override name = "NetnsExistsError";
  constructor(readonly netns: string) {
    super(`network namespace ${netns} already exists: another keel cluster uses it, or a previous one left it (\`ip netns del ${netns}\` after checking)`);
  }
}

export class InvalidClusterOptionError extends ClusterError {
  override name = "InvalidClusterOptionError";
  constructor(readonly field: string, readonly value: unknown, why: string) {
    super(`${field} ${typeof value === "string" ? JSON.stringify(value) : String(value)}: ${why}`);
  }
}

/** Waiting for the cluster (nodes Ready, the process to stop) took too long. */
export class ClusterTimeoutError extends ClusterError {
  override name = "ClusterTimeoutError";
  constructor(readonly what: string, readonly ms: number) {
    super(`${what}: not done after ${Math.round(ms / 1000)} s`);
  }
}
