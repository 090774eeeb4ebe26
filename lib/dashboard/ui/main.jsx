// The dashboard's shell: the top bar, the page of the route in the URL hash, the notices and dialogs.
import 'uplot/dist/uPlot.min.css';
import './styles/controls.css';
import './styles/dashboard.css';
import './styles/workflow.css';
import './styles/overview.css';
import './styles/phone.css';
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import { api } from './api.js';
import { Loaded, useLoad } from './components.jsx';
import { Overlays } from './overlays.jsx';
import { useRoute } from './router.js';
import { ExecutorsPage } from './pages/executors.jsx';
import { OverviewPage } from './pages/overview.jsx';
import { QueuesPage } from './pages/queues.jsx';
import { WorkflowPage } from './pages/workflow.jsx';
import { WorkflowsPage } from './pages/workflows.jsx';

const PAGES = { workflows: WorkflowsPage, workflow: WorkflowPage, queues: QueuesPage, executors: ExecutorsPage, overview: OverviewPage };
const TITLES = { workflows: 'Workflows', workflow: 'Workflow', queues: 'Queues', executors: 'Executors', overview: 'Overview' };
const TABS = [
  ['workflows', 'Workflows'],
  ['queues', 'Queues'],
  ['executors', 'Executors'],
  ['overview', 'Overview'],
];

function TopBar({ page, config }) {
  return (
    <header class="topbar">
      <a class="brand" href="#/workflows">
        <span class="brand-mark">◆</span> nestjs-dbos
      </a>
      <nav class="tabs" id="nav">
        {TABS.map(([key, label]) => (
          <a key={key} href={`#/${key}`} data-page={key} class={key === page || (page === 'workflow' && key === 'workflows') ? 'active' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      <span class="topbar-right" id="mode">
        {config && (
          <span class="chip" title="The application version this process runs">
            {`version ${config.applicationVersion}`}
          </span>
        )}
        {config?.readOnly && <span class="chip chip-warn">read-only</span>}
      </span>
    </header>
  );
}

function App() {
  const route = useRoute();
  const config = useLoad(() => api('config'));
  const Page = PAGES[route.page];
  useEffect(() => {
    document.title = `${TITLES[route.page]}${route.arg ? ` ${route.arg}` : ''} · nestjs-dbos`;
  }, [route]);
  return (
    <>
      <TopBar page={route.page} config={config.data} />
      <main id="main" class="main">
        <Loaded result={config}>
          {(loaded) => (
            <div class="page" key={route.visit}>
              <Page arg={route.arg} params={route.params} config={loaded} />
            </div>
          )}
        </Loaded>
      </main>
      <Overlays />
    </>
  );
}

// The page's relative paths resolve under the base; /dbos and /dbos/ show the same page.
if (!location.pathname.endsWith('/')) history.replaceState(null, '', `${location.pathname}/${location.search}${location.hash}`);
const root = document.getElementById('app');
root.replaceChildren(); // the "Loading…" placeholder of index.html
render(<App />, root);
