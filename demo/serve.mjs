#!/usr/bin/env node
// Local static server for the webcam demo and the web package. Sends the
// cross-origin isolation headers (COOP/COEP) the threads flavour needs, serves
// only files of this repository and the wasm build, and talks to no one else.
// A file is served only when its real path (symlinks resolved) lies inside one
// of the roots below; dot segments, encoded or not, and dotfiles are refused.
// It listens on 127.0.0.1 unless --host says otherwise.
//
//   node demo/serve.mjs [--build build-wasm] [--port 8080] [--host 127.0.0.1] [--models DIR] [--no-isolation]
//
//   /            -> /demo/
//   /demo/...    demo/ (this folder)
//   /web/...     <build>/web/ (the staged package: src/, dist/ with the .wasm files)
//   /models/...  models/ (or --models DIR)
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const o = { build: path.join(repo, 'build-wasm'), models: path.join(repo, 'models'), port: 8080, host: '127.0.0.1',
              isolation: true };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--build') o.build = path.resolve(val());
    else if (a === '--port') o.port = Number(val());
    else if (a === '--models') o.models = path.resolve(val());
    else if (a === '--host') o.host = val();
    else if (a === '--no-isolation') o.isolation = false;
    else if (a === '-h' || a === '--help') {
      console.log('usage: node demo/serve.mjs [--build DIR] [--port N (0: any free)] [--host H] [--models DIR] [--no-isolation]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new Error('--port must be 0..65535');
  return o;
}

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm',
  '.fam': 'application/octet-stream', '.ts': 'text/plain; charset=utf-8', '.md': 'text/markdown; charset=utf-8',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.svg': 'image/svg+xml', '.ico': 'image/x-icon',
};

export function createServer({ build, models = path.join(repo, 'models'), isolation = true, log = false }) {
  const roots = {
    demo: path.join(repo, 'demo'),
    web: path.join(build, 'web'),
    models: path.resolve(models),
  };
  return http.createServer((req, res) => {
    const headers = {
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Cross-Origin-Resource-Policy': 'same-origin',
    };
    if (isolation) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    }
    const send = (code, body, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { ...headers, 'Content-Type': type });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    let url;
    try {
      url = new URL(req.url, 'http://localhost');
    } catch {
      return send(400, 'bad request\n');
    }
    if (url.pathname === '/') {
      res.writeHead(302, { ...headers, Location: '/demo/' });
      return res.end();
    }
    let rel;
    try {
      rel = decodeURIComponent(url.pathname);
    } catch {
      return send(400, 'bad request\n');
    }
    const parts = rel.split('/').filter(Boolean);
    const root = roots[parts[0]];
    if (!root || parts.some((p) => p === '..' || p.startsWith('.') || p.includes('\0'))) return send(404, 'not found\n');
    const notFound = () => {
      if (log) console.log(req.method, url.pathname, 404);
      const hint = parts[0] === 'web' ? ` (build the wasm module first: scripts/setup.sh, or cmake --build --preset wasm)` : '';
      return send(404, `not found: ${url.pathname}${hint}\n`);
    };
    // The file's real path (symlinks resolved) must lie inside the root's real path: a link
    // that leads out of a root is not followed.
    const inside = (real, realRoot) => real === realRoot || real.startsWith(realRoot + path.sep);
    fs.realpath(root, (errRoot, realRoot) => {
      if (errRoot) return notFound();
      fs.realpath(path.join(root, ...parts.slice(1)), (errFile, real) => {
        if (errFile || !inside(real, realRoot)) return notFound();
        fs.stat(real, (err, st) => {
          if (err) return notFound();
          if (st.isDirectory()) {
            if (!url.pathname.endsWith('/')) {
              res.writeHead(301, { ...headers, Location: url.pathname + '/' });
              return res.end();
            }
            return fs.realpath(path.join(real, 'index.html'), (errIndex, index) => {
              if (errIndex || !inside(index, realRoot)) return notFound();
              serveFile(index);
            });
          }
          serveFile(real);
        });
      });
    });
    const serveFile = (file) =>
      fs.readFile(file, (err, body) => {
        if (err) return notFound();
        if (log) console.log(req.method, url.pathname, 200);
        send(200, body, TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream');
      });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`serve.mjs: ${e.message}`);
    process.exit(2);
  }
  if (!fs.existsSync(path.join(opts.build, 'web', 'dist'))) {
    console.error(`serve.mjs: warning: ${path.join(opts.build, 'web', 'dist')} does not exist yet; build the wasm preset`);
  }
  const server = createServer(opts);
  server.listen(opts.port, opts.host, () => {
    const { address, port } = server.address();
    const host = address.includes(':') ? `[${address}]` : address;
    console.log(`faceattr demo: http://${host}:${port}/demo/  (COOP/COEP ${opts.isolation ? 'on' : 'off'}; Ctrl-C stops)`);
  });
}
