/**
 * `ocm-knative run -f FILE_OR_DIR... [--out DIR] [--registry URL] [--kubeconfig PATH] [--output table|json]`
 * `ocm-knative tenant add NAMESPACE --zot-config FILE --htpasswd FILE --registry-host HOST` (tenant.ts)
 * Exit codes: 0 everything Ready; 1 some object failed; 2 usage or input errors (nothing ran).
 */
import { parseArgs } from 'node:util';
import { loadManifests } from './manifests.js';
import { allReady, jsonReport, Progress, rowsOf, table } from './report.js';
import { runPipeline } from './run.js';
import { addTenant, PULL_SECRET } from './tenant.js';

const USAGE = `Usage: ocm-knative run -f FILE_OR_DIR... [--out DIR] [--registry URL [--registry-ca-file PEM]] [--kubeconfig PATH] [-n NAMESPACE] [--output table|json]

Runs the OCM delivery pipeline (descriptor, resource, configure, publish) on the resources in the given
manifests, with no cluster: objects and their status go to DIR/objects/, artifacts to DIR/registry/ as OCI
image layouts (readable with skopeo, oras, zot).

  -f, --filename    manifest file or directory (repeatable), as kubectl apply -f
      --out         output directory (default: ./out)
      --registry    push artifacts to this OCI registry (e.g. http://127.0.0.1:5000) instead of DIR/registry;
                    credentials from REGISTRY_USERNAME and REGISTRY_PASSWORD in the environment (never on the
                    command line)
      --registry-ca-file  PEM CA bundle for an https --registry (added to the public roots)
      --kubeconfig  use this API server instead of DIR/objects (our CRDs must be installed)
  -n, --namespace   namespace for objects that name none (default: default)
  -o, --output      table (default) or json
  -q, --quiet       no progress lines
  -h, --help        this text`;

const TENANT_USAGE = `Usage: ocm-knative tenant add NAMESPACE --zot-config FILE --htpasswd FILE --registry-host HOST[:PORT]

Gives tenant namespace NAMESPACE its own read-only registry identity (user tenant-NAMESPACE, read on
NAMESPACE/** only): edits zot's config (accessControl) and htpasswd file in place, and prints the tenant's pull
Secret (${PULL_SECRET}, the only copy of the password) for \`kubectl apply -f -\`. Running it again for the
same namespace replaces the password. See README.md, "Tenants".`;

async function tenant(rest: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: {
        'zot-config': { type: 'string' },
        htpasswd: { type: 'string' },
        'registry-host': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: true,
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${TENANT_USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${TENANT_USAGE}\n`);
    return 0;
  }
  const [verb, namespace, ...extra] = positionals;
  const missing = (['zot-config', 'htpasswd', 'registry-host'] as const).filter((k) => !values[k]);
  if (verb !== 'add' || !namespace || extra.length > 0 || missing.length > 0) {
    const why = verb !== 'add' ? `unknown tenant command "${verb ?? ''}"` : !namespace ? 'NAMESPACE is required' : missing.length ? `--${missing.join(', --')} required` : 'one NAMESPACE only';
    process.stderr.write(`error: ${why}\n\n${TENANT_USAGE}\n`);
    return 2;
  }
  try {
    const added = await addTenant({ namespace, zotConfig: values['zot-config']!, htpasswd: values.htpasswd!, registryHost: values['registry-host']! });
    process.stdout.write(added.secretYaml);
    process.stderr.write(`tenant ${namespace}: user ${added.user} may read ${namespace}/** only; roll zot out with the new config and htpasswd, then apply the Secret above in ${namespace}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 2;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(`${USAGE}\n\n${TENANT_USAGE}\n`);
    return 0;
  }
  if (command === 'tenant') return tenant(rest);
  if (command !== 'run') {
    process.stderr.write(`${command === undefined ? 'missing command' : `unknown command "${command}"`}\n\n${USAGE}\n`);
    return 2;
  }
  let args;
  try {
    args = parseArgs({
      args: rest,
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        out: { type: 'string', default: './out' },
        registry: { type: 'string' },
        'registry-ca-file': { type: 'string' },
        kubeconfig: { type: 'string' },
        namespace: { type: 'string', short: 'n', default: 'default' },
        output: { type: 'string', short: 'o', default: 'table' },
        quiet: { type: 'boolean', short: 'q', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const usageError = (msg: string) => {
    process.stderr.write(`error: ${msg}\n\n${USAGE}\n`);
    return 2;
  };
  if (!args.filename?.length) return usageError('-f/--filename is required');
  if (args.output !== 'table' && args.output !== 'json') return usageError(`--output must be table or json, not "${args.output}"`);
  if (args.registry !== undefined && !/^https?:\/\/[^/]+\/?$/.test(args.registry)) {
    return usageError(`--registry must be a registry base URL such as http://127.0.0.1:5000, not "${args.registry}"`);
  }

  if (args['registry-ca-file'] !== undefined && args.registry === undefined) return usageError('--registry-ca-file needs --registry');
  const username = process.env.REGISTRY_USERNAME;
  const password = process.env.REGISTRY_PASSWORD;
  if (args.registry !== undefined && (username === undefined) !== (password === undefined)) {
    return usageError('set both REGISTRY_USERNAME and REGISTRY_PASSWORD for --registry, or neither');
  }

  const input = await loadManifests(args.filename, args.namespace);
  if (input.problems.length > 0) {
    process.stderr.write(`${input.problems.length} problem(s) in the manifests; nothing was run:\n`);
    for (const p of input.problems) {
      process.stderr.write(`  ${p.file} (document ${p.document})${p.path ? ` ${p.path}` : ''}: ${p.message}\n`);
    }
    return 2;
  }
  if (input.objects.length === 0) return usageError('the manifests hold none of our resources');

  const json = args.output === 'json';
  const progress = new Progress(process.stderr, !args.quiet);
  const summary = await runPipeline(input, {
    out: args.out!,
    ...(args.registry ? { registry: args.registry.replace(/\/$/, '') } : {}),
    ...(args['registry-ca-file'] ? { registryCaFile: args['registry-ca-file'] } : {}),
    ...(args.registry && username !== undefined && password !== undefined ? { registryCredentials: { username, password } } : {}),
    ...(args.kubeconfig ? { kubeconfig: args.kubeconfig } : {}),
    progress: (line) => progress.line(line),
  });
  progress.done();
  const rows = rowsOf(summary.objects);
  if (json) {
    process.stdout.write(`${jsonReport(summary, rows)}\n`);
  } else {
    process.stdout.write(`${table(rows)}\n`);
    const where = args.kubeconfig ? 'the API server' : `${args.out}/objects`;
    process.stdout.write(`\n${closingLine(summary.changed, rows, where, args.out!, summary)}\n`);
    for (const dl of summary.deadLetters) process.stdout.write(`dead letter: ${dl.stage} ${dl.object}: ${dl.error}\n`);
  }
  return allReady(rows) && summary.deadLetters.length === 0 ? 0 : 1;
}

/**
 * The line under the table. "Nothing to do" only when nothing changed because everything is already Ready: a first
 * run in which every object failed also changes nothing, and must say that instead.
 */
export function closingLine(
  changed: boolean,
  rows: { ready: string }[],
  where: string,
  out: string,
  summary: { registry: string; deliveries: number; events: number },
): string {
  if (changed) return `${rows.length} objects in ${where}; artifacts in ${summary.registry} (${summary.deliveries} deliveries of ${summary.events} events)`;
  const failed = rows.filter((r) => r.ready !== 'True').length;
  if (failed === 0) return `Nothing to do: ${out} is up to date (${rows.length} objects, no stage changed anything).`;
  return `Nothing was applied: ${failed} of ${rows.length} objects are not Ready (reasons above), and no stage produced anything.`;
}
