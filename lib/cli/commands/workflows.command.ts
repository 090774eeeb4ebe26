import type { WorkflowClient } from '../../client/workflow.client';
import type { GetStatusOptions } from '../../client/workflow.handle';
import { DbosNotFoundError } from '../../errors/not-found.error';
import type { ListWorkflowsOptions, StepInfo, WorkflowStatusInfo, WorkflowStatusType } from '../../interfaces/workflow-status.interface';
import {
  flag,
  keyValueOption,
  listOption,
  optionalInteger,
  optionalMoment,
  parseChoice,
  parseInteger,
  parseStatus,
  requiredStringOption,
  stringOption,
} from '../cli.arguments';
import { ExitCode, type CommandContext, type CommandSpec, type ExitCodeValue, type OptionSpec } from '../command.interface';
import { describeError, elapsed, formatDate, orEmpty, renderFields, renderTable, summarize, toJson } from '../cli.format';

const DEFAULT_LIMIT = 50;
const RESUMABLE: WorkflowStatusType[] = ['CANCELLED', 'ERROR', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'];
const RESUMABLE_RULE =
  'Only CANCELLED, ERROR and MAX_RECOVERY_ATTEMPTS_EXCEEDED workflows resume; with --app-version, also PENDING or ENQUEUED ones of another version.';

const json: OptionSpec = { type: 'boolean', description: 'Print JSON instead of text' };
const appVersion = (description: string): OptionSpec => ({ type: 'string', value: 'VERSION', description });

const list: CommandSpec = {
  path: ['workflows', 'list'],
  arity: { min: 0, max: 0 },
  summary: 'List workflows, newest first',
  options: {
    status: {
      type: 'string',
      multiple: true,
      value: 'STATUS',
      description: 'Only these statuses (repeat it or separate with commas): ENQUEUED, PENDING, SUCCESS, ERROR, CANCELLED, MAX_RECOVERY_ATTEMPTS_EXCEEDED',
    },
    name: { type: 'string', value: 'NAME', description: 'Only workflows of this name (ClassName.method, or the name given to @Workflow)' },
    queue: { type: 'string', value: 'QUEUE', description: 'Only workflows of this queue' },
    executor: { type: 'string', value: 'ID', description: 'Only workflows of this executor' },
    'app-version': appVersion('Only workflows of this application version'),
    parent: { type: 'string', value: 'ID', description: 'Only child workflows of this workflow' },
    'forked-from': { type: 'string', value: 'ID', description: 'Only forks of this workflow' },
    'id-prefix': { type: 'string', value: 'TEXT', description: 'Only workflow ids starting with TEXT' },
    attr: { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'Only workflows with this attribute (repeat it: all must match)' },
    'created-after': { type: 'string', value: 'WHEN', description: 'Created at or after WHEN: an ISO date, or a time ago (30m, 2h, 7d)' },
    'created-before': { type: 'string', value: 'WHEN', description: 'Created before WHEN: an ISO date, or a time ago (30m, 2h, 7d)' },
    limit: { type: 'string', value: 'N', description: `At most N workflows (default ${DEFAULT_LIMIT})` },
    offset: { type: 'string', value: 'N', description: 'Skip the first N workflows' },
    sort: { type: 'string', value: 'asc|desc', description: 'Order by creation: desc (newest first, the default) or asc' },
    json: { type: 'boolean', description: 'Print a JSON array of the full statuses, inputs and outputs included' },
    'no-payloads': { type: 'boolean', description: 'With --json, leave inputs and outputs out' },
  },
  examples: [
    'nestjs-dbos workflows list --status ERROR,CANCELLED --created-after 2h',
    'nestjs-dbos workflows list --queue orders --json --no-payloads',
    'nestjs-dbos workflows list --attr tenant=acme --attr region=eu',
  ],
  run: listWorkflows,
};

const get: CommandSpec = {
  path: ['workflows', 'get'],
  args: 'ID',
  arity: { min: 1, max: 1 },
  summary: "Show a workflow's status, input, output and error",
  options: { json },
  run: getWorkflow,
};

const steps: CommandSpec = {
  path: ['workflows', 'steps'],
  args: 'ID',
  arity: { min: 1, max: 1 },
  summary: 'List the recorded steps of a workflow',
  options: { json },
  run: listSteps,
};

const cancel: CommandSpec = {
  path: ['workflows', 'cancel'],
  args: 'ID...',
  arity: { min: 1, max: Infinity },
  summary: 'Cancel workflows and their children',
  description:
    'A cancelled workflow stops before its next step. A finished workflow is left as it is. The ids are cancelled at once, ' +
    'all or nothing: a queue never starts one of them meanwhile, and if an id is unknown nothing is cancelled (exit 3).',
  options: {},
  run: cancelWorkflows,
};

const resume: CommandSpec = {
  path: ['workflows', 'resume'],
  args: 'ID...',
  arity: { min: 1, max: Infinity },
  summary: 'Resume cancelled or failed workflows from their last completed step',
  description:
    'Resumes CANCELLED, ERROR and MAX_RECOVERY_ATTEMPTS_EXCEEDED workflows: they are enqueued and an executor of ' +
    'their application version continues them. With --app-version, also moves PENDING or ENQUEUED workflows of ' +
    'another version to VERSION (after a deploy, for workflows no live executor of their version will finish).',
  options: { 'app-version': appVersion('Continue on this application version') },
  run: resumeWorkflows,
};

const fork: CommandSpec = {
  path: ['workflows', 'fork'],
  args: 'ID',
  arity: { min: 1, max: 1 },
  summary: 'Start a new workflow reusing the steps of ID before a given step; prints its id',
  description: 'The new workflow has the same name and input; the steps before --from-step are reused, the others run again.',
  options: {
    'from-step': { type: 'string', value: 'N', description: 'First step to run again (step ids start at 0; see "workflows steps"). Required' },
    'app-version': appVersion("Run the fork on this application version (default: the original's)"),
  },
  examples: ['nestjs-dbos workflows fork order-42 --from-step 2'],
  run: forkWorkflow,
};

export const workflowCommands: CommandSpec[] = [list, get, steps, cancel, resume, fork];

async function listWorkflows(ctx: CommandContext): Promise<void> {
  const filters = listFilters(ctx);
  const workflows = await (await ctx.client()).list(filters);
  if (flag(ctx, 'json')) {
    ctx.out.print(toJson(workflows));
    return;
  }
  ctx.out.print(workflows.length > 0 ? workflowTable(workflows) : 'No workflows match.');
  if (workflows.length === filters.limit) ctx.out.warn(`Showing ${filters.limit} workflows; more may match (raise --limit, or page with --offset).`);
}

function listFilters(ctx: CommandContext): ListWorkflowsOptions & { limit: number } {
  const statuses = listOption(ctx, 'status').map(parseStatus);
  return {
    status: statuses.length > 0 ? statuses : undefined,
    workflowName: stringOption(ctx, 'name'),
    queue: stringOption(ctx, 'queue'),
    executorId: stringOption(ctx, 'executor'),
    applicationVersion: stringOption(ctx, 'app-version'),
    parentWorkflowId: stringOption(ctx, 'parent'),
    forkedFrom: stringOption(ctx, 'forked-from'),
    workflowIdPrefix: stringOption(ctx, 'id-prefix'),
    attributes: keyValueOption(ctx, 'attr'),
    createdAfter: optionalMoment(ctx, 'created-after'),
    createdBefore: optionalMoment(ctx, 'created-before'),
    limit: optionalInteger(ctx, 'limit', 1) ?? DEFAULT_LIMIT,
    offset: optionalInteger(ctx, 'offset', 0),
    sortDesc: parseChoice(stringOption(ctx, 'sort') ?? 'desc', 'sort', ['asc', 'desc'] as const) === 'desc',
    loadPayloads: flag(ctx, 'json') && !flag(ctx, 'no-payloads'),
  };
}

function workflowTable(workflows: WorkflowStatusInfo[]): string {
  return renderTable(
    ['ID', 'STATUS', 'NAME', 'QUEUE', 'CREATED', 'UPDATED', 'EXECUTOR', 'VERSION'],
    workflows.map((w) => [
      w.workflowId,
      w.status,
      w.workflowName,
      orEmpty(w.queue),
      formatDate(w.createdAt),
      formatDate(w.updatedAt),
      orEmpty(w.executorId),
      orEmpty(w.applicationVersion),
    ]),
  );
}

async function getWorkflow(ctx: CommandContext): Promise<void> {
  const workflow = await requireStatus(await ctx.client(), ctx.args[0], { loadPayloads: true });
  ctx.out.print(flag(ctx, 'json') ? toJson(workflow) : workflowDetails(workflow));
}

async function requireStatus(client: WorkflowClient, workflowId: string, options: GetStatusOptions = {}): Promise<WorkflowStatusInfo> {
  const status = await client.getStatus(workflowId, options);
  if (!status) throw new DbosNotFoundError(`No workflow has the id "${workflowId}".`);
  return status;
}

function workflowDetails(w: WorkflowStatusInfo): string {
  const fields: [string, string | undefined][] = [
    ['ID', w.workflowId],
    ['Status', w.status],
    ['Name', w.workflowName],
    ['Class', w.className],
    ['Queue', w.queue],
    ['Executor', orEmpty(w.executorId)],
    ['App version', orEmpty(w.applicationVersion)],
    ['Recovery attempts', String(w.recoveryAttempts)],
    ['Created', formatDate(w.createdAt)],
    ['Updated', formatDate(w.updatedAt)],
    ['Parent', w.parentWorkflowId],
    ['Forked from', w.forkedFrom],
    [
      'Attributes',
      w.attributes &&
        Object.entries(w.attributes)
          .map(([k, v]) => `${k}=${v}`)
          .join(', '),
    ],
    ['Input', w.input === undefined ? undefined : summarize(w.input, 200)],
    ['Output', w.output === undefined ? undefined : summarize(w.output, 200)],
    ['Error', w.error ? describeError(w.error) : undefined],
  ];
  return renderFields(fields.filter((field): field is [string, string] => field[1] !== undefined));
}

async function listSteps(ctx: CommandContext): Promise<void> {
  const workflowId = ctx.args[0];
  const recorded = await (await ctx.client()).listSteps(workflowId);
  if (flag(ctx, 'json')) ctx.out.print(toJson(recorded));
  else ctx.out.print(recorded.length > 0 ? stepTable(recorded) : `Workflow "${workflowId}" has no recorded steps.`);
}

function stepTable(recorded: StepInfo[]): string {
  return renderTable(
    ['STEP', 'NAME', 'RESULT', 'DURATION', 'CHILD'],
    recorded.map((step) => [String(step.stepId), step.name, stepResult(step), elapsed(step.startedAt, step.completedAt), orEmpty(step.childWorkflowId)]),
  );
}

function stepResult(step: StepInfo): string {
  if (step.error) return `error ${summarize(step.error, 60)}`;
  return step.output === undefined ? '-' : summarize(step.output, 60);
}

/** All or nothing: one unknown id and nothing is cancelled (exit 3). */
async function cancelWorkflows(ctx: CommandContext): Promise<ExitCodeValue> {
  const client = await ctx.client();
  const ids = [...new Set(ctx.args)];
  try {
    await client.cancel(ids);
  } catch (err) {
    return reportNotFound(ctx, err);
  }
  for (const workflowId of ids) {
    const { status } = await requireStatus(client, workflowId);
    ctx.out.print(status === 'CANCELLED' ? `Cancelled ${workflowId}` : `${workflowId} is already ${status}: nothing to cancel`);
  }
  return ExitCode.Success;
}

async function resumeWorkflows(ctx: CommandContext): Promise<ExitCodeValue> {
  const applicationVersion = stringOption(ctx, 'app-version');
  return forEachWorkflow(ctx, async (client, workflowId) => {
    const before = await requireStatus(client, workflowId);
    if (!canResume(before, applicationVersion)) {
      ctx.out.warn(`error: ${workflowId} was not resumed: it is ${before.status}. ${RESUMABLE_RULE}`);
      return ExitCode.Failed;
    }
    await client.resume(workflowId, { applicationVersion });
    const after = await requireStatus(client, workflowId);
    ctx.out.print(`Resumed ${workflowId} (now ${after.status}, version ${orEmpty(after.applicationVersion)})`);
    return ExitCode.Success;
  });
}

function canResume(workflow: WorkflowStatusInfo, applicationVersion: string | undefined): boolean {
  if (RESUMABLE.includes(workflow.status)) return true;
  const unfinished = workflow.status === 'PENDING' || workflow.status === 'ENQUEUED';
  return applicationVersion !== undefined && unfinished && workflow.applicationVersion !== applicationVersion;
}

async function forkWorkflow(ctx: CommandContext): Promise<void> {
  const fromStep = parseInteger(requiredStringOption(ctx, 'from-step'), 'from-step', 0);
  const applicationVersion = stringOption(ctx, 'app-version');
  const handle = await (await ctx.client()).fork(ctx.args[0], { fromStep, applicationVersion });
  ctx.out.print(handle.workflowId);
}

/** Runs `action` on each id given; an unknown id is reported and the others still run. The worst exit code wins. */
async function forEachWorkflow(ctx: CommandContext, action: (client: WorkflowClient, workflowId: string) => Promise<ExitCodeValue>): Promise<ExitCodeValue> {
  const client = await ctx.client();
  let worst: ExitCodeValue = ExitCode.Success;
  for (const workflowId of new Set(ctx.args)) {
    const code = await action(client, workflowId).catch((err: unknown) => reportNotFound(ctx, err));
    worst = Math.max(worst, code) as ExitCodeValue;
  }
  return worst;
}

function reportNotFound(ctx: CommandContext, err: unknown): ExitCodeValue {
  if (!(err instanceof DbosNotFoundError)) throw err;
  ctx.out.warn(`error: ${err.message}`);
  return ExitCode.NotFound;
}
