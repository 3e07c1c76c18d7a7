import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

// Queue passes and stream tokens: HMAC-SHA256 over a few fields, with keys derived from SECRET_KEY (HKDF),
// so a pass is never a valid login token nor the other way round. Checking one is an HMAC and a few compares
// (a few µs), then a Map lookup for the same token: no database, no Redis, on the booking hot path.
//
// Wire form: `<kind>.<event>.<user>.<exp seconds>.<id>.<mac>`, all URL-safe, so it fits a header or a query.

export interface Pass {
  eventId: number;
  userId: number;
  /** Unix seconds. */
  expiresAt: number;
  /** The admission's id (queue_entries.pass_id): a completed purchase frees the slot of this id. */
  id: string;
}

type Kind = 'qp1' | 'qs1';

/** The login a stream token was issued under: its user, token version and issue time (seconds). */
export interface StreamSession {
  userId: number;
  tokenVersion: number;
  issuedAt: number;
}

// Passes whose signature held, by token: a buyer's retries and further purchases carry the same token, so the
// HMAC runs once per pass per process; event, user and expiry are still checked on every use. Bounded: when
// full it is emptied (the next use of a pass verifies it again).
const VERIFIED_PASSES = 50_000;

export class PassSigner {
  private readonly keys: Record<Kind, Buffer>;
  private readonly verified = new Map<string, Pass>();

  constructor(secretKey: string) {
    const derive = (label: string) => Buffer.from(hkdfSync('sha256', secretKey, 'bookfast', label, 32));
    this.keys = { qp1: derive('queue-pass'), qs1: derive('queue-stream') };
  }

  signPass(pass: Pass): string {
    return this.sign('qp1', pass);
  }

  /** The pass if the signature holds and it is this user's, for this event, unexpired; otherwise null. */
  verifyPass(token: string | undefined, eventId: number, userId: number, nowMs = Date.now()): Pass | null {
    const known = token === undefined ? undefined : this.verified.get(token);
    const pass = known ?? this.parse('qp1', token);
    if (!pass || pass.eventId !== eventId || pass.userId !== userId || pass.expiresAt * 1000 <= nowMs) return null;
    if (!known) {
      if (this.verified.size >= VERIFIED_PASSES) this.verified.clear();
      this.verified.set(token!, pass);
    }
    return pass;
  }

  /**
   * A short-lived token that opens the SSE stream of one buyer's place (EventSource sends no header). It
   * carries the login token's version and issue time, so a logout or password change ends it as well.
   */
  signStreamToken(eventId: number, session: StreamSession, ttlSeconds: number, nowMs = Date.now()): string {
    const id = `${session.tokenVersion}-${session.issuedAt}`;
    return this.sign('qs1', { eventId, userId: session.userId, expiresAt: Math.floor(nowMs / 1000) + ttlSeconds, id });
  }

  /** Whose stream token this is (and until when), if it is valid for this event and unexpired. */
  verifyStreamToken(token: string | undefined, eventId: number, nowMs = Date.now()): (StreamSession & { expiresAt: number }) | null {
    const parsed = this.parse('qs1', token);
    if (!parsed || parsed.eventId !== eventId || parsed.expiresAt * 1000 <= nowMs) return null;
    const [version, issuedAt] = parsed.id.split('-').map(Number);
    if (!Number.isSafeInteger(version) || !Number.isSafeInteger(issuedAt)) return null;
    return { userId: parsed.userId, tokenVersion: version!, issuedAt: issuedAt!, expiresAt: parsed.expiresAt };
  }

  private sign(kind: Kind, pass: Pass): string {
    const body = `${kind}.${pass.eventId}.${pass.userId}.${pass.expiresAt}.${pass.id}`;
    return `${body}.${this.mac(kind, body).toString('base64url')}`;
  }

  private parse(kind: Kind, token: string | undefined): Pass | null {
    if (typeof token !== 'string' || token.length > 200) return null;
    const cut = token.lastIndexOf('.');
    if (cut < 0) return null;
    const body = token.slice(0, cut);
    const given = Buffer.from(token.slice(cut + 1), 'base64url');
    const expected = this.mac(kind, body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    const [prefix, event, user, exp, id] = body.split('.');
    if (prefix !== kind || id === undefined) return null;
    return { eventId: Number(event), userId: Number(user), expiresAt: Number(exp), id };
  }

  private mac(kind: Kind, body: string): Buffer {
    return createHmac('sha256', this.keys[kind]).update(body).digest();
  }
}
