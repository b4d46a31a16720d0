// Writes the server's own OpenAPI document to src/api/generated/openapi.json, for Orval.
//
// The document is what `vartalaap openapi` prints — the same value the server serves at
// /openapi.json — so the generated client can only use what the server describes. Where the
// binary comes from:
//   VARTALAAP_BIN=/path/to/vartalaap   that binary (the scripts pass the one they just built)
//   otherwise                          `cargo run --quiet --locked -p vartalaap -- openapi`
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(web, 'src/api/generated/openapi.json');
const bin = process.env.VARTALAAP_BIN;
const [command, args] = bin
  ? [bin, ['openapi']]
  : ['cargo', ['run', '--quiet', '--locked', '-p', 'vartalaap', '--', 'openapi']];

let text;
try {
  text = execFileSync(command, args, { cwd: resolve(web, '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
} catch (error) {
  console.error(`openapi: could not run ${command} ${args.join(' ')}: ${error.message}\n` +
    'Build the server first (cargo build -p vartalaap) or set VARTALAAP_BIN to its binary.');
  process.exit(1);
}
const document = JSON.parse(text);
if (!document.openapi || !document.paths) {
  console.error('openapi: the output is not an OpenAPI document');
  process.exit(1);
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(document, null, 2));
console.error(`openapi: ${Object.keys(document.paths).length} paths from ${bin ?? 'cargo run'} → ${out}`);
