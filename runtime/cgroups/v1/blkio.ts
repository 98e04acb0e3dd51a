// v1 blkio: weight and per-device weight (CFQ's blkio.weight, or BFQ's blkio.bfq.weight on
// kernels without CFQ), leaf weights (CFQ only), and the four throttles, one device per write.
import type { LinuxBlockIO, LinuxResources } from "../../../oci/runtime-spec.js";
import type { IoDeviceStats } from "../driver.js";
import { CgroupUnsupportedError } from "../errors.js";
import type { CgroupDir } from "../files.js";
import { devNo } from "../shared.js";
import type { V1Controller } from "./controller.js";

/** CFQ's file when the kernel has it, else BFQ's (CFQ was removed in Linux 5.0). */
function weightFile(dir: CgroupDir, cfq: string, bfq: string): string {
  return dir.has(cfq) || !dir.has(bfq) ? cfq : bfq;
}

function needFile(dir: CgroupDir, file: string, field: string): string {
  if (!dir.has(file)) throw new CgroupUnsupportedError(field, `this kernel has no ${file} (its I/O scheduler does not support it)`, { path: dir.path, file });
  return file;
}

export const THROTTLES = [
  ["throttleReadBpsDevice", "blkio.throttle.read_bps_device"],
  ["throttleWriteBpsDevice", "blkio.throttle.write_bps_device"],
  ["throttleReadIOPSDevice", "blkio.throttle.read_iops_device"],
  ["throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"],
] as const;

export function applyBlkio(dir: CgroupDir, b: LinuxBlockIO): void {
  if (b.weight !== undefined) dir.write(weightFile(dir, "blkio.weight", "blkio.bfq.weight"), b.weight);
  if (b.leafWeight !== undefined) dir.write(needFile(dir, "blkio.leaf_weight", "linux.resources.blockIO.leafWeight"), b.leafWeight);
  for (const wd of b.weightDevice ?? []) {
    if (wd.weight !== undefined) dir.write(weightFile(dir, "blkio.weight_device", "blkio.bfq.weight_device"), `${devNo(wd)} ${wd.weight}`);
    if (wd.leafWeight !== undefined)
      dir.write(needFile(dir, "blkio.leaf_weight_device", "linux.resources.blockIO.weightDevice.leafWeight"), `${devNo(wd)} ${wd.leafWeight}`);
  }
  // A rate of 0 removes a device's throttle, in v1's own terms.
  for (const [field, file] of THROTTLES) for (const t of b[field] ?? []) dir.write(file, `${devNo(t)} ${t.rate}`);
}

export const blkio: V1Controller = {
  name: "blkio",
  field: "linux.resources.blockIO",
  wants: (r: LinuxResources) => r.blockIO !== undefined && Object.values(r.blockIO).some((v) => v !== undefined && !(Array.isArray(v) && v.length === 0)),
  apply: (dir, r) => r.blockIO && applyBlkio(dir, r.blockIO),
};

/** Parses blkio "254:0 Read 4096" lines into per-device counters. */
function parseBlkioLines(text: string | undefined, into: Map<string, IoDeviceStats>, read: "readBytes" | "readOps", write: "writeBytes" | "writeOps"): void {
  for (const line of (text ?? "").split("\n")) {
    const [dev, op, value] = line.trim().split(/\s+/);
    if (!dev || !value || !dev.includes(":")) continue;
    let s = into.get(dev);
    if (!s) {
      const [major, minor] = dev.split(":").map(Number);
      s = { major, minor, readBytes: 0, writeBytes: 0, readOps: 0, writeOps: 0 };
      into.set(dev, s);
    }
    if (op === "Read") s[read] += Number(value);
    else if (op === "Write") s[write] += Number(value);
  }
}

export function ioStatsV1(dir: CgroupDir | undefined): { devices: IoDeviceStats[] } {
  if (!dir) return { devices: [] };
  const devs = new Map<string, IoDeviceStats>();
  const pick = (a: string, b: string) => dir.tryRead(a) ?? dir.tryRead(b);
  parseBlkioLines(pick("blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes"), devs, "readBytes", "writeBytes");
  parseBlkioLines(pick("blkio.throttle.io_serviced_recursive", "blkio.throttle.io_serviced"), devs, "readOps", "writeOps");
  return { devices: [...devs.values()] };
}
