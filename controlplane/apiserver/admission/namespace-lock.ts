// One admission at a time per namespace: quota is checked and charged as a unit, so two
// concurrent creates can never both see the same `used` and both fit.
export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs fn after every earlier call with the same key has settled. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    // Drop the entry once nothing is queued behind this call, so idle namespaces cost nothing.
    void tail.then(() => { if (this.tails.get(key) === tail) this.tails.delete(key); });
    return next;
  }
}
