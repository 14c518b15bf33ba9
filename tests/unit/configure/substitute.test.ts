import { describe, expect, it } from 'vitest';
import { parseEditable, parseValuePath, SetValueError, ValuePathError } from '../../../shared/configure/index.js';

function edit(file: string, text: string, ...sets: [string, unknown][]): string {
  const e = parseEditable(file, text);
  for (const [path, value] of sets) e.set(parseValuePath(path), value);
  return e.toString();
}

const VALUES = `# Default values for podinfo.
replicaCount: 1 # keep it small

image:
  # where the image comes from
  repository: ghcr.io/stefanprodan/podinfo # upstream
  tag: "6.7.1"
  pullPolicy: IfNotPresent

service:
  type: ClusterIP
  port: 9898
  annotations: {}
ports:
  - name: http
    port: 80
`;

describe('value paths', () => {
  it('parses dots, indices and quoted keys', () => {
    expect(parseValuePath('image.tag')).toEqual(['image', 'tag']);
    expect(parseValuePath('.spec.containers[0].image')).toEqual(['spec', 'containers', 0, 'image']);
    expect(parseValuePath('metadata.annotations["example.com/x"]')).toEqual(['metadata', 'annotations', 'example.com/x']);
    expect(parseValuePath("a['b.c'][2][3]")).toEqual(['a', 'b.c', 2, 3]);
  });
  it.each(['', '.', 'a..b', 'a.', 'a[', 'a[x]', 'a[-1]', 'a[0]b', '[""]'])('rejects %j', (p) => {
    expect(() => parseValuePath(p)).toThrow(ValuePathError);
  });
});

describe('YAML substitutions', () => {
  it('keeps comments, key order, blank lines and quoting', () => {
    const out = edit('values.yaml', VALUES, ['image.tag', '7.0.0'], ['replicaCount', 3]);
    expect(out).toBe(VALUES.replace('tag: "6.7.1"', 'tag: "7.0.0"').replace('replicaCount: 1 # keep', 'replicaCount: 3 # keep'));
  });

  it('keeps the trailing comment of a replaced scalar', () => {
    const out = edit('values.yaml', VALUES, ['image.repository', 'registry.local/podinfo']);
    expect(out).toContain('  repository: registry.local/podinfo # upstream\n');
  });

  it('creates missing keys and sequences, appending at the end', () => {
    const out = edit(
      'values.yaml',
      VALUES,
      ['image.digest', 'sha256:abc'],
      ['podAnnotations["example.com/managed-by"]', 'ocm'],
      ['ports[1].name', 'metrics'],
      ['extra.list[0].name', 'first'],
    );
    expect(out).toContain('  pullPolicy: IfNotPresent\n  digest: sha256:abc\n');
    expect(out).toContain('podAnnotations:\n  example.com/managed-by: ocm\n');
    expect(out).toContain('  - name: metrics\n');
    expect(out).toContain('extra:\n  list:\n    - name: first\n');
    // everything that was there is still there, in order
    expect(out.replace('  digest: sha256:abc\n', '').startsWith(VALUES.slice(0, VALUES.indexOf('ports:')))).toBe(true);
  });

  it('writes structured values and keeps a value that needs quoting a string', () => {
    const out = edit('v.yaml', 'a: 1\n', ['b', { x: [1, 2], y: 'z' }], ['c', '1.0'], ['d', 'true'], ['e', null]);
    expect(out).toBe('a: 1\nb:\n  x:\n    - 1\n    - 2\n  y: z\nc: "1.0"\nd: "true"\ne: null\n');
  });

  it('fills an empty file and a null value', () => {
    expect(edit('v.yaml', '', ['a.b', 1])).toBe('a:\n  b: 1\n');
    expect(edit('v.yaml', 'a:\n', ['a.b', 1])).toBe('a:\n  b: 1\n');
  });

  it('keeps the indentation step and the sequence style of the file', () => {
    const fourSpaces = 'a:\n    b:\n        c: 1\nlist:\n    - x\n    - y\n';
    expect(edit('v.yaml', fourSpaces, ['a.b.c', 2])).toBe(fourSpaces.replace('c: 1', 'c: 2'));
    const flatSeqs = 'a:\n  b: 1\nlist:\n- x\n- y\nnested:\n  items:\n  - name: n\n    v: 1\n';
    expect(edit('v.yaml', flatSeqs, ['a.b', 2])).toBe(flatSeqs.replace('b: 1', 'b: 2'));
    const twoIndented = 'a:\n  list:\n    - 1\n    - 2\n';
    expect(edit('v.yaml', twoIndented, ['a.list[1]', 3])).toBe('a:\n  list:\n    - 1\n    - 3\n');
  });

  it('does not refold long lines', () => {
    const long = 'x'.repeat(200) + ' ' + 'y'.repeat(200);
    expect(edit('v.yaml', `k: ${long}\nn: 1\n`, ['n', 2])).toBe(`k: ${long}\nn: 2\n`);
  });

  it('sets a path in every document of a multi-document file that has it, creates nothing', () => {
    const text = 'kind: A\nspec:\n  image: a\n---\nkind: B\n---\nkind: C\nspec:\n  image: c\n';
    expect(edit('m.yaml', text, ['spec.image', 'new'])).toBe(
      'kind: A\nspec:\n  image: new\n---\nkind: B\n---\nkind: C\nspec:\n  image: new\n',
    );
    expect(() => edit('m.yaml', text, ['spec.replicas', 2])).toThrow(/not present in any of the 3 documents/);
  });

  it('names the problem when a path cannot be set', () => {
    expect(() => edit('v.yaml', VALUES, ['image.tag.x', 1])).toThrow(/expected a mapping at image\.tag, found the scalar "6\.7\.1"/);
    expect(() => edit('v.yaml', VALUES, ['ports.name', 1])).toThrow(/expected a mapping at ports, found a sequence/);
    expect(() => edit('v.yaml', VALUES, ['ports[5]', 1])).toThrow(/out of range/);
    expect(() => edit('v.yaml', 'a: [1\n', ['a', 1])).toThrow(SetValueError);
    expect(() => edit('v.yaml', 'a: 1\na: 2\n', ['a', 1])).toThrow(/not valid YAML/);
  });

  it('refuses alias bombs', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      lines.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(',')}]`);
    }
    const bomb = lines.join('\n') + '\n';
    expect(() => parseEditable('bomb.yaml', bomb)).toThrow(/YAML rejected/);
  });

  it('refuses files over the size limit', () => {
    expect(() => parseEditable('big.yaml', 'a: ' + 'x'.repeat(2000), { maxAliasCount: 100, maxFileSize: 1000 })).toThrow(/larger than 1000/);
  });
});

describe('JSON substitutions', () => {
  it('stays JSON with its indentation and key order', () => {
    const text = '{\n    "b": 1,\n    "a": {\n        "image": "x"\n    }\n}\n';
    const out = edit('config.json', text, ['a.image', 'y'], ['a.tag', '1'], ['list[0]', true]);
    expect(out).toBe('{\n    "b": 1,\n    "a": {\n        "image": "y",\n        "tag": "1"\n    },\n    "list": [\n        true\n    ]\n}\n');
    expect(JSON.parse(out)).toEqual({ b: 1, a: { image: 'y', tag: '1' }, list: [true] });
  });

  it('detects JSON content without a .json name and keeps compact JSON compact', () => {
    expect(edit('config', '{"a":1}', ['b', 2])).toBe('{"a":1,"b":2}');
  });

  it('reports invalid JSON and type conflicts', () => {
    expect(() => edit('c.json', '{"a":', ['a', 1])).toThrow(/not valid JSON/);
    expect(() => edit('c.json', '{"a":[]}', ['a.b', 1])).toThrow(/expected an object at a/);
  });
});
