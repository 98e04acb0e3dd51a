// Typed errors for pod networking. Each carries what failed so a user knows what to fix, and a
// CNI error code (spec: 1-99 reserved) so the plugin executables can report it as the spec says.

export const CNI_CODES = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnv: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  /** keel's own: no free address left in the range. */
  ipamExhausted: 100,
  /** keel's own: a command (ip, nft, bridge) failed. */
  commandFailed: 101,
  /** keel's own: refusing to touch the host's network namespace under tests. */
  hostNetnsRefused: 102,
  /** keel's own: CHECK found the pod's network not as ADD left it. */
  checkFailed: 103,
} as const;

export class CniError extends Error {
  override name = "CniError";
  constructor(
    message: string,
    readonly cniCode: number,
    readonly details?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  /** The CNI error result shape. */
  toCniResult(cniVersion = "1.0.0"): { cniVersion: string; code: number; msg: string; details?: string } {
    return { cniVersion, code: this.cniCode, msg: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/**
 * A netlink request (link, address, route, neighbour, FDB) or sysctl the kernel refused, made
 * in-process by the addon (cni/netlink.ts). `code`/`errno` say why (EEXIST, ENODEV ...), `op`
 * which request (RTM_NEWLINK, open for a sysctl), `netns` where, `object` what it acted on, and
 * `detail` the kernel's extended-ack message when it gave one.
 */
export class NetlinkError extends CniError {
  override name = "NetlinkError";
  constructor(
    readonly code: string,
    readonly errno: number,
    readonly op: string,
    readonly netns: string | undefined,
    readonly object: string,
    message: string,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(message, CNI_CODES.commandFailed, detail, options);
  }
}

/** An nftables script libnftables refused; `stderr` holds nft's own error output (what `nft -f` prints). */
export class NftError extends CniError {
  override name = "NftError";
  constructor(
    readonly code: string,
    readonly errno: number,
    readonly netns: string | undefined,
    readonly what: string,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(`${what}${netns ? ` in ${netns}` : ""}: nft refused the script (${code}): ${stderr.trim()}`, CNI_CODES.commandFailed, stderr.trim(), options);
  }
}

export class InvalidNetworkConfigError extends CniError {
  override name = "InvalidNetworkConfigError";
  constructor(readonly field: string, message: string) {
    super(`invalid network config: ${field}: ${message}`, CNI_CODES.invalidConfig);
  }
}

export class IpamExhaustedError extends CniError {
  override name = "IpamExhaustedError";
  constructor(readonly range: string, readonly containerId: string) {
    super(`no free address in ${range} for container ${containerId}`, CNI_CODES.ipamExhausted);
  }
}

export class HostNetnsRefusedError extends CniError {
  override name = "HostNetnsRefusedError";
  constructor(readonly what: string) {
    super(
      `refusing to ${what} in the host's own network namespace while KEEL_TEST is set: pass nodeNetns (a namespace the test created)`,
      CNI_CODES.hostNetnsRefused,
    );
  }
}

export class NetnsNotFoundError extends CniError {
  override name = "NetnsNotFoundError";
  constructor(readonly path: string, readonly role: "node" | "pod") {
    super(`${role} network namespace ${path} does not exist`, CNI_CODES.invalidEnv);
  }
}

export class CheckFailedError extends CniError {
  override name = "CheckFailedError";
  constructor(readonly containerId: string, readonly what: string) {
    super(`CHECK of container ${containerId}: ${what}`, CNI_CODES.checkFailed);
  }
}
