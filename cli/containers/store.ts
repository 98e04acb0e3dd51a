// The containers `keel run` makes, as podman keeps them: one directory each under
// /var/lib/keel/containers/<id> with container.json (name, image, command, created), the bundle
// (config.json), and — for detached ones — the supervisor's log, exit record and pid file. The
// runtime's own state (/run/keel) says whether each is running.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { writeFileAtomicSync } from "../../lib/atomic-file.js";
import { supervisedFiles, type SupervisedFiles } from "../../runtime/supervised.js";

export interface ContainerRecord {
  id: string;
  name: string;
  image: string;
  imageDigest: string;
  command: string[];
  created: string;
  detached: boolean;
  /** Remove everything when the container exits (foreground --rm). */
  autoRemove: boolean;
}

export class ContainerNotFound extends Error {
  readonly code = "ENOCONTAINER";
  constructor(readonly ref: string) {
    super(`no container named or with id '${ref}' (see keel ps -a)`);
    this.name = "ContainerNotFound";
  }
}

export class NameInUse extends Error {
  readonly code = "ENAMEINUSE";
  constructor(readonly containerName: string, readonly id: string) {
    super(`the name '${containerName}' is in use by container ${id.slice(0, 12)}: remove it (keel rm) or choose another --name`);
    this.name = "NameInUse";
  }
}

const ADJECTIVES = ["brave", "calm", "eager", "fond", "gentle", "happy", "keen", "lucid", "merry", "nimble", "proud", "quiet", "sharp", "swift", "tidy", "vivid", "witty", "zesty"];
const NOUNS = ["albatross", "badger", "crane", "dolphin", "falcon", "gecko", "heron", "ibis", "jaguar", "koala", "lynx", "marten", "otter", "puffin", "quail", "raven", "seal", "tern"];

export class ContainerStore {
  constructor(readonly root = process.env.KEEL_CONTAINERS_ROOT ?? "/var/lib/keel/containers") {}

  dir(id: string): string {
    return join(this.root, id);
  }
  bundle(id: string): string {
    return join(this.dir(id), "bundle");
  }
  files(id: string): SupervisedFiles {
    return supervisedFiles(this.dir(id));
  }

  list(): ContainerRecord[] {
    if (!existsSync(this.root)) return [];
    const out: ContainerRecord[] = [];
    for (const id of readdirSync(this.root)) {
      try {
        out.push(JSON.parse(readFileSync(join(this.root, id, "container.json"), "utf8")) as ContainerRecord);
      } catch { /* being created or removed */ }
    }
    return out.sort((a, b) => a.created.localeCompare(b.created));
  }

  /** By full id, unique id prefix, or name. */
  find(ref: string): ContainerRecord {
    const all = this.list();
    const hit = all.find((c) => c.name === ref || c.id === ref) ?? (ref.length >= 3 ? all.filter((c) => c.id.startsWith(ref)) : []).find((_, __, arr) => arr.length === 1);
    if (!hit) throw new ContainerNotFound(ref);
    return hit;
  }

  /** Reserves a new container's directory and name. */
  create(o: Omit<ContainerRecord, "id" | "created" | "name"> & { name?: string }): ContainerRecord {
    const taken = new Set(this.list().map((c) => c.name));
    let name = o.name;
    if (name) {
      const other = this.list().find((c) => c.name === name);
      if (other) throw new NameInUse(name, other.id);
    } else {
      do name = `${ADJECTIVES[randomBytes(1)[0]! % ADJECTIVES.length]}_${NOUNS[randomBytes(1)[0]! % NOUNS.length]}`;
      while (taken.has(name));
    }
    const rec: ContainerRecord = { ...o, id: randomBytes(32).toString("hex"), name, created: new Date().toISOString() };
    mkdirSync(this.bundle(rec.id), { recursive: true, mode: 0o711 });
    // A --rm container's record lives as long as its process: no need to make it durable.
    writeFileAtomicSync(join(this.dir(rec.id), "container.json"), JSON.stringify(rec, null, 2), 0o644, { durable: !o.autoRemove });
    return rec;
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }
}
