// The route lives in the URL hash (#/page/arg?filters), so a link shows the same view.
import { useEffect, useState } from 'preact/hooks';

const PAGES = ['workflows', 'workflow', 'queues', 'executors', 'overview'];
const listeners = new Set();
/** Bumped on every navigation: the page remounts (and reloads) even when the URL stays the same. */
let visit = 0;
let shown = location.hash;

function parse() {
  const hash = location.hash.replace(/^#\/?/, '') || 'workflows';
  const [pathPart, queryPart = ''] = hash.split('?');
  const [page, ...rest] = pathPart.split('/');
  return {
    page: PAGES.includes(page) ? page : 'workflows',
    arg: rest.length > 0 ? decodeURIComponent(rest.join('/')) : undefined,
    params: new URLSearchParams(queryPart),
    visit,
  };
}

function changed() {
  visit += 1;
  shown = location.hash;
  for (const listener of listeners) listener(parse());
}

/** Changes the URL (and so the view); `replace` keeps it out of the history. */
export function navigate(page, params, replace = false) {
  const query = params && [...params.keys()].length > 0 ? `?${params.toString()}` : '';
  const hash = `#/${page}${query}`;
  if (replace) history.replaceState(null, '', hash);
  else history.pushState(null, '', hash);
  changed();
}

function onBrowserChange() {
  if (location.hash !== shown) changed();
}
window.addEventListener('popstate', onBrowserChange);
window.addEventListener('hashchange', onBrowserChange);

/** The current route; re-renders the caller on every navigation. */
export function useRoute() {
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    listeners.add(setRoute);
    return () => listeners.delete(setRoute);
  }, []);
  return route;
}
