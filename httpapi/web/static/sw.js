// parkd's service worker for the driver page. It keeps the page's shell
// (the page, its style sheet, modules, manifest and icons, all of this
// version __V__), the last map answer and the tiles seen last, so that the
// page opens and shows the town on a poor connection or none:
//   - the page and /api/v1/map: the network first; its kept copy when the
//     network fails or takes over 4 s (a map copy carries X-Parkd-Cached-At,
//     and the page says how old it is);
//   - /static/ files of this version: the kept copy (they never change);
//   - tiles (images from elsewhere): the kept copy, else the network; the
//     newest 500 are kept.
// Everything else, the live feed first, goes to the network untouched.
const V = '__V__';
const SHELL = 'parkd-shell-' + V;
const DATA = 'parkd-data';
const TILES = 'parkd-tiles';
const MAX_TILES = 500;
const SLOW_MS = 4000;
const SHELL_FILES = [
  '/', '/manifest.webmanifest',
  '/static/app.css?v=__V__', '/static/common.js?v=__V__', '/static/driver.js?v=__V__', '/static/geo.js?v=__V__',
  '/static/tiles.js?v=__V__', '/static/nav.js?v=__V__', '/static/pwa.js?v=__V__',
  '/static/icon-192.png?v=__V__', '/static/icon-512.png?v=__V__', '/static/icon-maskable.png?v=__V__',
];

self.addEventListener('install', (e) => {
  // The live feed goes straight to the network, past this worker, where
  // the browser has static routes: a stream that passed through a
  // worker's fetch event may outlive its page and hold a connection.
  if (e.addRoutes) e.addRoutes([{ condition: { urlPattern: new URLPattern({ pathname: '/api/v1/events' }) }, source: 'network' }]).catch(() => {});
  e.waitUntil(caches.open(SHELL).then((c) => c.addAll(SHELL_FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('parkd-shell-') && k !== SHELL).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) {
    if (req.destination === 'image') e.respondWith(tile(req));
    return;
  }
  if (req.mode === 'navigate' && url.pathname === '/') e.respondWith(networkFirst(req, SHELL, '/', false));
  else if (url.pathname === '/api/v1/map') e.respondWith(networkFirst(req, DATA, '/api/v1/map', true));
  else if (url.pathname.startsWith('/static/') && url.searchParams.get('v') === V) e.respondWith(shellFile(req));
});

/** The network's answer, kept under key; the kept one when the network
 * fails or is slow. stamp marks a kept copy with the time it was kept. */
async function networkFirst(req, cacheName, key, stamp) {
  const cache = await caches.open(cacheName);
  const net = fetch(req).then(async (res) => {
    if (res.ok) await cache.put(key, stamp ? await stamped(res.clone()) : res.clone());
    return res;
  });
  net.catch(() => { /* answered below */ });
  const slow = new Promise((resolve) => setTimeout(resolve, SLOW_MS));
  try {
    const res = await Promise.race([net, slow.then(() => cache.match(key).then((r) => r || net))]);
    if (res) return res;
  } catch { /* offline: the kept copy */ }
  const kept = await cache.match(key);
  if (kept) return kept;
  return net; // nothing kept: the network's error
}

/** A copy of res with the time it is kept, for the page to show. */
async function stamped(res) {
  const headers = new Headers(res.headers);
  headers.set('X-Parkd-Cached-At', new Date().toISOString());
  return new Response(await res.blob(), { status: res.status, statusText: res.statusText, headers });
}

async function shellFile(req) {
  const kept = await caches.match(req);
  return kept || fetch(req);
}

let puts = 0;
async function tile(req) {
  const cache = await caches.open(TILES);
  const kept = await cache.match(req);
  if (kept) return kept;
  const res = await fetch(req);
  if (res.ok || res.type === 'opaque') {
    await cache.put(req, res.clone()).catch(() => { /* over quota: not kept */ });
    if (++puts % 50 === 0) trim(cache);
  }
  return res;
}

async function trim(cache) {
  const keys = await cache.keys(); // oldest first
  await Promise.all(keys.slice(0, Math.max(0, keys.length - MAX_TILES)).map((k) => cache.delete(k)));
}
