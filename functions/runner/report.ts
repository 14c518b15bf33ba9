/**
 * What the runner prints: progress while it works (a live line on a terminal, plain lines otherwise), then a
 * table of every object with its Ready state and the snapshot it produced, or one JSON document.
 */
import type { Condition, KubeObject, SnapshotObject } from '../../shared/ports/kinds.js';
import type { ProgressLine, RunSummary } from './run.js';

export interface ObjectRow {
  kind: string;
  namespace: string;
  name: string;
  ready: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  snapshot?: { name: string; repository: string; tag: string; digest: string; size: number; mediaType: string };
  published?: { url: string; digest: string };
}

const PRODUCER_ORDER = ['OCMRepository', 'Component', 'Resource', 'Configuration', 'Publication'];

export function rowsOf(objects: KubeObject[]): ObjectRow[] {
  const snapshots = new Map(
    objects.filter((o) => o.kind === 'Snapshot').map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s as SnapshotObject]),
  );
  return objects
    .filter((o) => PRODUCER_ORDER.includes(o.kind))
    .sort((a, b) => PRODUCER_ORDER.indexOf(a.kind) - PRODUCER_ORDER.indexOf(b.kind) || a.metadata.name.localeCompare(b.metadata.name))
    .map((o) => {
      const ready = o.status?.conditions?.find((c: Condition) => c.type === 'Ready');
      const status = o.status as { snapshotRef?: { name: string }; published?: { url: string; digest: string } } | undefined;
      const snap = status?.snapshotRef ? snapshots.get(`${o.metadata.namespace}/${status.snapshotRef.name}`) : undefined;
      const current = ready && (ready.observedGeneration === undefined || ready.observedGeneration === o.metadata.generation);
      return {
        kind: o.kind,
        namespace: o.metadata.namespace,
        name: o.metadata.name,
        ready: current ? ready.status : 'Unknown',
        reason: current ? ready.reason : 'NotReconciled',
        message: current ? ready.message : 'no stage has reconciled this generation yet',
        ...(snap?.spec
          ? {
              snapshot: {
                name: snap.metadata.name,
                repository: snap.spec.repository,
                tag: snap.spec.tag,
                digest: snap.spec.digest,
                size: snap.spec.blob.size,
                mediaType: snap.spec.blob.mediaType,
              },
            }
          : {}),
        ...(status?.published ? { published: { url: status.published.url, digest: status.published.digest } } : {}),
      };
    });
}

export function allReady(rows: ObjectRow[]): boolean {
  return rows.length > 0 && rows.every((r) => r.ready === 'True');
}

function humanSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

export function table(rows: ObjectRow[]): string {
  const header = ['KIND', 'NAMESPACE/NAME', 'READY', 'REASON', 'SNAPSHOT', 'SIZE'];
  const body = rows.map((r) => [
    r.kind,
    `${r.namespace}/${r.name}`,
    r.ready,
    r.reason,
    r.snapshot ? short(r.snapshot.digest) : r.published ? short(r.published.digest) : '-',
    r.snapshot ? humanSize(r.snapshot.size) : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const failures = rows.filter((r) => r.ready !== 'True').map((r) => `  ${r.kind} ${r.namespace}/${r.name}: ${r.message}`);
  return [line(header), ...body.map(line), ...(failures.length ? ['', 'Not ready:', ...failures] : [])].join('\n');
}

export function jsonReport(summary: RunSummary, rows: ObjectRow[]): string {
  return JSON.stringify(
    {
      ready: allReady(rows),
      changed: summary.changed,
      registry: summary.registry,
      events: summary.events,
      deliveries: summary.deliveries,
      deadLetters: summary.deadLetters,
      objects: rows,
    },
    null,
    2,
  );
}

/** Progress output: a rewriting status line on a TTY, one plain line per stage transition otherwise. */
export class Progress {
  private count = 0;
  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly enabled: boolean,
  ) {}

  line(p: ProgressLine): void {
    if (!this.enabled) return;
    this.count++;
    const what = `${p.stage.padEnd(10)} ${p.kind} ${p.namespace}/${p.name}: ${p.outcome}${p.reason ? ` (${p.reason})` : ''}`;
    const detail = p.outcome === 'failed' || p.outcome === 'gave up' || p.outcome === 'retrying' ? ` — ${p.message ?? ''}` : '';
    if (this.stream.isTTY) {
      const text = `[${this.count}] ${what}`.slice(0, (this.stream.columns ?? 100) - 1);
      this.stream.write(`\r\x1b[2K${text}`);
      if (detail) this.stream.write(`\n  ${detail.slice(3)}\n`);
    } else {
      this.stream.write(`${what}${detail} [${Math.round(p.ms)} ms]\n`);
    }
  }

  done(): void {
    if (this.enabled && this.stream.isTTY && this.count > 0) this.stream.write('\r\x1b[2K');
  }
}
