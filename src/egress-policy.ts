import { lookup as dnsLookup } from "node:dns";
import http from "node:http";
import https from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { Agent, buildConnector, type Dispatcher } from "undici";
import { parseCidr } from "./cidr.js";

/**
 * Where Tenure may connect when it calls out (alert channels, MLflow, SageMaker, Kubernetes).
 * A URL in a policy file or a flag is input: without this, whoever can set a channel's URL can
 * make the server reach the cloud's metadata service (169.254.169.254, where instance credentials
 * are) or an admin port on the host, and read the answer back in a delivery's error (SSRF).
 *
 * The check is made on the address the socket connects to, after DNS: a name is resolved once,
 * the refused addresses are dropped, and the connection goes only to what is left, so a name that
 * resolves to a public address when checked and to 127.0.0.1 when used (DNS rebinding) cannot get
 * through. Redirects open new connections through the same hooks and are checked the same way.
 */

/** Ranges refused unless allowed, each with the word a refusal names it by. */
const RANGES: ReadonlyArray<readonly [string, number, "ipv4" | "ipv6", string]> = [
  ["0.0.0.0", 8, "ipv4", "unspecified"],
  ["::", 128, "ipv6", "unspecified"],
  ["127.0.0.0", 8, "ipv4", "loopback"],
  ["::1", 128, "ipv6", "loopback"],
  ["10.0.0.0", 8, "ipv4", "private"],
  ["172.16.0.0", 12, "ipv4", "private"],
  ["192.168.0.0", 16, "ipv4", "private"],
  // RFC 6598 shared address space: carrier NAT, and where Alibaba Cloud's metadata service is.
  ["100.64.0.0", 10, "ipv4", "private"],
  ["fc00::", 7, "ipv6", "private"],
  ["169.254.0.0", 16, "ipv4", "link-local"],
  ["fe80::", 10, "ipv6", "link-local"],
];

/**
 * Cloud metadata services hand out the machine's credentials: refused even with
 * --allow-private-egress, allowed only when listed in TENURE_EGRESS_ALLOW. AWS, GCP, Azure and
 * OCI at 169.254.169.254 (and AWS's IPv6 fd00:ec2::254), ECS task credentials at 169.254.170.2,
 * Alibaba Cloud at 100.100.100.200.
 */
const METADATA: ReadonlyArray<readonly [string, "ipv4" | "ipv6"]> = [
  ["169.254.169.254", "ipv4"],
  ["169.254.170.2", "ipv4"],
  ["100.100.100.200", "ipv4"],
  ["fd00:ec2::254", "ipv6"],
];

/** The NAT64 prefix (RFC 6052): 64:ff9b::a.b.c.d reaches a.b.c.d through a NAT64 gateway. */
const NAT64 = "64:ff9b::";

export interface ResolvedAddress {
  address: string;
  family: number;
}

export interface EgressSettings {
  /** Allow loopback, private and link-local addresses (not the metadata services). */
  allowPrivate?: boolean;
  /** CIDRs (`10.0.0.0/8`, `127.0.0.1/32`, `fd00::/8`) always allowed, metadata services included. */
  allow?: readonly string[];
  /** Resolves a name to every address; DNS (getaddrinfo, as Node does) when absent. Tests pass one. */
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
}

/** An outbound connection the policy refused. `code` is EGRESS_REFUSED, like a system error's. */
export class EgressRefusedError extends Error {
  override name = "EgressRefusedError";
  readonly code = "EGRESS_REFUSED";
  constructor(
    message: string,
    /** The address refused. */
    readonly address: string,
  ) {
    super(message);
  }
}

/** True when `error`, or an error it was caused by, is an EgressRefusedError. */
export function isEgressRefused(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === "EGRESS_REFUSED") return true;
  }
  return false;
}

export class EgressPolicy {
  private readonly allowed = new BlockList();
  private readonly ranges: Array<[BlockList, string]> = [];
  private readonly metadata = new BlockList();
  private readonly allowPrivate: boolean;
  private readonly resolve: (hostname: string) => Promise<ResolvedAddress[]>;
  private undiciAgent: Agent | undefined;
  private nodeAgents: { httpAgent: http.Agent; httpsAgent: https.Agent } | undefined;

  /** Refuses every private address: the default of a server and of every sync. */
  static strict(): EgressPolicy {
    return new EgressPolicy({});
  }

  /** Allows every address but the metadata services': for tests, whose fakes listen on 127.0.0.1. */
  static allowPrivate(resolve?: EgressSettings["resolve"]): EgressPolicy {
    return new EgressPolicy({ allowPrivate: true, ...(resolve ? { resolve } : {}) });
  }

  constructor(settings: EgressSettings) {
    this.allowPrivate = settings.allowPrivate ?? false;
    this.resolve = settings.resolve ?? resolveAll;
    for (const text of settings.allow ?? []) {
      const cidr = parseCidr(text);
      if (!cidr) throw new Error(`${text} is not a CIDR such as 10.0.0.0/8 or fd00::/8`);
      this.allowed.addSubnet(cidr.address, cidr.prefix, cidr.family);
      // BlockList matches ::ffff:a.b.c.d against IPv4 rules by itself; NAT64 needs its own rule.
      if (cidr.family === "ipv4") this.allowed.addSubnet(`${NAT64}${cidr.address}`, 96 + cidr.prefix, "ipv6");
    }
    for (const [address, prefix, family, word] of RANGES) {
      const list = new BlockList();
      list.addSubnet(address, prefix, family);
      if (family === "ipv4") list.addSubnet(`${NAT64}${address}`, 96 + prefix, "ipv6");
      this.ranges.push([list, word]);
    }
    for (const [address, family] of METADATA) {
      this.metadata.addAddress(address, family);
      if (family === "ipv4") this.metadata.addAddress(`${NAT64}${address}`, "ipv6");
    }
  }

  /**
   * Why a connection to `address` (an IP literal) is refused, or null when it is allowed. An
   * address in the allow list is allowed; a metadata service is refused unless listed; a private
   * one is refused unless private egress is allowed; any other address is allowed.
   */
  refusal(address: string): string | null {
    const ip = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
    const version = isIP(ip);
    if (version === 0) return "not an IP address";
    const family = version === 6 ? "ipv6" : "ipv4";
    if (this.allowed.check(ip, family)) return null;
    if (this.metadata.check(ip, family)) {
      return "a cloud metadata service: allowed only when listed in TENURE_EGRESS_ALLOW";
    }
    const word = this.ranges.find(([list]) => list.check(ip, family))?.[1];
    if (word === undefined || this.allowPrivate) return null;
    return `${word}: allow it with --allow-private-egress, TENURE_ALLOW_PRIVATE_EGRESS=1 or TENURE_EGRESS_ALLOW`;
  }

  /** The error for a refused address, naming the host it was reached through when that was a name. */
  refused(address: string, reason: string, host?: string): EgressRefusedError {
    const what = host !== undefined && host !== address ? `${host} resolves to ${address}, which` : address;
    return new EgressRefusedError(`egress refused: ${what} is ${reason}`, address);
  }

  /**
   * A `lookup` for net.connect, tls.connect and Node's agents: resolves every address of the
   * name, drops the refused ones, and fails with the first refusal when none is left.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.resolve(hostname).then(
      (addresses) => {
        // Node passes 4 or 6, but its types also allow the names.
        const family = options.family === "IPv4" ? 4 : options.family === "IPv6" ? 6 : options.family;
        const wanted = addresses.filter((a) => !family || a.family === family);
        const kept = wanted.filter((a) => this.refusal(a.address) === null);
        const first = kept[0];
        if (first === undefined) {
          const denied = wanted[0];
          const error = denied
            ? this.refused(denied.address, this.refusal(denied.address) ?? "", hostname)
            : Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
          callback(error as NodeJS.ErrnoException, "", 0);
        } else if (options.all) {
          (callback as unknown as (e: null, all: ResolvedAddress[]) => void)(null, kept);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, "", 0),
    );
  };

  /**
   * The refusal of a host that is an IP literal, which net.connect reaches without calling
   * `lookup`; undefined for a name (its addresses go through `lookup`) or an allowed address.
   */
  literalRefusal(host: string): EgressRefusedError | undefined {
    const ip = host.replace(/^\[|\]$/g, "");
    if (isIP(ip) === 0) return undefined;
    const reason = this.refusal(ip);
    return reason === null ? undefined : this.refused(ip, reason);
  }

  /** An undici dispatcher for fetch (`dispatcher`): every connection it opens is checked. */
  dispatcher(): Dispatcher {
    if (!this.undiciAgent) {
      const connect = buildConnector({ lookup: this.lookup });
      this.undiciAgent = new Agent({
        connect: (options, callback) => {
          const refused = this.literalRefusal(options.hostname);
          if (refused) callback(refused, null);
          else connect(options, callback);
        },
      });
    }
    return this.undiciAgent;
  }

  /** Node http and https agents (the AWS SDK's NodeHttpHandler takes them), checked the same way. */
  agents(): { httpAgent: http.Agent; httpsAgent: https.Agent } {
    this.nodeAgents ??= {
      httpAgent: this.guardAgent(new http.Agent({ keepAlive: true, maxSockets: 50 })),
      httpsAgent: this.guardAgent(new https.Agent({ keepAlive: true, maxSockets: 50 })),
    };
    return this.nodeAgents;
  }

  /**
   * Makes a Node agent check every connection it opens: an IP literal before connecting, a name
   * through `lookup`. Returns the same agent.
   */
  guardAgent<A extends http.Agent>(agent: A): A {
    type Create = (
      options: Record<string, unknown>,
      callback: (error: Error | null, socket?: unknown) => void,
    ) => unknown;
    const guarded = agent as unknown as { createConnection: Create };
    const original = guarded.createConnection.bind(agent);
    guarded.createConnection = (options, callback) => {
      const host = String(options.host ?? options.hostname ?? "localhost");
      const refused = this.literalRefusal(host);
      if (refused) {
        // Node's agent takes an error through the callback when createConnection returns nothing.
        process.nextTick(() => callback(refused));
        return undefined;
      }
      return original({ ...options, lookup: this.lookup }, callback);
    };
    return agent;
  }

  /** Closes the pooled connections. */
  async close(): Promise<void> {
    await this.undiciAgent?.close();
    this.nodeAgents?.httpAgent.destroy();
    this.nodeAgents?.httpsAgent.destroy();
  }
}

let strictDefault: EgressPolicy | undefined;

/**
 * The policy of a caller that was given none: strict. Kept once per process so that a forgotten
 * policy costs a refused call, never an open door, and not a connection pool per call either.
 */
export function defaultEgress(): EgressPolicy {
  strictDefault ??= EgressPolicy.strict();
  return strictDefault;
}

function resolveAll(hostname: string): Promise<ResolvedAddress[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    );
  });
}
