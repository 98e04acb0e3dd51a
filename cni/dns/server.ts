// keel's cluster DNS server: answers the cluster domain from DnsRecords over UDP and TCP (RFC
// 1035 §4.2, TCP messages with a two-byte length). Names outside the cluster domain are refused:
// keel's clusters have no upstream resolver to forward to.
import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server, type AddressInfo } from "node:net";
import dnsPacket from "dns-packet";
import { DnsRecords, type DnsService } from "./records.js";

const RCODE_NXDOMAIN = 3;
const RCODE_REFUSED = 5;
const RCODE_FORMERR = 1;

/** DNS over TCP on `server`: messages with a two-byte length prefix (RFC 1035 4.2.2). */
export function serveDnsTcp(server: Server, respond: (query: Buffer) => Buffer | undefined): void {
  server.on("connection", (sock) => {
    let buf = Buffer.alloc(0);
    sock.on("error", () => sock.destroy());
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const out = respond(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        if (out) {
          const hdr = Buffer.alloc(2);
          hdr.writeUInt16BE(out.length);
          sock.write(Buffer.concat([hdr, out]));
        }
      }
    });
  });
}

/** DNS over UDP on `socket`: one answer datagram per query. */
export function serveDnsUdp(socket: Socket, respond: (query: Buffer) => Buffer | undefined): void {
  socket.on("message", (msg, rinfo) => {
    const out = respond(msg);
    if (out) socket.send(out, rinfo.port, rinfo.address);
  });
}

export interface ClusterDnsOptions {
  domain?: string;
  host?: string;
  /** 0: any free port. */
  port?: number;
}

export class ClusterDns {
  readonly records: DnsRecords;
  private udp?: Socket;
  private tcp?: Server;

  constructor(private readonly o: ClusterDnsOptions = {}) {
    this.records = new DnsRecords(o.domain);
  }

  setServices(services: DnsService[]): void {
    this.records.setServices(services);
  }

  /** Builds the response to one query message (exported for tests and other transports). */
  respond(msg: Buffer): Buffer | undefined {
    let q: ReturnType<typeof dnsPacket.decode>;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      if (msg.length < 2) return undefined;
      return dnsPacket.encode({ type: "response", id: msg.readUInt16BE(0), flags: RCODE_FORMERR });
    }
    const question = q.questions?.[0];
    if (!question) return dnsPacket.encode({ type: "response", id: q.id, flags: RCODE_FORMERR });
    const a = this.records.answer(question);
    let flags = dnsPacket.AUTHORITATIVE_ANSWER | (q.flag_rd ? dnsPacket.RECURSION_DESIRED : 0);
    if (!a.inZone) flags = RCODE_REFUSED | (q.flag_rd ? dnsPacket.RECURSION_DESIRED : 0);
    else if (!a.exists) flags |= RCODE_NXDOMAIN;
    return dnsPacket.encode({ type: "response", id: q.id, flags, questions: [question], answers: a.answers });
  }

  async listen(): Promise<{ host: string; port: number }> {
    const host = this.o.host ?? "127.0.0.1";
    // TCP first on the requested port (0: a free one), then UDP on the same number
    const tcp = createServer();
    serveDnsTcp(tcp, (q) => this.respond(q));
    await new Promise<void>((res, rej) => tcp.once("error", rej).listen(this.o.port ?? 0, host, () => res()));
    const port = (tcp.address() as AddressInfo).port;
    const udp = createSocket("udp4");
    serveDnsUdp(udp, (q) => this.respond(q));
    try {
      await new Promise<void>((res, rej) => udp.once("error", rej).bind(port, host, () => res()));
    } catch (e) {
      tcp.close();
      throw e;
    }
    this.tcp = tcp;
    this.udp = udp;
    return { host, port };
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r()));
    await new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r()));
    this.udp = undefined;
    this.tcp = undefined;
  }
}
