// `npm run docs:config`: writes docs/operations/configuration.md and .env.example from the env schema's
// descriptions (src/config-schema.ts), so every setting is documented once. test/docs-config.test.ts fails
// when either file differs from what this renders.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigSchema } from '../src/config-schema.js';

export const CONFIGURATION_DOC = 'docs/operations/configuration.md';
export const ENV_EXAMPLE = '.env.example';
const COMMAND = 'npm run docs:config';

interface SettingSchema {
  type?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  anyOf?: { const?: unknown }[];
  description?: string;
  examples?: unknown[];
}

export interface Setting {
  name: string;
  meaning: string;
  /** What applies when the variable is unset (outside production). */
  fallback: string;
  /** Only where production differs. */
  production: string | undefined;
  allowed: string | undefined;
  /** The line .env.example writes: active with the schema's default, else commented with an example. */
  envLine: string;
}

/** Read by compose.yaml only, never by the server: listed so a reader finds them beside the rest. */
const COMPOSE_ONLY = [
  { name: 'PGADMIN_DEFAULT_EMAIL', fallback: 'admin@example.com', meaning: 'pgAdmin login (`docker compose`, http://localhost:5050).' },
  { name: 'PGADMIN_DEFAULT_PASSWORD', fallback: 'admin', meaning: 'pgAdmin password.' },
  { name: 'GRAFANA_ADMIN_PASSWORD', fallback: 'admin', meaning: 'Grafana password of the user `admin` (`docker compose --profile monitoring`).' },
  { name: 'SCALE_SUBNET', fallback: '172.28.0.0/16', meaning: 'Range of the `scale` profile\'s network (HAProxy and the API replicas, which trust its `X-Forwarded-For`); set a free private range if it clashes with one of yours.' },
];

const code = (value: unknown) => (value === '' ? 'empty' : `\`${String(value)}\``);

export function settings(): Setting[] {
  const properties = ConfigSchema.properties as unknown as Record<string, SettingSchema>;
  return Object.entries(properties).map(([name, schema]) => {
    const description = schema.description;
    if (!description) throw new Error(`${name} in src/config-schema.ts has no description`);
    // "Meaning. Default: text. In production: text." (both tails optional).
    const [, meaning = description, fallbackText, production] = /^(.*?)(?:\s+Default: (.*?)\.?)?(?:\s+In production: (.*?)\.?)?$/s.exec(description) ?? [];
    const hasDefault = schema.default !== undefined;
    const fallback = fallbackText ?? (hasDefault ? code(schema.default) : 'unset');
    const example = schema.examples?.[0];
    const envValue = hasDefault ? String(schema.default) : example === undefined ? undefined : String(example);
    const envLine = envValue === undefined ? `# ${name} is refused at start-up.` : `${hasDefault ? '' : '# '}${name}=${envValue}`;
    return { name, meaning, fallback, production, allowed: allowedValues(schema), envLine };
  });
}

function allowedValues(schema: SettingSchema): string | undefined {
  if (schema.anyOf) return schema.anyOf.map((option) => code(option.const)).join(', ');
  if (schema.type === 'boolean') return '`true`, `false`';
  if (schema.type === 'integer') return `${schema.minimum ?? ''}..${schema.maximum ?? ''}`;
  return undefined;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderConfigurationDoc(): string {
  return [
    '# Configuration',
    '',
    `<!-- Generated from src/config-schema.ts by \`${COMMAND}\`: edit the descriptions there, not this file. -->`,
    '',
    'BookFast reads its settings from the environment or a `.env` file in the working directory (copy',
    '[`.env.example`](../../.env.example); a real environment variable wins over the file). The names are the old',
    "FastAPI service's, so its `.env` keeps working. Every value is checked once at start-up; a bad one stops the",
    'server with one clear line. "In production" is the default when `NODE_ENV=production`, where it differs.',
    '',
    '| variable | default | in production | allowed | meaning |',
    '|---|---|---|---|---|',
    ...settings().map(
      (s) => `| \`${s.name}\` | ${cell(s.fallback)} | ${s.production === undefined ? '' : cell(s.production)} | ${s.allowed ?? ''} | ${cell(s.meaning)} |`,
    ),
    '',
    '## Read by `compose.yaml` only',
    '',
    'The server never reads these; `docker compose` passes them to its other containers (see [Docker](docker.md)).',
    'The stack also fixes `DATABASE_URL`, `PORT`, `HOST` and `DATA_DIR` for the API container; its `NODE_ENV` comes',
    'from `.env` (`development` when unset), while the `scale` and `ha` profiles always run as production.',
    '',
    '| variable | default | meaning |',
    '|---|---|---|',
    ...COMPOSE_ONLY.map((s) => `| \`${s.name}\` | \`${s.fallback}\` | ${s.meaning} |`),
    '',
  ].join('\n');
}

/** Markdown's backticks read as noise in a shell-style file. */
const plain = (text: string) => text.replace(/`/g, '');

export function renderEnvExample(): string {
  const lines = [
    '# BookFast settings. Copy to .env (read at start-up; real environment variables win over it).',
    "# Names match the old FastAPI service, so its .env works unchanged. Every setting: docs/operations/configuration.md.",
    `# Generated from src/config-schema.ts by \`${COMMAND}\`: edit the descriptions there, not this file.`,
  ];
  for (const s of settings()) {
    const production = s.production === undefined ? '' : `; in production: ${plain(s.production)}`;
    const range = s.allowed === undefined ? '' : ` (${plain(s.allowed)})`;
    lines.push('', `# ${plain(s.meaning)}${range}`, `# Default: ${plain(s.fallback)}${production}`, s.envLine);
  }
  lines.push('', '# --- compose.yaml only (the server never reads these) ---');
  for (const s of COMPOSE_ONLY) lines.push(`# ${plain(s.meaning)} Default: ${s.fallback}`, `# ${s.name}=${s.fallback}`);
  return lines.join('\n') + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(CONFIGURATION_DOC, renderConfigurationDoc());
  writeFileSync(ENV_EXAMPLE, renderEnvExample());
  console.log(`wrote ${CONFIGURATION_DOC} and ${ENV_EXAMPLE}`);
}
