import { BlockList, isIP } from "node:net";
import { parseCidr } from "../cidr.js";

/**
 * Whether a hop's address belongs to a reverse proxy the server trusts (`--trust-proxy`), as
 * Fastify's `trustProxy` option takes it. With it, `request.ip` is the right-most address of
 * X-Forwarded-For that is not a trusted proxy's, reading from the socket's peer leftwards
 * (proxy-addr's algorithm): each trusted proxy vouches only for the hop before it, so addresses
 * that a client wrote itself, left of the first untrusted one, are never read. A peer outside
 * the list is the client, and its X-Forwarded-For is ignored. Undefined for an empty list:
 * Fastify's default, the socket's address.
 *
 * A hop that is not an IP address (a header a proxy passed on unparsed) is never trusted, so it
 * stops the walk there rather than letting the walk reach addresses further left.
 */
export function trustedProxies(cidrs: readonly string[]): ((address: string) => boolean) | undefined {
  if (cidrs.length === 0) return undefined;
  const trusted = new BlockList();
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (!cidr) throw new Error(`${text} is not a CIDR such as 10.0.0.0/8 or fd00::/8`);
    trusted.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return function isTrustedProxy(address) {
    const version = isIP(address);
    // BlockList matches an IPv4-mapped IPv6 address (::ffff:10.0.0.1) against IPv4 rules itself.
    return version !== 0 && trusted.check(address, version === 6 ? "ipv6" : "ipv4");
  };
}
