// `npm run token -- --user <uuid> [--expires-in seconds]`: a dev access token for the local stack.
import { parseArgs } from 'node:util';
import { resolveJwtSecret } from '../src/stack/secret.ts';
import { signAccessToken } from '../src/stack/tokens.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function main() {
  const { values } = parseArgs({ options: { user: { type: 'string' }, 'expires-in': { type: 'string', default: '3600' } } });
  if (!values.user || !UUID.test(values.user)) {
    console.error('usage: npm run token -- --user <uuid> [--expires-in seconds]');
    process.exit(2);
  }
  const expiresIn = Number(values['expires-in']);
  if (!Number.isInteger(expiresIn)) {
    console.error('--expires-in must be a whole number of seconds');
    process.exit(2);
  }
  console.log(await signAccessToken({ userId: values.user, secret: await resolveJwtSecret(), expiresIn }));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
