// The local stack's gateway survives any request (a Host it cannot parse, chunked bodies, bodies
// far over the limit, header blocks too large to parse), in front of either runtime, and its Deno
// child never outlives the process that started it.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from '../../src/stack/migrate.ts';
import type { Stack } from '../../src/stack/index.ts';
import { batch, op } from '../helpers/ops.ts';
import { useStack } from '../helpers/stack.ts';

/** Writes raw bytes to the server and returns everything it answers until it closes or idles. */
function raw(port: number, request: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      // One complete response is enough; the connection may stay open (keep-alive).
      if (/\r\n\r\n/.test(answer)) {
        const length = /content-length: (\d+)/i.exec(answer);
        const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
        if (!length || Buffer.byteLength(body) >= Number(length[1]) || /transfer-encoding: chunked/i.test(answer) && body.endsWith('0\r\n\r\n')) socket.end();
      }
    });
    socket.on('end', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.write(request);
  });
}

function chunkedPost(stack: Stack, token: string, body: string) {
  const url = new URL(stack.functionUrl);
  const chunks = [body.slice(0, 10), body.slice(10)].map((c) => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`).join('');
  return raw(
    Number(url.port),
    `POST ${url.pathname} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunks}0\r\n\r\n`,
  );
}

const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);

describe.each([['node' as const], ['deno' as const]])('the gateway in front of the %s runtime', (runtime) => {
  const stack = useStack({ runtime });

  test.each([['['], ['a b'], ['%'], ['']])('OPTIONS with Host "%s" is answered and the stack keeps serving', async (host) => {
    const port = Number(new URL(stack().url).port);
    const answer = await raw(port, `OPTIONS /functions/v1/verse-operations HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    expect([204, 400]).toContain(statusOf(answer));
    expect((await fetch(`${stack().url}/health`)).status).toBe(200);
  });

  test('a chunked POST is applied like any other', async () => {
    const user = randomUUID();
    const token = await stack().tokenFor(user);
    const answer = await chunkedPost(stack(), token, JSON.stringify(batch([op.profile({ displayName: 'Chunked' })])));
    expect(statusOf(answer)).toBe(200);
    expect(answer).toMatch(/"success": ?true/); // the RPC's JSON text or JSON.stringify's
    const [{ display_name }] = await stack().sql`select display_name from profiles where user_id = ${user}`;
    expect(display_name).toBe('Chunked');
  });

  test.each([['declared'], ['chunked']])('a 10 MB %s body gets its 413 answer, not a reset', async (kind) => {
    const token = await stack().tokenFor(randomUUID());
    const body = JSON.stringify(batch([op.createVerse(randomUUID(), 'x', { customText: 'a'.repeat(10 * 1024 * 1024) })]));
    if (kind === 'declared') {
      for (let i = 0; i < 3; i++) {
        const res = await fetch(stack().functionUrl, { method: 'POST', body, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } });
        expect(res.status).toBe(413);
        expect((await res.json()).error.code).toBe('PAYLOAD_TOO_LARGE');
      }
    } else {
      const answer = await chunkedPost(stack(), token, body);
      expect(statusOf(answer)).toBe(413);
      expect(answer).toContain('PAYLOAD_TOO_LARGE');
    }
    expect((await fetch(`${stack().url}/health`)).status).toBe(200);
  }, 60_000);

  test('a header block too large to parse gets a JSON 431', async () => {
    const res = await fetch(stack().functionUrl, { method: 'POST', body: '{}', headers: { Authorization: `Bearer ${'a'.repeat(40 * 1024)}` } });
    expect(res.status).toBe(431);
    expect((await res.json()).error.code).toBe('HEADER_TOO_LARGE');
  });
});

test('the Deno child dies with the process that started it, even when that process crashes', async () => {
  const script = `
    import { startDenoFunction } from './src/stack/deno.ts';
    startDenoFunction({ name: 'verse-operations', env: { SUPABASE_DB_URL: 'postgres://nobody@127.0.0.1:1/none', SUPABASE_JWT_SECRET: 'x'.repeat(32) } })
      .then((fn) => { console.log('pid ' + fn.pid); setTimeout(() => { throw new Error('crash'); }, 50); });
  `;
  const child = spawn(path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['--eval', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', () => {});
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).not.toBe(0);
  const pid = Number(/pid (\d+)/.exec(out)?.[1]);
  expect(pid).toBeGreaterThan(0);
  // Killed, it may linger as a zombie until init reaps it: that is not running.
  const state = (() => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
    } catch {
      return 'gone';
    }
  })();
  expect(['gone', 'Z', 'X']).toContain(state);
}, 90_000);
