// The driver page as an app on the phone: its service worker (/sw.js keeps
// the page and the last map for a poor connection), the map answer with
// the age of a kept copy, the notice that what the page shows is old, and
// the live feed brought back after the phone sleeps.
import { addStrings, t, fmtTime, api } from './common.js?v=__V__';

addStrings({
  zh: { 'pwa.stale': '离线：显示的是 {time} 的车位状态，现在可能已经变了', 'pwa.staleUnknown': '离线：显示的是上次保存的车位状态，现在可能已经变了' },
  en: { 'pwa.stale': 'Offline: spaces as they were at {time}; they may have changed since', 'pwa.staleUnknown': 'Offline: spaces as last saved; they may have changed since' },
});

/** Registers the service worker where the browser has them (WeChat's
 * in-app browser may not: the page works the same without). Sets
 * body[data-sw="1"] once it is active. */
export function registerWorker() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/sw.js').catch(() => { /* private mode, http: online only */ });
  navigator.serviceWorker.ready.then(() => { document.body.dataset.sw = '1'; });
}

/** Reads /api/v1/map. The service worker answers with its kept copy when
 * the network fails, marked with X-Parkd-Cached-At; the page then says so
 * (#stale) until a fresh read. */
export async function loadMap() {
  const res = await fetch('/api/v1/map', { headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (!res.ok) return api('/api/v1/map'); // the API's error, as api() throws it
  const data = await res.json();
  showStale(res.headers.get('X-Parkd-Cached-At'));
  return data;
}

function showStale(cachedAt) {
  const el = document.getElementById('stale');
  if (cachedAt === null) {
    delete document.body.dataset.stale;
    if (el) el.hidden = true;
    return;
  }
  document.body.dataset.stale = '1';
  if (!el) return;
  el.dataset.at = cachedAt;
  const render = () => { el.textContent = cachedAt ? t('pwa.stale', { time: fmtTime(cachedAt) }) : t('pwa.staleUnknown'); };
  render();
  el.hidden = false;
}

/** Keeps the live feed alive across the phone's sleep: reopen() closes
 * the feed and opens it again (then re-reads the map), close() closes it.
 * The feed is closed when the page is hidden away in the back-forward
 * cache (an open stream would hold one of the browser's few connections to
 * parkd for as long as the page stays there). reopen() is called when
 * the page comes back (resume after a freeze, visible again after a minute
 * hidden, back online, restored from the back-forward cache), when the feed
 * has been down for 15 s while visible (a browser gives up an event stream
 * for good after a refused reconnection), and, for a page showing a kept
 * copy, as soon as the feed is live again. */
export function keepFeedAlive({ reopen, close, refresh }) {
  let hiddenAt = 0, downSince = 0;
  const again = () => { downSince = 0; reopen(); };
  document.addEventListener('resume', again);
  window.addEventListener('online', again);
  window.addEventListener('pagehide', (e) => { if (e.persisted) close(); });
  window.addEventListener('pageshow', (e) => { if (e.persisted) again(); });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') { hiddenAt = Date.now(); return; }
    if (hiddenAt && Date.now() - hiddenAt > 60000) again();
    hiddenAt = 0;
  });
  setInterval(() => {
    const live = document.body.dataset.live === '1';
    if (live || document.visibilityState !== 'visible') { downSince = 0; return; }
    if (!downSince) downSince = Date.now();
    else if (Date.now() - downSince > 15000) again();
  }, 5000);
  new MutationObserver(() => {
    if (document.body.dataset.live === '1' && document.body.dataset.stale === '1') refresh();
  }).observe(document.body, { attributes: true, attributeFilter: ['data-live'] });
}
