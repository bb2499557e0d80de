// Command-line options of the bench and test tools, on node's own
// util.parseArgs: a tool declares its options once (kind, default, bounds) and
// gets back converted values, or exits 2 with a message naming the option.
import path from 'node:path';
import { parseArgs } from 'node:util';

/** A function that prints `tool: message` on stderr and exits 2. */
export const dieWith = (tool) => (message) => {
  console.error(`${tool}: ${message}`);
  process.exit(2);
};

const camel = (name) => name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());

function integer(die, name, text, min, max) {
  const v = Number(text);
  if (text.trim() === '' || !Number.isInteger(v) || v < min || v > max)
    die(`--${name} takes ${max === Infinity ? `integers >= ${min}` : `integers ${min}..${max}`}, got '${text}'`);
  return v;
}

function number(die, name, text) {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) die(`--${name} takes a number, got '${text}'`);
  return v;
}

/**
 * Parses argv against spec: {'option-name': {kind, default, min, max}}, where kind is
 * 'flag' | 'string' | 'path' | 'int' | 'number' | 'strings' | 'paths' | 'ints' (the plural
 * kinds are comma-separated lists; paths are resolved against the working folder;
 * ints are bounded by min (default 1) and max). Returns {optionName: value} with the
 * defaults filled in. `--help`/`-h` prints `usage` and exits 0; anything unknown,
 * a missing value or a bad number exits 2 with a message.
 */
export function parseOptions(tool, spec, usage, argv = process.argv.slice(2)) {
  const die = dieWith(tool);
  const options = { help: { type: 'boolean', short: 'h' } };
  for (const [name, s] of Object.entries(spec)) options[name] = { type: s.kind === 'flag' ? 'boolean' : 'string' };
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (e) {
    die(`${e.message} (see --help)`);
  }
  if (values.help) {
    console.log(`usage: ${usage}`);
    process.exit(0);
  }
  const out = {};
  for (const [name, s] of Object.entries(spec)) {
    const text = values[name];
    const key = camel(name);
    if (text === undefined) {
      out[key] = s.default;
      continue;
    }
    const min = s.min ?? 1, max = s.max ?? Infinity;
    const list = () => text.split(',');
    switch (s.kind) {
      case 'flag': out[key] = true; break;
      case 'string': out[key] = text; break;
      case 'path': out[key] = path.resolve(text); break;
      case 'int': out[key] = integer(die, name, text, min, max); break;
      case 'number': out[key] = number(die, name, text); break;
      case 'strings': out[key] = list(); break;
      case 'paths': out[key] = list().map((p) => path.resolve(p)); break;
      case 'ints': out[key] = list().map((t) => integer(die, name, t, min, max)); break;
      default: throw new Error(`options: unknown kind '${s.kind}' for --${name}`);
    }
  }
  return out;
}
