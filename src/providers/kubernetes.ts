import { lazySchema, z } from '../common/zod.ts';
import { parseOptions } from '../common/validate.ts';
import { BaseProvider, type StatusUpdate } from './cluster.ts';
import { JobStatusError, SubmitError } from './errors.ts';
import { SingleNodeLauncher } from './launchers/simple.ts';
import { commonOptionsShape, resolveCommonOptions, type ResolvedProviderOptions, type SubmitOptions } from './provider.ts';
import { joinPosix } from './shell.ts';
import { shellQuote } from '../common/shell-quote.ts';

const quantity = lazySchema(() => z.union([z.number().positive(), z.string().min(1)]).transform(String));

const kubernetesSchema = lazySchema(() =>
  z
    .object({
      ...commonOptionsShape({ label: 'kubernetes' }),
      /** One pod per block: a pod is one node. @default 1 */
      nodesPerBlock: z.literal(1, { message: 'a Kubernetes block is one pod: nodesPerBlock must be 1' }).default(1),
      /** The container image that runs the block's command (it needs bash). */
      image: z.string().min(1),
      /** Namespace of the pods. @default 'default' */
      namespace: z.string().min(1).default('default'),
      /** Prefix of pod names. @default 'parsl' */
      podName: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a DNS-1123 label: lower-case letters, digits and dashes')
        .max(30)
        .default('parsl'),
      /** CPU request of the container. @default '1' */
      initCpu: quantity.default('1'),
      /** CPU limit of the container. @default '1' */
      maxCpu: quantity.default('1'),
      /** Memory request of the container. @default '250Mi' */
      initMem: quantity.default('250Mi'),
      /** Memory limit of the container. @default '750Mi' */
      maxMem: quantity.default('750Mi'),
      /** Name of an image pull secret. @default none */
      secret: z.string().min(1).optional(),
      /** Service account the pods run as. @default none: the namespace's default */
      serviceAccountName: z.string().min(1).optional(),
      /** Persistent volume claims mounted in the container: `[claimName, mountPath]` pairs. @default [] */
      persistentVolumes: z.array(z.tuple([z.string().min(1), z.string().min(1)])).default([]),
      /** Labels added to every pod. @default {} */
      extraLabels: z.record(z.string(), z.string()).default({}),
      /** The kubectl command (a path, or with `--context …`/`--kubeconfig …`). @default 'kubectl' */
      kubectl: z.string().min(1).default('kubectl'),
    })
    .strict(),
);

/**
 * KubernetesProvider options as the user gives them.
 * @interface
 *
 * @example
 * ```ts
 * const options: KubernetesProviderOptions = { image: 'ghcr.io/me/worker:1', namespace: 'science', maxCpu: '2' };
 * new KubernetesProvider(options);
 * ```
 */
export type KubernetesProviderOptions = z.input<typeof kubernetesSchema>;

export interface ResolvedKubernetesProviderOptions extends ResolvedProviderOptions {
  image: string;
  namespace: string;
  podName: string;
  initCpu: string;
  maxCpu: string;
  initMem: string;
  maxMem: string;
  secret: string | undefined;
  serviceAccountName: string | undefined;
  persistentVolumes: Array<[string, string]>;
  extraLabels: Record<string, string>;
  kubectl: string;
}

/** Validates KubernetesProvider options and fills defaults. Throws `ConfigError`. */
export function resolveKubernetesProviderOptions(options: KubernetesProviderOptions): ResolvedKubernetesProviderOptions {
  const parsed = parseOptions(kubernetesSchema, options, 'KubernetesProvider');
  const common = resolveCommonOptions('KubernetesProvider', parsed, { launcher: () => new SingleNodeLauncher(), walltimeMs: undefined });
  return {
    ...common,
    image: parsed.image,
    namespace: parsed.namespace,
    podName: parsed.podName,
    initCpu: parsed.initCpu,
    maxCpu: parsed.maxCpu,
    initMem: parsed.initMem,
    maxMem: parsed.maxMem,
    secret: parsed.secret,
    serviceAccountName: parsed.serviceAccountName,
    persistentVolumes: parsed.persistentVolumes,
    extraLabels: parsed.extraLabels,
    kubectl: parsed.kubectl,
  };
}

/** The shell text a pod runs: `workerInit`, then the launched command. */
const POD_TEMPLATE = `{{worker_init}}

export JOBNAME={{job_name}}
export PARSL_SCRIPT_DIR=/tmp

{{command}}
`;

/** A pod name (a DNS-1123 label of at most 63 characters) for a job name, keeping its unique tail. */
export function podNameFor(prefix: string, jobName: string): string {
  const clean = `${prefix}-${jobName}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  if (clean.length <= 63) return clean;
  const tail = clean.slice(-20);
  return `${clean.slice(0, 63 - tail.length - 1).replace(/-$/, '')}-${tail}`;
}

interface PodJson {
  kind?: string;
  metadata?: { name?: string; deletionTimestamp?: string };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    containerStatuses?: Array<{
      state?: {
        waiting?: { reason?: string; message?: string };
        terminated?: { exitCode?: number; reason?: string; message?: string };
      };
    }>;
  };
}

/** `kubectl get pod … -o json` (one Pod, or a List of them) → pods by name. */
export function parseKubectlPods(stdout: string): Map<string, PodJson> {
  const pods = new Map<string, PodJson>();
  if (stdout.trim() === '') return pods;
  const data = JSON.parse(stdout) as PodJson & { items?: PodJson[] };
  const items = data.kind === 'List' || Array.isArray(data.items) ? (data.items ?? []) : [data];
  for (const pod of items) if (pod.metadata?.name) pods.set(pod.metadata.name, pod);
  return pods;
}

/** A pod as a job status: its phase, the first container's exit code and reasons. */
export function podStatus(pod: PodJson): StatusUpdate {
  const phase = pod.status?.phase ?? '';
  const container = pod.status?.containerStatuses?.[0]?.state;
  const terminated = container?.terminated;
  const waiting = container?.waiting;
  if (pod.metadata?.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed') {
    return { state: 'cancelled', message: 'the pod is being deleted' };
  }
  switch (phase) {
    case 'Pending':
      return waiting?.reason ? { state: 'pending', message: [waiting.reason, waiting.message].filter(Boolean).join(': ') } : { state: 'pending' };
    case 'Running':
      return { state: 'running' };
    case 'Succeeded':
      return { state: 'completed', exitCode: terminated?.exitCode ?? 0 };
    case 'Failed': {
      const reason = [terminated?.reason ?? pod.status?.reason, terminated?.message ?? pod.status?.message].filter(Boolean).join(': ');
      return { state: 'failed', exitCode: terminated?.exitCode, message: reason || undefined };
    }
    default:
      return { state: 'unknown', message: `pod phase ${JSON.stringify(phase)}` };
  }
}

/**
 * Blocks as Kubernetes pods, one per block, driven by `kubectl` on the channel: submit writes
 * a pod manifest (JSON) next to the scripts and runs `kubectl create -f`, status reads `kubectl
 * get pod -o json`, cancel runs `kubectl delete pod`. The job id is the pod's name.
 *
 * @example
 * ```ts
 * new KubernetesProvider({ image: 'ghcr.io/me/worker:1', namespace: 'science', maxBlocks: 10 })
 * ```
 */
export class KubernetesProvider extends BaseProvider<ResolvedKubernetesProviderOptions> {
  protected readonly kind = 'KubernetesProvider';

  constructor(options: KubernetesProviderOptions) {
    super(resolveKubernetesProviderOptions(options));
  }

  /** The pod manifest of a block. */
  podManifest(podName: string, jobName: string, script: string, env: Record<string, string>): object {
    const o = this.options;
    const container: Record<string, unknown> = {
      name: 'parsl-block',
      image: o.image,
      command: ['/bin/bash'],
      args: ['-c', script],
      resources: { requests: { cpu: o.initCpu, memory: o.initMem }, limits: { cpu: o.maxCpu, memory: o.maxMem } },
      env: Object.entries(env).map(([name, value]) => ({ name, value })),
    };
    if (o.persistentVolumes.length > 0) {
      container.volumeMounts = o.persistentVolumes.map(([claim, mountPath], i) => ({ name: `volume-${i}-${claim}`.slice(0, 63), mountPath }));
    }
    const spec: Record<string, unknown> = { restartPolicy: 'Never', containers: [container] };
    if (o.secret) spec.imagePullSecrets = [{ name: o.secret }];
    if (o.serviceAccountName) spec.serviceAccountName = o.serviceAccountName;
    if (o.persistentVolumes.length > 0) {
      spec.volumes = o.persistentVolumes.map(([claim], i) => ({ name: `volume-${i}-${claim}`.slice(0, 63), persistentVolumeClaim: { claimName: claim } }));
    }
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: podName,
        namespace: o.namespace,
        labels: { app: 'parsl-ts', 'parsl-ts/provider': o.label.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 63), ...o.extraLabels },
        annotations: { 'parsl-ts/job-name': jobName },
      },
      spec,
    };
  }

  /** Creates the block's pod with `kubectl apply`; resolves with the pod's name, or rejects with `SubmitError`. */
  async submit(command: string, tasksPerNode: number, jobName: string, options: SubmitOptions = {}): Promise<string> {
    const job = this.newJob(jobName, tasksPerNode, options);
    const podName = podNameFor(this.options.podName, job.jobName);
    const script = this.renderScript(job, command, [], POD_TEMPLATE);
    const manifestPath = joinPosix(job.scriptDir, `${job.jobName}.pod.json`);
    // The manifest may hold credentials in env: owner-readable only.
    await this.writeJobFile(job, manifestPath, `${JSON.stringify(this.podManifest(podName, job.jobName, script, job.env), null, 2)}\n`, 0o600);
    const create = `${this.options.kubectl} create -f ${shellQuote(manifestPath)} -o name`;
    const result = await this.runForSubmit(job, 'kubectl create', create);
    if (result.exitCode !== 0) {
      throw new SubmitError(job.jobName, `kubectl create exited with code ${result.exitCode}`, { command: create, ...result });
    }
    const created = /^pod\/(\S+)$/m.exec(result.stdout.trim())?.[1];
    if (created === undefined) {
      throw new SubmitError(job.jobName, `kubectl create exited with code 0 but did not print 'pod/<name>'; stdout: ${JSON.stringify(result.stdout.trim().slice(0, 300))}`, {
        command: create,
        ...result,
      });
    }
    this.jobs.set(created, { jobId: created, jobName: job.jobName, state: 'pending', scriptPath: manifestPath });
    return created;
  }

  protected async poll(jobIds: string[]): Promise<Map<string, StatusUpdate>> {
    const command = `${this.options.kubectl} get pods --namespace ${shellQuote(this.options.namespace)} -o json --ignore-not-found ${jobIds.map(shellQuote).join(' ')}`;
    const result = await this.runForStatus(jobIds, 'kubectl get pods', command);
    if (result.exitCode !== 0) throw new JobStatusError(jobIds, `kubectl get pods exited with code ${result.exitCode}`, { command, ...result });
    let pods: Map<string, PodJson>;
    try {
      pods = parseKubectlPods(result.stdout);
    } catch (error) {
      throw new JobStatusError(jobIds, `kubectl get pods printed something that is not JSON: ${(error as Error).message}`, { command, ...result }, { cause: error });
    }
    const updates = new Map<string, StatusUpdate>();
    for (const id of jobIds) {
      const pod = pods.get(id);
      if (pod) updates.set(id, podStatus(pod));
      else if (this.jobs.has(id)) updates.set(id, { state: 'cancelled', message: 'the pod no longer exists: it was deleted outside this provider' });
    }
    return updates;
  }

  protected kill(jobIds: string[]): Promise<boolean[]> {
    const ns = shellQuote(this.options.namespace);
    return this.killEach(jobIds, (id) => `${this.options.kubectl} delete pod --namespace ${ns} --wait=false ${shellQuote(id)}`, 'kubectl delete pod');
  }
}
