/**
 * Dot paths into YAML/JSON documents, as used by `target.file.value`: `image.tag`,
 * `spec.template.spec.containers[0].image`, `annotations["example.com/x"]`, optional leading `.` (yq style).
 * String segments address mapping keys, numbers address sequence items.
 */
import { ValuePathError } from './errors.js';

export type PathSegment = string | number;

export function parseValuePath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  let i = path.startsWith('.') ? 1 : 0;
  let expectKey = true;
  if (i >= path.length) throw new ValuePathError(path, 'empty path');
  while (i < path.length) {
    const ch = path[i];
    if (ch === '[') {
      const close = path.indexOf(']', i);
      if (close < 0) throw new ValuePathError(path, `unclosed '[' at ${i}`);
      const inner = path.slice(i + 1, close);
      const quoted = /^"(.*)"$|^'(.*)'$/.exec(inner);
      if (quoted) {
        const key = quoted[1] ?? quoted[2] ?? '';
        if (key === '') throw new ValuePathError(path, `empty key at ${i}`);
        segments.push(key);
      } else if (/^(0|[1-9][0-9]{0,8})$/.test(inner)) {
        segments.push(Number(inner));
      } else {
        throw new ValuePathError(path, `expected a sequence index or a quoted key in [] at ${i}`);
      }
      i = close + 1;
      expectKey = false;
      continue;
    }
    if (ch === '.') {
      if (expectKey) throw new ValuePathError(path, `empty segment at ${i}`);
      i++;
      expectKey = true;
      if (i >= path.length) throw new ValuePathError(path, 'trailing "."');
      continue;
    }
    if (!expectKey) throw new ValuePathError(path, `expected "." or "[" at ${i}`);
    let end = i;
    while (end < path.length && path[end] !== '.' && path[end] !== '[') end++;
    segments.push(path.slice(i, end));
    i = end;
    expectKey = false;
  }
  return segments;
}

export function formatValuePath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[^.[\]"']+$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}
