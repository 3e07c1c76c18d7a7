import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

// Standard Webhooks (standardwebhooks.com), with the spec's own library: `Webhook-Signature` is
// `v1,` + base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)), the key being the secret's decoded bytes.

/** A new signing secret: `whsec_` + base64 of 32 random bytes (the spec allows 24 to 64). */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export interface SigningKeys {
  secret: string;
  /** Still valid after a rotation: then both sign, space-separated, so a receiver with either verifies. */
  previousSecret: string | null;
}

/** The three headers of one attempt; `timestamp` is the attempt's time (receivers refuse ones 5 min off). */
export function signedHeaders(keys: SigningKeys, webhookId: string, timestamp: Date, body: string): Record<string, string> {
  const secrets = keys.previousSecret ? [keys.secret, keys.previousSecret] : [keys.secret];
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(webhookId, timestamp, body)).join(' '),
  };
}
