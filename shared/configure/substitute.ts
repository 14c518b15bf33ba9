/**
 * Set values in YAML or JSON text by dot path, creating missing keys.
 *
 * YAML goes through the `yaml` Document API so comments, key order, blank lines and quoting styles survive;
 * the file's indentation step and sequence style are detected and kept, long lines are never re-folded. Scalars are changed in place so
 * a trailing comment on the old value stays. JSON stays JSON (indent kept when it is uniform).
 *
 * Multi-document YAML: a path is set in every document that already has it; keys are only created in
 * single-document files (creating `spec.replicas` in every manifest of a bundle would be wrong).
 */
import { Document, isAlias, isCollection, isMap, isScalar, isSeq, parseAllDocuments, type Node, YAMLMap, YAMLSeq } from 'yaml';
import { formatValuePath, type PathSegment } from './value-path.js';

export interface YamlLimits {
  /** aliases a document may expand when converted to data (billion-laughs guard) */
  maxAliasCount: number;
  /** bytes of one file that is parsed */
  maxFileSize: number;
}

export const DEFAULT_YAML_LIMITS: Readonly<YamlLimits> = Object.freeze({ maxAliasCount: 100, maxFileSize: 4 * 1024 * 1024 });

/** Why a value could not be set; the caller adds rule index and file name. */
export class SetValueError extends Error {
  override name = 'SetValueError';
}

export type FileFormat = 'yaml' | 'json';

export function formatOf(file: string, text: string): FileFormat {
  if (/\.json$/i.test(file)) return 'json';
  if (/\.ya?ml$/i.test(file)) return 'yaml';
  const start = text.trimStart()[0];
  if (start === '{' || start === '[') {
    try {
      JSON.parse(text);
      return 'json';
    } catch {
      return 'yaml';
    }
  }
  return 'yaml';
}

/** An editable, parsed file. Apply any number of `set`s, then `toString()` once. */
export interface EditableFile {
  readonly format: FileFormat;
  set(path: readonly PathSegment[], value: unknown): void;
  toString(): string;
}

// lineWidth 0: never re-fold long lines; no flow padding: keep `["a", "b"]` as written in most manifests
const STRINGIFY = { lineWidth: 0, minContentWidth: 0, flowCollectionPadding: false } as const;

interface YamlStyle {
  indent: number;
  indentSeq: boolean;
}

/**
 * The block style a file already uses, so an edit does not reformat every line: the indentation step
 * (first nested mapping) and whether sequences under a key are indented (`key:\n  - a`) or not (`key:\n- a`).
 */
export function detectYamlStyle(text: string): YamlStyle {
  const lines = text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#') && !l.startsWith('---') && !l.startsWith('...'));
  const indentOf = (l: string): number => l.length - l.trimStart().length;
  let indent: number | undefined;
  let indentSeq: boolean | undefined;
  for (let i = 0; i + 1 < lines.length && (indent === undefined || indentSeq === undefined); i++) {
    const line = lines[i] as string;
    const next = lines[i + 1] as string;
    if (!/^\s*(- )?[^\s#][^#]*:\s*(#.*)?$/.test(line)) continue; // a key without an inline value
    const keyIndent = indentOf(line) + (line.trimStart().startsWith('- ') ? 2 : 0);
    const nextIndent = indentOf(next);
    if (next.trimStart().startsWith('- ')) {
      indentSeq ??= nextIndent > keyIndent;
    } else if (nextIndent > keyIndent) {
      indent ??= nextIndent - keyIndent;
    }
  }
  return { indent: indent !== undefined && indent >= 1 && indent <= 8 ? indent : 2, indentSeq: indentSeq ?? true };
}

function describe(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a sequence';
  if (isAlias(node)) return 'an alias';
  if (isScalar(node)) return `the scalar ${JSON.stringify(node.value)}`;
  return typeof node;
}

function isPlainScalar(value: unknown): value is string | number | boolean | null {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

/** Walk/create down to the parent of the last segment inside one YAML document. */
function setInDocument(doc: Document, path: readonly PathSegment[], value: unknown, create: boolean): boolean {
  const first = path[0];
  if (doc.contents === null || doc.contents === undefined) {
    if (!create) return false;
    doc.contents = (typeof first === 'number' ? new YAMLSeq() : new YAMLMap()) as never;
  }
  let node: unknown = doc.contents;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i] as PathSegment;
    const last = i === path.length - 1;
    const where = formatValuePath(path.slice(0, i)) || '(document root)';
    if (isAlias(node)) throw new SetValueError(`${where} is an alias; aliased content cannot be changed in place`);
    let child: unknown;
    if (typeof segment === 'string') {
      if (!isMap(node)) throw new SetValueError(`expected a mapping at ${where}, found ${describe(node)}`);
      child = node.get(segment, true);
    } else {
      if (!isSeq(node)) throw new SetValueError(`expected a sequence at ${where}, found ${describe(node)}`);
      if (segment > node.items.length) {
        throw new SetValueError(`index ${segment} at ${where} is out of range (the sequence has ${node.items.length} items)`);
      }
      child = node.items[segment];
    }
    const collection = node as YAMLMap | YAMLSeq;
    if (last) {
      if (child !== undefined && isScalar(child) && isPlainScalar(value)) {
        child.value = value;
      } else {
        if (child === undefined && !create) return false;
        const created = doc.createNode(value) as Node;
        if (isCollection(child) || isScalar(child)) {
          const old = child as Node;
          if (old.commentBefore) created.commentBefore = old.commentBefore;
          if (old.comment) created.comment = old.comment;
        }
        if (typeof segment === 'number' && segment === collection.items.length) (collection as YAMLSeq).add(created);
        else collection.set(segment, created);
      }
      return true;
    }
    if (child === undefined || child === null || (isScalar(child) && child.value === null)) {
      if (!create) return false;
      const next = path[i + 1];
      const fresh = typeof next === 'number' ? new YAMLSeq() : new YAMLMap();
      if (typeof segment === 'number' && segment === collection.items.length) (collection as YAMLSeq).add(fresh);
      else collection.set(segment, fresh);
      child = fresh;
    }
    node = child;
  }
  return true;
}

class YamlFile implements EditableFile {
  readonly format = 'yaml' as const;
  constructor(
    private readonly docs: Document[],
    private readonly style: YamlStyle,
  ) {}

  set(path: readonly PathSegment[], value: unknown): void {
    if (this.docs.length <= 1) {
      const doc = this.docs[0] ?? new Document();
      if (this.docs.length === 0) this.docs.push(doc);
      setInDocument(doc, path, value, true);
      return;
    }
    let hits = 0;
    for (const doc of this.docs) if (setInDocument(doc, path, value, false)) hits++;
    if (hits === 0) {
      throw new SetValueError(
        `not present in any of the ${this.docs.length} documents (keys are only created in single-document files)`,
      );
    }
  }

  toString(): string {
    return this.docs.map((d) => d.toString({ ...STRINGIFY, ...this.style })).join('');
  }
}

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

class JsonFile implements EditableFile {
  readonly format = 'json' as const;
  constructor(
    private data: JsonValue,
    private readonly indent: string | number,
    private readonly trailingNewline: boolean,
  ) {}

  set(path: readonly PathSegment[], value: unknown): void {
    const json = JSON.parse(JSON.stringify(value ?? null)) as JsonValue;
    if (path.length === 0) throw new SetValueError('empty path');
    if (this.data === null) this.data = typeof path[0] === 'number' ? [] : {};
    let node: JsonValue = this.data;
    for (let i = 0; i < path.length; i++) {
      const segment = path[i] as PathSegment;
      const last = i === path.length - 1;
      const where = formatValuePath(path.slice(0, i)) || '(document root)';
      let container: JsonValue[] | Record<string, JsonValue>;
      if (typeof segment === 'string') {
        if (node === null || typeof node !== 'object' || Array.isArray(node)) {
          throw new SetValueError(`expected an object at ${where}, found ${JSON.stringify(node)}`);
        }
        container = node;
      } else {
        if (!Array.isArray(node)) throw new SetValueError(`expected an array at ${where}, found ${JSON.stringify(node)}`);
        if (segment > node.length) throw new SetValueError(`index ${segment} at ${where} is out of range (the array has ${node.length} items)`);
        container = node;
      }
      const get = (): JsonValue | undefined => (container as Record<string | number, JsonValue>)[segment];
      const put = (v: JsonValue): void => {
        (container as Record<string | number, JsonValue>)[segment] = v;
      };
      if (last) {
        put(json);
        return;
      }
      let child = get();
      if (child === undefined || child === null) {
        child = typeof path[i + 1] === 'number' ? [] : {};
        put(child);
      }
      node = child;
    }
  }

  toString(): string {
    return JSON.stringify(this.data, null, this.indent) + (this.trailingNewline ? '\n' : '');
  }
}

function jsonIndent(text: string): string | number {
  const m = /^[{[]\r?\n([ \t]+)\S/.exec(text.trimStart());
  return m?.[1] ?? (text.trimStart().includes('\n') ? 2 : 0);
}

/** Parse a file for editing. Throws SetValueError with a readable message on syntax errors or limits. */
export function parseEditable(file: string, text: string, limits: YamlLimits = DEFAULT_YAML_LIMITS): EditableFile {
  if (Buffer.byteLength(text, 'utf8') > limits.maxFileSize) {
    throw new SetValueError(`file is larger than ${limits.maxFileSize} bytes`);
  }
  if (formatOf(file, text) === 'json') {
    let data: JsonValue;
    try {
      data = JSON.parse(text) as JsonValue;
    } catch (err) {
      throw new SetValueError(`not valid JSON: ${(err as Error).message}`);
    }
    return new JsonFile(data, jsonIndent(text), text.endsWith('\n'));
  }
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  if (!Array.isArray(docs)) throw new SetValueError('not valid YAML');
  for (const doc of docs) {
    const first = doc.errors[0];
    if (first) throw new SetValueError(`not valid YAML: ${first.message.split('\n')[0]}`);
    // expanding aliases is where "billion laughs" bites; refuse documents that expand too much
    try {
      doc.toJS({ maxAliasCount: limits.maxAliasCount });
    } catch (err) {
      throw new SetValueError(`YAML rejected: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return new YamlFile(docs as Document[], detectYamlStyle(text));
}
