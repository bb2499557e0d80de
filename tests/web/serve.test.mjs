// demo/serve.mjs serves its roots and nothing else: raw request paths with `..`,
// encoded `..`, encoded slashes, NUL, dotfiles and symlinks that lead out of a
// root all get 404 or 400 and never the bytes of a file outside; the command
// binds to 127.0.0.1 unless --host says otherwise. Needs only node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SERVE = path.join(REPO, 'demo/serve.mjs');
const SECRET = 'faceattr-serve-test-secret';

let tmp, server, port;

// One GET with the path exactly as given (no client-side normalisation).
function get(rawPath) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: 'GET' }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, location: res.headers.location,
                                   body: Buffer.concat(chunks).toString('latin1') }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceattr-serve-'));
  // Outside every root: a secret file and a secret folder.
  fs.writeFileSync(path.join(tmp, 'secret.txt'), SECRET);
  fs.mkdirSync(path.join(tmp, 'secret-dir'));
  fs.writeFileSync(path.join(tmp, 'secret-dir', 'index.html'), SECRET);
  fs.writeFileSync(path.join(tmp, 'secret-dir', 'x.fam'), SECRET);
  // The build root (<build>/web) and the models root.
  const web = path.join(tmp, 'build', 'web');
  fs.mkdirSync(path.join(web, 'dist'), { recursive: true });
  fs.writeFileSync(path.join(web, 'dist', 'ok.js'), 'export const ok = 1;\n');
  fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(web, 'dist', 'leak.js'));
  fs.symlinkSync(path.join(tmp, 'secret-dir'), path.join(web, 'linked'));
  const models = path.join(tmp, 'models');
  fs.mkdirSync(models);
  fs.writeFileSync(path.join(models, 'a.fam'), 'FAM-bytes');
  fs.symlinkSync(path.join(models, 'a.fam'), path.join(models, 'alias.fam'));  // stays inside: served
  fs.symlinkSync('../secret.txt', path.join(models, 'up.fam'));
  // A root that is itself reached through a symlink is still a root.
  fs.symlinkSync(models, path.join(tmp, 'models-link'));

  const { createServer } = await import(pathToFileURL(SERVE).href);
  server = createServer({ build: path.join(tmp, 'build'), models: path.join(tmp, 'models-link') });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = server.address().port;
});

after(async () => {
  await new Promise((r) => server.close(r));
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('files inside the roots are served, links that stay inside included', async () => {
  let r = await get('/web/dist/ok.js');
  assert.equal(r.status, 200);
  assert.match(r.body, /export const ok/);
  r = await get('/models/a.fam');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'FAM-bytes');
  r = await get('/models/alias.fam');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'FAM-bytes');
  r = await get('/demo/');
  assert.equal(r.status, 200);
  assert.match(r.body, /<html/i);
  r = await get('/');
  assert.equal(r.status, 302);
});

test('traversal, encoded traversal, dotfiles and NUL never leave a root', async () => {
  const attempts = [
    '/demo/../README.md',
    '/demo/../../../../../../etc/passwd',
    '/demo/%2e%2e/README.md',
    '/demo/%2E%2E/%2E%2E/etc/passwd',
    '/demo/..%2fREADME.md',
    '/demo/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/models/%2e%2e%2fsecret.txt',
    '/models/..%5csecret.txt',
    '/models/%252e%252e%252fsecret.txt',
    '/web/..%2f..%2fsecret.txt',
    '/web/%2e%2e/%2e%2e/secret.txt',
    '/%2e%2e/secret.txt',
    '/../secret.txt',
    '/demo/.%2e/README.md',
    '/demo/%00',
    '/demo/index.html%00.png',
    '/demo/..',
    '/models/.hidden',
    '/demo/%ff%fe',
    '//etc/passwd',
    '/etc/passwd',
    '/demo//../../README.md',
  ];
  for (const p of attempts) {
    const r = await get(p);
    // A path whose dot segments the URL parser folds to `/` redirects to the demo.
    const toDemo = r.status === 302 && r.location === '/demo/';
    assert.ok(r.status === 404 || r.status === 400 || toDemo, `${p} -> ${r.status}`);
    assert.ok(!r.body.includes(SECRET), `${p} leaked the secret`);
    assert.ok(!r.body.includes('root:'), `${p} leaked /etc/passwd`);
  }
});

test('symlinks that lead out of a root are not followed', async () => {
  for (const p of ['/web/dist/leak.js', '/web/linked/', '/web/linked/index.html', '/web/linked/x.fam',
    '/web/linked', '/models/up.fam']) {
    const r = await get(p);
    // /web/linked (no slash) may redirect to /web/linked/, which is refused in turn.
    assert.ok([301, 404].includes(r.status), `${p} -> ${r.status}`);
    assert.ok(!r.body.includes(SECRET), `${p} leaked the secret`);
  }
});

test('only GET and HEAD', async () => {
  const status = await new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/models/a.fam', method: 'PUT' }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end('x');
  });
  assert.equal(status, 405);
});

// Starts the command line; resolves with the URL it prints, and the child.
function startCli(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVE, '--port', '0', '--build', path.join(tmp, 'build'), ...args]);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/http:\/\/(\S+?):(\d+)\/demo\//);
      if (m) resolve({ host: m[1], port: Number(m[2]), child });
    });
    child.on('exit', (code) => reject(new Error(`serve.mjs exited ${code}: ${out}`)));
    child.on('error', reject);
  });
}

test('the command binds to 127.0.0.1 by default and to --host when given', async () => {
  const def = await startCli([]);
  try {
    assert.equal(def.host, '127.0.0.1');
  } finally {
    def.child.kill();
  }
  const any = await startCli(['--host', '0.0.0.0']);
  try {
    assert.equal(any.host, '0.0.0.0');
  } finally {
    any.child.kill();
  }
});
