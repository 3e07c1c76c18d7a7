import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

// Where a webhook may go. Only public unicast addresses, unless WEBHOOKS_ALLOW_PRIVATE=true (tests, a
// receiver on the same private network): never loopback, link-local (cloud metadata), private, CGNAT,
// multicast or reserved ranges, nor IPv6 forms that embed an IPv4 address. ipaddr.js names the ranges.

export interface TargetPolicy {
  allowPrivate: boolean;
  /** http:// besides https:// (outside production, or WEBHOOKS_ALLOW_HTTP=true). */
  allowHttp: boolean;
}

export class TargetRefused extends Error {}

const MAX_URL_LENGTH = 2000;

/** Checks a URL as given (at registration); throws TargetRefused with the reason. */
export function checkUrl(raw: string, policy: TargetPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetRefused('url is not a valid absolute URL');
  }
  if (raw.length > MAX_URL_LENGTH) throw new TargetRefused(`url is longer than ${MAX_URL_LENGTH} characters`);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    throw new TargetRefused(policy.allowHttp ? 'url must be http:// or https://' : 'url must be https://');
  }
  if (url.username || url.password) throw new TargetRefused('url must not carry credentials');
  const literal = bareHost(url.hostname);
  if (ipaddr.isValid(literal)) checkAddress(literal, policy);
  else if (!policy.allowPrivate && /(^|\.)localhost\.?$/i.test(literal)) throw new TargetRefused('url must not point to this host');
  return url;
}

/**
 * Resolves the host at send time and checks every address it resolves to (DNS rebinding: a name that was
 * public at registration may point inside later). The caller connects to the returned address only.
 */
export async function resolveTarget(url: URL, policy: TargetPolicy): Promise<{ address: string; family: 4 | 6 }> {
  const host = bareHost(url.hostname);
  const addresses = ipaddr.isValid(host) ? [{ address: host, family: ipaddr.parse(host).kind() === 'ipv6' ? 6 : 4 }] : await lookup(host, { all: true });
  if (addresses.length === 0) throw new TargetRefused(`${host} does not resolve`);
  for (const { address } of addresses) checkAddress(address, policy);
  const first = addresses[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

function checkAddress(address: string, policy: TargetPolicy): void {
  if (policy.allowPrivate) return;
  // process() turns ::ffff:10.0.0.1 into 10.0.0.1, so a mapped private address is judged as one.
  const parsed = ipaddr.process(address);
  const range = isIpv4Compatible(parsed) ? 'IPv4-compatible' : parsed.range();
  if (range !== 'unicast') throw new TargetRefused(`${address} is ${/^[aeiouI]/.test(range) ? 'an' : 'a'} ${range} address (set WEBHOOKS_ALLOW_PRIVATE=true to allow)`);
}

// ::a.b.c.d (::/96, deprecated by RFC 4291): ipaddr.js calls it unicast, yet it embeds an IPv4 address
// (::127.0.0.1, ::169.254.169.254) that some stacks and proxies route to. :: and ::1 have ranges of their own.
function isIpv4Compatible(parsed: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return parsed.kind() === 'ipv6' && parsed.range() === 'unicast' && (parsed as ipaddr.IPv6).parts.slice(0, 6).every((part) => part === 0);
}

// URL keeps the brackets of an IPv6 literal in hostname.
function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}
