// The dashboard's shell: reads the route from the URL hash (#/page?filters), so a link shows the same view.
import { api, el, errorState } from './ui.js';
import { renderWorkflows } from './page-workflows.js';
import { renderWorkflow } from './page-workflow.js';
import { renderQueues } from './page-queues.js';
import { renderExecutors } from './page-executors.js';
import { renderOverview } from './page-overview.js';

const PAGES = { workflows: renderWorkflows, workflow: renderWorkflow, queues: renderQueues, executors: renderExecutors, overview: renderOverview };
const TITLES = { workflows: 'Workflows', workflow: 'Workflow', queues: 'Queues', executors: 'Executors', overview: 'Overview' };

let config = { readOnly: true, applicationVersion: '' };
/** Called when the page is left: closes its live feed and timers. */
let leave = () => {};

export function route() {
  const hash = location.hash.replace(/^#\/?/, '') || 'workflows';
  const [pathPart, queryPart = ''] = hash.split('?');
  const [page, ...rest] = pathPart.split('/');
  return {
    page: PAGES[page] ? page : 'workflows',
    arg: rest.length > 0 ? decodeURIComponent(rest.join('/')) : undefined,
    params: new URLSearchParams(queryPart),
  };
}

/** Changes the URL (and so the view); `replace` keeps it out of the history. */
export function navigate(page, params, replace = false) {
  const query = params && [...params.keys()].length > 0 ? `?${params.toString()}` : '';
  const hash = `#/${page}${query}`;
  if (replace) history.replaceState(null, '', hash);
  else history.pushState(null, '', hash);
  render();
}

let rendered = null;

function renderIfChanged() {
  if (location.hash !== rendered) void render();
}

async function render() {
  rendered = location.hash;
  leave();
  leave = () => {};
  const { page, arg, params } = route();
  for (const link of document.querySelectorAll('#nav a')) {
    const active = link.dataset.page === page || (page === 'workflow' && link.dataset.page === 'workflows');
    link.classList.toggle('active', active);
  }
  document.title = `${TITLES[page]}${arg ? ` ${arg}` : ''} · nestjs-dbos`;
  const main = document.getElementById('main');
  const container = el('div', { class: 'page' });
  main.replaceChildren(container);
  try {
    const cleanup = await PAGES[page](container, { arg, params, config });
    if (typeof cleanup === 'function') leave = cleanup;
  } catch (err) {
    container.replaceChildren(errorState(err));
  }
}

async function start() {
  // The page's relative paths resolve under the base; /dbos and /dbos/ show the same page.
  if (!location.pathname.endsWith('/')) history.replaceState(null, '', `${location.pathname}/${location.search}${location.hash}`);
  try {
    config = await api('config');
  } catch (err) {
    document.getElementById('main').replaceChildren(errorState(err));
    return;
  }
  document.getElementById('mode').replaceChildren(
    // replaceChildren() writes a null as the text "null": only the chips that apply.
    ...[
      el('span', { class: 'chip', title: 'The application version this process runs' }, `version ${config.applicationVersion}`),
      config.readOnly ? el('span', { class: 'chip chip-warn' }, 'read-only') : null,
    ].filter(Boolean),
  );
  window.addEventListener('popstate', renderIfChanged);
  window.addEventListener('hashchange', renderIfChanged);
  await render();
}

void start();
